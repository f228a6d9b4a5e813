"""checkov's Kubernetes checks over the objects the program itself renders: no failure, every suppression explained.

The charts' objects are the charts' (their values are checked elsewhere); these are the program's. A
suppression is checkov's own annotation on the object, `checkov.io/skip<N>: CKV_K8S_<id>=<reason>`, and the
only one allowed is the one whose reason the project has accepted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.builders.ai_gateway_rbac import CHECKOV_SKIPS
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
    into.mkdir()
    for path in sorted((rendered / "manifests").glob("*.yaml")):
        shutil.copy(path, into / path.name)
    return into


def run_checkov(directory: Path) -> dict:
    result = subprocess.run(
        [_checkov(), "--directory", str(directory), "--framework", "kubernetes", "--output", "json",
         "--skip-download", "--compact"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    return report.get("results") or {"failed_checks": [], "skipped_checks": [], "passed_checks": []}


@pytest.fixture(scope="module")
def checkov_results(rendered, tmp_path_factory):
    return {stack: run_checkov(_program_manifests(directory, tmp_path_factory.mktemp(f"checkov-{stack}") / "in"))
            for stack, directory in rendered.items()}


def test_no_check_fails_on_the_programs_objects(checkov_results):
    for stack, results in checkov_results.items():
        failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
        assert failed == [], f"{stack}: {failed}"
        assert len(results["passed_checks"]) > 100, stack  # the objects were read and judged


def test_every_suppression_is_checkovs_own_with_an_accepted_reason(checkov_results):
    for stack, results in checkov_results.items():
        skipped = results["skipped_checks"]
        assert skipped, f"{stack}: the vLLM workloads carry their suppression"
        for check in skipped:
            assert ACCEPTED_SUPPRESSIONS.get(check["check_id"]) == check["check_result"].get("suppress_comment"), check
            kind, namespace, _ = check["resource"].split(".", 2)
            assert (kind, namespace) in SUPPRESSED_ON[check["check_id"]], check


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
