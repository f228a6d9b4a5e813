"""checkov's Kubernetes checks over everything each stack renders, the charts' objects included.

The program's own objects fail no check; a suppression on them is checkov's own annotation on the object,
`checkov.io/skip<N>: CKV_K8S_<id>=<reason>`, and the only one allowed is the one whose reason the project has
accepted. A chart's object that fails a check is fixed by the chart's values or covered by an entry of
policies/checkov-exceptions.yaml (offline/checks/checkov.py), and every entry must still match a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.builders.ai_gateway_rbac import CHECKOV_SKIPS
from offline.charts.cache import cached
from offline.charts.render import write_manifests
from offline.checks import checkov as exceptions
from offline.run import ROOT
from tools.install_checkov import DEFAULT_PREFIX, executable

ACCEPTED_SUPPRESSIONS = {
    "CKV_K8S_35": "vLLM reads its API key only from the VLLM_API_KEY environment variable",
    **{skip.split("=", 1)[0]: skip.split("=", 1)[1] for skip in CHECKOV_SKIPS.values()},
}
"""Check id -> the reason on every object that suppresses it."""
SUPPRESSED_ON = {
    "CKV_K8S_35": {("Deployment", "llm-serving"), ("StatefulSet", "llm-serving")},  # the model servers
    "CKV_K8S_49": {("Role", "api-gateway")},  # the AI gateway controller's Role in the gateway namespace
    "CKV_K8S_155": {("ClusterRole", "default")},  # its ClusterRole (checkov puts cluster-scoped objects in "default")
}
"""Check id -> the (kind, namespace) of the only objects that may suppress it."""


def _checkov() -> str:
    found = os.environ.get("CHECKOV") or (str(executable(DEFAULT_PREFIX)) if executable(DEFAULT_PREFIX).exists()
                                          else shutil.which("checkov"))
    if not found:
        reason = "needs checkov: `make checkov` (python -m tools.install_checkov)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must not skip the checkov checks: {reason}")
        pytest.skip(reason)
    return found


def _program_manifests(rendered: Path, into: Path) -> Path:
    """The program's own objects (manifests/*.yaml); the charts' renders sit in manifests/charts/."""
    into.mkdir(parents=True)
    for path in sorted((rendered / "manifests").glob("*.yaml")):
        shutil.copy(path, into / path.name)
    return into


CHECKOV_ARGS = ("--framework", "kubernetes", "--output", "json", "--skip-download", "--compact")


def checkov_key(directory: Path) -> str:
    """What a checkov run over ``directory`` depends on: every file's path and bytes, checkov's pinned version and
    its arguments. Its report names files by their path under the directory, so a run over the same bytes elsewhere
    is the same report."""
    hashed = hashlib.sha256((ROOT / "requirements-checkov.txt").read_bytes() + "\0".join(CHECKOV_ARGS).encode())
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        hashed.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return hashed.hexdigest()


def run_checkov(directory: Path) -> dict:
    """checkov's results over ``directory``; a run over the same files (checkov_key) is read from the offline cache."""
    def run() -> dict:
        result = subprocess.run([_checkov(), "--directory", str(directory), *CHECKOV_ARGS],
                                capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
        assert result.returncode in (0, 1), result.stderr[-2000:]
        report = json.loads(result.stdout)
        report = report[0] if isinstance(report, list) else report
        # Where no check applies to anything read, checkov prints its summary alone.
        results = report.get("results") or {"failed_checks": [], "skipped_checks": [], "passed_checks": []}
        return {**results, "resource_count": report.get("summary", report)["resource_count"]}

    _checkov()  # a missing checkov skips (or fails in CI) even where the cache holds the report
    return cached(checkov_key(directory), "checkov-v2", run)


def test_a_changed_file_or_checkov_version_misses_the_checkov_cache(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text("kind: ConfigMap\n")
    before = checkov_key(tmp_path)
    assert checkov_key(tmp_path) == before
    (tmp_path / "a.yaml").write_text("kind: Secret\n")
    changed = checkov_key(tmp_path)
    assert changed != before
    (tmp_path / "a.yaml").rename(tmp_path / "b.yaml")
    renamed = checkov_key(tmp_path)
    assert renamed not in (before, changed)
    other_root = tmp_path / "root"
    other_root.mkdir()
    (other_root / "requirements-checkov.txt").write_text("checkov==0.0.1\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", other_root)
    assert checkov_key(tmp_path) != renamed


CRD_FILES = "*--customresourcedefinition--*.yaml"
"""How write_manifests names a chart's CustomResourceDefinition (one object per file, kind in the name)."""


@pytest.fixture(scope="module")
def full_render(rendered, chart_checks, tmp_path_factory) -> tuple[Path, dict[tuple[str, str], str], list[Path]]:
    """Every stack's manifests, the program's and the charts' (as `--out` writes them), under <root>/<stack>/, the
    chart of each (stack, release directory), and the CustomResourceDefinitions taken out of that tree.

    The charts' CRDs are five sixths of the bytes and no checkov Kubernetes check judges their kind
    (test_checkov_judges_no_custom_resource_definition), so checkov reads the tree without them: the same
    report in a sixth of the time."""
    root = tmp_path_factory.mktemp("checkov-full")
    definitions = tmp_path_factory.mktemp("checkov-crds")
    charts = {}
    for stack, directory in rendered.items():
        _program_manifests(directory, root / stack / "manifests")
        write_manifests(chart_checks[stack].releases, root / stack)
        charts |= {(stack, release.name): release.chart.name for release in chart_checks[stack].releases}
    taken = []
    for path in sorted(root.rglob(CRD_FILES)):
        assert "\nkind: CustomResourceDefinition\n" in "\n" + path.read_text(), path
        taken.append(path.rename(definitions / f"{len(taken)}-{path.name}"))
    return root, charts, taken


@pytest.fixture(scope="module")
def checkov_results(full_render) -> dict:
    """One checkov run over all stacks' renders (its start-up and graph building dominate a single stack's run)."""
    return run_checkov(full_render[0])


def _where(file_path: str) -> tuple[str, list[str]]:
    """The stack of a file checkov reports, and its path under the stack's manifests/ (charts/<cluster>/<release>/...)."""
    before, after = file_path.split("/manifests/", 1)
    return before.rstrip("/").rsplit("/", 1)[-1], after.split("/")


@pytest.fixture(scope="module")
def found(full_render, checkov_results) -> list[exceptions.Failure]:
    charts = full_render[1]

    def stack_and_chart(file_path: str) -> tuple[str, str | None]:
        stack, rest = _where(file_path)
        return stack, (charts[(stack, rest[2])] if rest[0] == "charts" else None)

    return exceptions.failures(checkov_results, stack_and_chart)


def test_checkov_judges_no_custom_resource_definition(full_render, tmp_path):
    """What lets the full render leave the charts' CRDs out: checkov's checks are chosen by kind, so the smallest
    CRD stands for all of them (a pin of checkov that adds a check for the kind fails this). Beside it, a ConfigMap
    (a kind a check judges): checkov reads both (its resource count), and every result it gives is the ConfigMap's."""
    definitions = full_render[2]
    assert len(definitions) > 50
    smallest = min(definitions, key=lambda path: path.stat().st_size)
    (tmp_path / "crd.yaml").write_bytes(smallest.read_bytes())
    (tmp_path / "configmap.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"},
                                                              "metadata": {"name": "judged", "namespace": "judged"}}))
    results = run_checkov(tmp_path)
    assert results["resource_count"] == 2
    judged = results["passed_checks"] + results["failed_checks"] + results["skipped_checks"]
    assert judged and {check["file_path"] for check in judged} == {"/configmap.yaml"}


def test_every_stacks_full_render_was_judged(checkov_results, full_render):
    judged = checkov_results["passed_checks"] + checkov_results["failed_checks"]
    for stack in ("dev", "prod", "prod-standby"):
        ours = [c for c in judged if _where(c["file_path"])[0] == stack]
        theirs = [c for c in ours if _where(c["file_path"])[1][0] == "charts"]
        assert len(ours) - len(theirs) > 100 and len(theirs) > 300, (stack, len(ours), len(theirs))


def test_no_check_fails_on_the_programs_objects(found):
    failed = [str(f) for f in found if f.chart is None]
    assert failed == [], "\n".join(failed)


def test_every_chart_failure_is_fixed_or_excepted(found):
    verdict = exceptions.judge([f for f in found if f.chart], exceptions.load())
    assert verdict.uncovered == [], ("fix these with the chart's values, or add a reasoned entry to "
                                     f"{exceptions.EXCEPTIONS_FILE.name}:\n" + "\n".join(map(str, verdict.uncovered)))
    assert verdict.covered > 50  # the exceptions were applied to the charts' failures


def test_every_exception_still_matches_a_failure(found):
    verdict = exceptions.judge([f for f in found if f.chart], exceptions.load())
    assert verdict.unused == [], "\n".join(verdict.unused)


def test_every_suppression_is_checkovs_own_with_an_accepted_reason(checkov_results):
    skipped = checkov_results["skipped_checks"]
    assert {_where(c["file_path"])[0] for c in skipped} == {"dev", "prod", "prod-standby"}, \
        "the vLLM workloads of every stack carry their suppression"
    for check in skipped:
        assert _where(check["file_path"])[1][0] != "charts", check  # charts' findings go to the exceptions file
        assert ACCEPTED_SUPPRESSIONS.get(check["check_id"]) == check["check_result"].get("suppress_comment"), check
        kind, namespace, _ = check["resource"].split(".", 2)
        assert (kind, namespace) in SUPPRESSED_ON[check["check_id"]], check


def _failure(check="CKV_K8S_38", chart="velero", kind="Deployment", name="velero", namespace="velero"):
    return exceptions.Failure("prod", chart, check, "title", kind, namespace, name)


ENTRY = {"checks": ["CKV_K8S_38"], "chart": "velero", "kinds": ["Deployment"], "names": ["velero"],
         "reason": "the server watches its custom resources through the API server"}


def test_an_exception_covers_only_its_checks_chart_kinds_and_names():
    [entry] = exceptions.parse({"exceptions": [ENTRY]})
    assert entry.covers(_failure())
    for other in (_failure(check="CKV_K8S_40"), _failure(chart="keda"), _failure(kind="DaemonSet"),
                  _failure(name="node-agent"), _failure(chart=None)):
        assert not entry.covers(other), other
    verdict = exceptions.judge([_failure(), _failure(name="node-agent")], [entry])
    assert [f.name for f in verdict.uncovered] == ["node-agent"] and verdict.unused == []


def test_an_exception_that_matches_nothing_is_reported():
    entries = exceptions.parse({"exceptions": [{**ENTRY, "checks": ["CKV_K8S_38", "CKV_K8S_40"], "names": ["velero", "gone"]}]})
    unused = exceptions.judge([_failure()], entries).unused
    assert any("CKV_K8S_40" in u for u in unused) and any("`gone`" in u for u in unused), unused


@pytest.mark.parametrize("change, complaint", [
    ({"reason": ""}, "reason"),
    ({"reason": "needed"}, "reason"),
    ({"checks": ["CKV_K8S_*"]}, "no wildcards"),
    ({"checks": []}, "checks"),
    ({"chart": "*"}, "chart"),
    ({"kinds": ["*"]}, "kinds"),
    ({"names": ["*"]}, "matches every object"),
    ({"namespace": "velero"}, "exactly one"),
    ({"names": None}, "names"),
    ({"objects": "all"}, "unknown field"),
])
def test_a_malformed_exception_is_refused(change, complaint):
    entry = {key: value for key, value in {**ENTRY, **change}.items() if value is not None}
    with pytest.raises(exceptions.ExceptionsError, match=complaint):
        exceptions.parse({"exceptions": [entry]})


def test_the_projects_exceptions_file_is_well_formed():
    entries = exceptions.load()
    assert entries and all(e.chart and e.reason for e in entries)


def test_checkov_catches_a_low_uid_and_a_secret_in_the_environment(rendered, tmp_path):
    """The harness bites: a manifest changed back to what checkov reported before fails it."""
    directory = _program_manifests(rendered["dev"], tmp_path / "in")
    job = next(directory.glob("*--cronjob--*.yaml"), None) or next(directory.glob("*--statefulset--*.yaml"))
    document = yaml.safe_load(job.read_text())
    spec = document["spec"]
    pod = (spec.get("jobTemplate", {}).get("spec", spec))["template"]["spec"]
    pod["securityContext"]["runAsUser"] = 2000
    container = pod["containers"][0]
    container["securityContext"]["runAsUser"] = 2000
    container.setdefault("env", []).append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "x", "key": "t"}}})
    document["metadata"].pop("annotations", None)
    job.write_text(yaml.safe_dump(document))
    failed = {c["check_id"] for c in run_checkov(directory)["failed_checks"]}
    assert {"CKV_K8S_40", "CKV_K8S_35"} <= failed
