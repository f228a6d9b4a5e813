"""Shared fixtures: each sample stack is evaluated once per test session and shared read-only."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from offline.graph import ResourceGraph
from offline.render import write_outputs
from offline.run import Evaluation, as_stack_reference, evaluate, stack_config
from offline.world import FakeWorld, Mode

STACKS = ("dev", "prod", "prod-standby")
PRIMARY = "organization/onprem-llm/prod"
"""The stack prod-standby mirrors (its site.primaryStack)."""


def pytest_sessionfinish(session) -> None:
    """The render and report cache keeps what this run used; entries unused for weeks go (offline.charts.cache.prune).
    Once per run: in the controller when the tests ran in several processes."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        from offline.charts import cache

        cache.prune()


def _world(stack: str, found: dict[str, Evaluation]) -> FakeWorld | None:
    """The standby reads the primary's outputs from the primary evaluated once here, as from the backend."""
    return FakeWorld(stack, stack_outputs={PRIMARY: as_stack_reference(found["prod"])}) if stack == "prod-standby" else None


def once_per_run(tmp_path_factory, name: str, compute):
    """``compute()`` once per test run, whatever the number of test processes.

    Session fixtures are per process under pytest-xdist; the first process to ask computes the value and
    leaves it, pickled, in the run's own temporary directory, and the others wait for it and read it. The
    directory is new for every run, so nothing outlives the code and files that computed it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # popen-gw<N>'s parent: the run's directory, the same for every worker
    directory = root / "once-per-run"
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.pickle"
    with open(directory / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())  # noqa: S301 - written by this run's own test process
        value = compute()
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(value))
        temporary.replace(path)
        return value


@pytest.fixture(scope="session")
def evaluations(tmp_path_factory) -> dict[str, Evaluation]:
    def compute() -> dict[str, Evaluation]:
        found: dict[str, Evaluation] = {}
        for stack in STACKS:
            found[stack] = evaluate(stack, world=_world(stack, found))
        return found

    return once_per_run(tmp_path_factory, "evaluations", compute)


@pytest.fixture(scope="session")
def previews(evaluations, tmp_path_factory) -> dict[str, Evaluation]:
    """Each stack as `pulumi preview` of a new stack sees it (ids and computed outputs unknown)."""
    return once_per_run(tmp_path_factory, "previews", lambda: {
        stack: evaluate(stack, mode=Mode.PREVIEW, world=_world(stack, evaluations)) for stack in STACKS})


@pytest.fixture(scope="session")
def standby(evaluations) -> Evaluation:
    return evaluations["prod-standby"]


@pytest.fixture(scope="session")
def dev(evaluations) -> Evaluation:
    return evaluations["dev"]


@pytest.fixture(scope="session")
def prod(evaluations) -> Evaluation:
    return evaluations["prod"]


@pytest.fixture(scope="session")
def rendered(evaluations, tmp_path_factory) -> dict[str, Path]:
    """Each stack's preview output directory (manifests/, inventory.json, outputs.json)."""
    out = {}
    for stack, evaluation in evaluations.items():
        directory = tmp_path_factory.mktemp(f"render-{stack}")
        write_outputs(evaluation, directory)
        out[stack] = directory
    return out


@pytest.fixture
def raw_config():
    """A fresh, mutable copy of a stack's raw config sections."""
    return lambda stack: copy.deepcopy(stack_config(stack))


def offline_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m offline ARGS` as its main runs it in this process: exit code, stdout and stderr as a subprocess
    would give them, without starting an interpreter to import what the tests hold already. For tests about what
    the command says and returns; those about the process itself (exit status, start-up) run it as one."""
    from offline.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess([sys.executable, "-m", "offline", *args], code, out.getvalue(), err.getvalue())


def python_c(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -c SCRIPT` with environment ``env``, run in this process: exit code, stdout and stderr as the
    process would give them, without an interpreter start and the script's imports each time. The script's
    text is compiled and run as ``__main__``; an exception it does not handle fails the test here (the process
    would print it and exit 1). For the checks of what a script decides: what it prints to the node's log, or
    anything written around Python's streams (warnings, logging, a child process), is checked on a process."""
    out, err = io.StringIO(), io.StringIO()
    saved_environment, saved_argv = dict(os.environ), sys.argv
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["-c"]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            # dont_inherit: compiled as `python -c` compiles it, without this module's __future__ imports.
            code_object = compile(script, "<string>", "exec", dont_inherit=True)
            try:
                exec(code_object, {"__name__": "__main__"})  # noqa: S102 - the project's own script
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
                if code == 1 and not isinstance(exit_.code, int):
                    err.write(f"{exit_.code}\n")  # as the interpreter prints any other exit value
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
        sys.argv = saved_argv
    return subprocess.CompletedProcess([sys.executable, "-c", "<script>"], code, out.getvalue(), err.getvalue())


def needs_artifacts():
    """The artifacts directory and helm, or a skip that says why; in CI (CI=true) a failure instead."""
    from offline.charts import artifacts, helm

    try:
        found = artifacts.locate()
        if found is None:
            raise artifacts.ArtifactsMissing(f"no artifacts directory; {artifacts.HOW_TO_GET}")
        return found, helm.locate()
    except (artifacts.ArtifactsMissing, helm.HelmMissing) as missing:
        reason = f"needs the third-party artifacts and helm: {missing}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must not skip chart checks: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def chart_tools():
    return needs_artifacts()


@pytest.fixture(scope="session")
def chart_checks(evaluations, chart_tools, tmp_path_factory):
    """Each stack's preview checks, the charts rendered with helm (once per run)."""
    from offline.checks import preview

    artifacts_dir, helm_bin = chart_tools

    def compute() -> dict:
        found = {}
        for stack, evaluation in evaluations.items():
            raw = stack_config(stack)
            found[stack] = preview.run(evaluation.graph, raw["tanzu"]["kubernetesVersion"],
                                       raw["compliance"]["allowedRegistries"], artifacts_dir, helm_bin,
                                       require_digest=raw["compliance"].get("requireImageDigest", True))
        return found

    return once_per_run(tmp_path_factory, "chart-checks", compute)


# -- a model larger than a node ---------------------------------------------------------------------

SEVENTY_B = "llama-2-70b-chat"


def seventy_b_config() -> dict:
    """Pulumi.prod.yaml serving Llama-2-70B in bf16 on the design document's nodes (one A100-80GB each).

    The 70B takes the place of the 7B, with its layout left to `auto`; the pool grows to eight nodes
    so a replica across nodes fits (the standby stack keeps four, see below). A 70B in bf16
    reads 138 GB of weights per token whatever its layout (pipeline stages run one after another), so
    the inter-token latency target is relaxed to what A100 PCIe memory allows (about 120 ms).
    """
    raw = copy.deepcopy(stack_config("prod"))
    model = raw["models"].pop("llama-2-7b-chat")
    model.update(huggingfaceRepo="meta-llama/Llama-2-70b-chat-hf", revision="0123456789abcdef0123456789abcdef01234567",
                 servedModelName=SEVENTY_B, architecture="llama-2-70b", tensorParallelSize="auto",
                 nodesPerReplica="auto")
    model["weights"]["sizeGib"] = 300
    raw["models"] = {SEVENTY_B: model, **raw["models"]}
    access = raw["gateway"]["modelAccess"]
    raw["gateway"]["modelAccess"] = {SEVENTY_B: access.pop("llama-2-7b-chat"), **access}
    raw["gpuPool"]["nodes"] = 8
    raw["cost"]["itlTargetSeconds"] = 0.15
    return with_lws_digests(raw)


def with_lws_digests(raw: dict) -> dict:
    """A stack that installs the LeaderWorkerSet controller names the digests of its chart and image (examples)."""
    registry = raw["tanzu"]["registry"]
    registry["imageDigests"] = {**registry["imageDigests"], "lws/lws:v0.10.0": "sha256:" + "1" * 64}
    registry["chartDigests"] = {**registry["chartDigests"], "lws": "sha256:" + "2" * 64}
    return raw


def seventy_b_standby_config() -> dict:
    """Pulumi.prod-standby.yaml sized for the 70B primary: a standby replica across nodes needs four nodes."""
    raw = copy.deepcopy(stack_config("prod-standby"))
    raw["gpuPool"]["nodes"] = 8
    raw["dr"]["standbyGpuNodes"] = 4
    raw["cost"] = {**raw.get("cost", {}), "itlTargetSeconds": 0.15}
    return with_lws_digests(raw)


def with_changed(graph: ResourceGraph, name: str, change, type_: str | None = None) -> ResourceGraph:
    """The graph with the record named ``name`` (of ``type_``, if given) changed by ``change(record)`` on a deep copy."""
    records = []
    for record in graph:
        if record.name == name and type_ in (None, record.type):
            record = copy.deepcopy(record)
            change(record)
        records.append(record)
    return ResourceGraph(records)


def write_stack_file(raw: dict, path: Path, project: str = "onprem-llm") -> Path:
    """Raw config sections as a Pulumi.<stack>.yaml (for the CLI's --config)."""
    import yaml

    path.write_text(yaml.safe_dump({"config": {f"{project}:{k}": v for k, v in raw.items()}}, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def seventy_b(tmp_path_factory) -> Evaluation:
    return once_per_run(tmp_path_factory, "seventy-b", lambda: evaluate("prod", seventy_b_config()))


@pytest.fixture(scope="session")
def seventy_b_standby(seventy_b, tmp_path_factory) -> Evaluation:
    world = FakeWorld("prod-standby", stack_outputs={PRIMARY: as_stack_reference(seventy_b)})
    return once_per_run(tmp_path_factory, "seventy-b-standby",
                        lambda: evaluate("prod-standby", seventy_b_standby_config(), world=world))


@pytest.fixture(scope="session")
def seventy_b_staged_in_pods(seventy_b) -> Evaluation:
    """The 70B's standby without a shared class (non-production): each group pod stages its own weights."""
    raw = seventy_b_standby_config()
    del raw["site"]["weightsStorageClass"]
    raw["compliance"]["tier"] = "non-production"
    world = FakeWorld("prod-standby", stack_outputs={PRIMARY: as_stack_reference(seventy_b)})
    return evaluate("prod-standby", raw, world=world)


@pytest.fixture(scope="session")
def seventy_b_checks(seventy_b, chart_tools):
    """The 70B stack's preview checks, its charts (the LeaderWorkerSet controller's among them) rendered with helm."""
    from offline.checks import preview

    artifacts_dir, helm_bin = chart_tools
    raw = seventy_b_config()
    return preview.run(seventy_b.graph, raw["tanzu"]["kubernetesVersion"], raw["compliance"]["allowedRegistries"],
                       artifacts_dir, helm_bin)
