"""Wall time of the offline preview for dev, prod and a prod with ten times the models.

    python -m bench.preview [--repeat N]

Prints one row per stack: resources, models, best wall time of N runs and resources per second,
then the time per model of the large stack relative to prod (about 1.0 means linear growth).
"""

from __future__ import annotations

import argparse
import copy
import time

from offline.run import evaluate, stack_config


def grown_prod(factor: int) -> dict:
    """Prod with ``factor`` times its models, each a renamed copy, and a pool large enough for them."""
    raw = copy.deepcopy(stack_config("prod"))
    models = {}
    for copy_index in range(factor):
        for key, model in raw["models"].items():
            name = f"{key}-{copy_index:02d}"
            models[name] = {**copy.deepcopy(model), "servedModelName": name}
    raw["models"] = models
    gpus = sum(m["replicas"]["max"] * m.get("tensorParallelSize", 1) for m in models.values())
    per_node = raw["gpuPool"].get("gpusPerNode", 1)
    raw["gpuPool"]["nodes"] = -(-gpus // per_node)
    standby = sum(raw["dr"].get("standbyReplicas", 1) * m.get("tensorParallelSize", 1) for m in models.values())
    raw["dr"]["secondary"]["gpuNodes"] = -(-standby // per_node)
    return raw


def measure(stack: str, raw: dict | None, repeat: int) -> tuple[int, int, float]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        evaluation = evaluate(stack, raw)
        best = min(best, time.perf_counter() - start)
    models = len(evaluation.outputs["models"])
    return len(evaluation.graph), models, best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [("dev", "dev", None), ("prod", "prod", None), ("prod x10 models", "prod", grown_prod(10))]
    print(f"{'stack':<18}{'resources':>10}{'models':>8}{'best s':>9}{'res/s':>9}")
    results = {}
    for label, stack, raw in cases:
        resources, models, seconds = measure(stack, raw, args.repeat)
        results[label] = (resources, models, seconds)
        print(f"{label:<18}{resources:>10}{models:>8}{seconds:>9.3f}{resources / seconds:>9.0f}")
    base_r, base_m, base_s = results["prod"]
    big_r, big_m, big_s = results["prod x10 models"]
    print(f"\nseconds per resource, x10 models vs prod: {(big_s / big_r) / (base_s / base_r):.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()
