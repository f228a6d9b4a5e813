"""Figures of the test suite and the offline preview, each beside its target.

    python -m bench.preview [--repeat N] [--skip-suite]

Prints the whole suite as `make test` runs it (wall and CPU time; run twice when the first run had to fill
the render and report caches, and judged on the second); for dev, prod and a prod with ten
times its models: resources, the best evaluation time of N runs, resources per second and the growth
of the time per resource; chart rendering and checks on their own, cold (an empty render cache) and
warm; then the whole-process `python -m offline preview --stack prod` (what an operator waits for),
cold once and warm as the median of N runs, beside its floor: the interpreter importing the Pulumi SDK
and the providers' generated types, which any run of the program pays. Targets live here, not in tests.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from offline.charts import artifacts, helm
from offline.charts.cache import cache_dir
from offline.checks import preview
from offline.run import ROOT, evaluate, stack_config

SUITE_TARGET_S = 120.0
"""`make test`, every test included, on the 2-core build machine when nothing else runs."""
PREVIEW_WARM_TARGET_S = 3.0
"""Median wall time of a warm whole-process preview of prod."""
GROWTH_TARGET = 1.2
"""Time per resource at ten times prod's models over prod's: at most this (1.0 is linear)."""
SDK_IMPORTS = "import pulumi, pulumi_kubernetes.core.v1, pulumi_vsphere, pulumi_random, pulumiverse_vra"
"""What every run of the program imports before it registers a resource."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], environment: dict | None = None) -> tuple[float, float]:
    """Wall and CPU (user + system, its children included) seconds of a command that must succeed."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def mark(value: float, target: float) -> str:
    return "meets the target" if value <= target else "MISSES the target"


def suite() -> tuple[float, float]:
    """The whole suite as `make test` runs it (the same pytest arguments and bytecode setting), wall and CPU seconds."""
    command = [sys.executable, "-m", "pytest", "-n", "auto", "--dist", "worksteal", "-q", "-p", "no:cacheprovider"]
    return timed_run(command, {**os.environ, "PYTHONDONTWRITEBYTECODE": ""})


def cache_entries() -> set[str]:
    directory = cache_dir()
    return {path.name for path in directory.glob("*.json")} if directory.is_dir() else set()


def suite_figures() -> tuple[tuple[float, float], tuple[float, float] | None]:
    """The suite's wall and CPU seconds with the caches as a developer's loop has them, and the first run's when
    it had to fill them (a fresh clone, or a change of charts or rendered objects): that run renders every chart
    with helm and runs checkov, and is measured and printed but judged by nothing. Filled means an entry is
    there that was not (the suite also prunes unused ones when it ends, so counting would not tell)."""
    before = cache_entries()
    first = suite()
    if not cache_entries() - before:
        return first, None
    return suite(), first


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


def whole_process(repeat: int) -> tuple[float, float, float, float]:
    """Cold wall time once; warm median wall and CPU time of ``repeat`` runs; the SDK-import floor's median."""
    command = [sys.executable, "-m", "offline", "preview", "--stack", "prod", "--stand-in-secrets"]
    with tempfile.TemporaryDirectory() as cache:
        cold, _ = timed_run(command, {**os.environ, "ONPREM_LLM_CACHE": cache})
    timed_run(command)  # fill the default cache
    warm = [timed_run(command) for _ in range(repeat)]
    floor = statistics.median(timed_run([sys.executable, "-c", SDK_IMPORTS])[0] for _ in range(repeat))
    return cold, statistics.median(w for w, _ in warm), statistics.median(c for _, c in warm), floor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-suite", action="store_true", help="leave out the test suite (it takes minutes)")
    args = parser.parse_args()
    if not args.skip_suite:
        (wall, cpu), filling = suite_figures()
        if filling is not None:
            print(f"Test suite, first run (it filled the render and report caches): {filling[0]:.1f} s wall, "
                  f"{filling[1]:.1f} s CPU; measured again with them:")
        print(f"Test suite as `make test` runs it: {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"(target: at most {SUITE_TARGET_S:.0f} s wall on a quiet 2-core machine; {mark(wall, SUITE_TARGET_S)})\n")
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
    growth = (big_s / len(big.graph)) / (base_s / len(base.graph))
    print(f"seconds per resource, x10 models vs prod: {growth:.2f} (1.0 = linear; target: at most {GROWTH_TARGET}; "
          f"{mark(growth, GROWTH_TARGET)})")
    print("\nChart rendering and checks (helm, schemas, CRDs, Pod Security, images, ignored values):")
    for label in ("dev", "prod"):
        figures = charts(results[label][0], label)
        if figures is None:
            print(f"  {label}: skipped, no artifacts directory ({artifacts.HOW_TO_GET})")
            continue
        cold, warm, objects = figures
        print(f"  {label:<6} {objects:>5} chart objects: cold {cold:6.2f} s, warm {warm:5.2f} s")
    cold, warm, warm_cpu, floor = whole_process(args.repeat)
    print(f"\nWhole process `python -m offline preview --stack prod`: cold {cold:.2f} s, warm median {warm:.2f} s "
          f"of {args.repeat} ({warm_cpu:.2f} s CPU on both cores; target: at most {PREVIEW_WARM_TARGET_S} s warm; "
          f"{mark(warm, PREVIEW_WARM_TARGET_S)})")
    print(f"  floor: the interpreter importing the Pulumi SDK and providers, median {floor:.2f} s; the warm preview "
          f"is {warm / floor:.1f} times it (on a slower or busier machine both move together: "
          "docs/development.md#benchmark)")

if __name__ == "__main__":
    main()
