"""Figures of the offline preview: the program's evaluation, chart rendering, and the whole command.

    python -m bench.preview [--repeat N]

Prints, for dev, prod and a prod with ten times its models: resources, the best evaluation time of
N runs and resources per second; then chart rendering and checks on their own, cold (an empty render
cache) and warm; then the whole-process `python -m offline preview --stack prod` (what an operator
waits for), cold once and warm as the median of N runs. Targets live here, not in tests.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time

from offline.charts import artifacts, helm
from offline.checks import preview
from offline.run import ROOT, evaluate, stack_config


def grown_prod(factor: int) -> dict:
    """Prod with ``factor`` times its models, each a renamed copy, and a pool large enough for them."""
    raw = copy.deepcopy(stack_config("prod"))
    models = {}
    for copy_index in range(factor):
        for key, model in raw["models"].items():
            name = f"{key}-{copy_index:02d}"
            models[name] = {**copy.deepcopy(model), "servedModelName": name}
    access = raw["gateway"]["modelAccess"]
    raw["gateway"]["modelAccess"] = {name: access[name.rsplit("-", 1)[0]] for name in models}
    raw["models"] = models
    gpus = sum(m["replicas"]["max"] * m.get("tensorParallelSize", 1) for m in models.values())
    per_node = raw["gpuPool"].get("gpusPerNode", 1)
    raw["gpuPool"]["nodes"] = -(-gpus // per_node)
    return raw


def measure(stack: str, raw: dict | None, repeat: int):
    best, evaluation = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        evaluation = evaluate(stack, raw)
        best = min(best, time.perf_counter() - start)
    return evaluation, best


def charts(evaluation, stack: str) -> tuple[float, float, int] | None:
    """Chart rendering plus every check, cold (fresh cache) and warm, and the objects rendered."""
    found = artifacts.locate()
    if found is None:
        return None
    raw = stack_config(stack)
    tools = (raw["tanzu"]["kubernetesVersion"], raw["compliance"]["allowedRegistries"], found, helm.locate())
    with tempfile.TemporaryDirectory() as cache:
        previous = os.environ.get("ONPREM_LLM_CACHE")
        os.environ["ONPREM_LLM_CACHE"] = cache
        try:
            start = time.perf_counter()
            checks = preview.run(evaluation.graph, *tools)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            preview.run(evaluation.graph, *tools)
            warm = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("ONPREM_LLM_CACHE", None)
            else:
                os.environ["ONPREM_LLM_CACHE"] = previous
    return cold, warm, sum(len(r.objects) for r in checks.releases)


def whole_process(repeat: int) -> tuple[float, float]:
    command = [sys.executable, "-m", "offline", "preview", "--stack", "prod", "--stand-in-secrets"]

    def run(environment: dict) -> float:
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as cache:
        cold = run({**os.environ, "ONPREM_LLM_CACHE": cache})
    run(dict(os.environ))  # fill the default cache
    warm = statistics.median(run(dict(os.environ)) for _ in range(repeat))
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [("dev", "dev", None), ("prod", "prod", None), ("prod x10 models", "prod", grown_prod(10))]
    print("Evaluation of the program under mocks:")
    print(f"{'stack':<18}{'resources':>10}{'models':>8}{'best s':>9}{'res/s':>9}")
    results = {}
    for label, stack, raw in cases:
        evaluation, seconds = measure(stack, raw, args.repeat)
        results[label] = (evaluation, seconds)
        models = len(evaluation.outputs["models"])
        print(f"{label:<18}{len(evaluation.graph):>10}{models:>8}{seconds:>9.3f}{len(evaluation.graph) / seconds:>9.0f}")
    (base, base_s), (big, big_s) = results["prod"], results["prod x10 models"]
    print(f"seconds per resource, x10 models vs prod: {(big_s / len(big.graph)) / (base_s / len(base.graph)):.2f} "
          "(1.0 = linear)")
    print("\nChart rendering and checks (helm, schemas, CRDs, Pod Security, images, ignored values):")
    for label in ("dev", "prod"):
        figures = charts(results[label][0], label)
        if figures is None:
            print(f"  {label}: skipped, no artifacts directory ({artifacts.HOW_TO_GET})")
            continue
        cold, warm, objects = figures
        print(f"  {label:<6} {objects:>5} chart objects: cold {cold:6.2f} s, warm {warm:5.2f} s")
    cold, warm = whole_process(args.repeat)
    print(f"\nWhole process `python -m offline preview --stack prod`: cold {cold:.2f} s, warm median {warm:.2f} s "
          f"of {args.repeat} (target: at most 3 s warm)")


if __name__ == "__main__":
    main()
