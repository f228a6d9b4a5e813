"""The offline preview as an operator runs it: exit codes, messages, no tracebacks.

The command runs as its own process where the process is what is tested (the plain preview, an unknown
stack); the other cases run its main in this process (``offline_cli``), the pack still in its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from offline.run import ROOT
from tests.conftest import offline_cli


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offline", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _stack_file_with(tmp_path, stack: str, edit) -> str:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_preview_prints_the_dev_tree():
    result = _run("preview", "--stack", "dev", "--stand-in-secrets")
    assert result.returncode == 0, result.stderr
    assert "pulumi:pulumi:Stack" in result.stdout and "onprem:platform:VllmService" in result.stdout
    assert "Resources by type:" in result.stdout
    # By default the tree is the preview of a new stack.
    assert "offline: a new stack" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Preview passed")


def test_existing_stack_preview_is_a_flag():
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--existing-stack")
    assert result.returncode == 0, result.stderr
    assert "a stack whose resources all exist" in result.stdout


def test_tensor_parallel_larger_than_the_pool_fails_with_one_message_naming_the_key(tmp_path):
    def edit(config):
        config["onprem-llm:models"]["llama-2-7b-chat"]["tensorParallelSize"] = 8
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--config", _stack_file_with(tmp_path, "dev", edit))
    assert result.returncode == 2
    assert "models.llama-2-7b-chat.tensorParallelSize: 8:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "Preview FAILED: 1 stack config problem(s)"


def _children() -> set[int]:
    """This process's child processes, exited but unreaped ones included (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


def test_unresolvable_inventory_name_fails_cleanly(tmp_path):
    """A name the site inventory file does not hold fails as the vSphere data source does, naming the file; the
    preview run forked beside the failed one is reaped, not left behind."""
    def edit(config):
        config["onprem-llm:vsphere"]["computeCluster"] = "no-such-cluster"
    site_file = ROOT / "tests" / "data" / "site-dev.yaml"
    before = _children()
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--config", _stack_file_with(tmp_path, "dev", edit),
                         "--site-inventory", str(site_file))
    assert result.returncode == 2
    assert "compute cluster 'no-such-cluster' not found" in result.stderr
    assert f"site inventory {site_file}" in result.stderr and "lab-mgmt-cluster" in result.stderr
    assert "Traceback" not in result.stderr
    assert _children() <= before


def test_unknown_stack_is_a_clear_error():
    result = _run("preview", "--stack", "staging")
    assert result.returncode == 2 and "no stack file" in result.stderr and "'dev'" in result.stderr


def test_preview_fails_on_a_mandatory_policy_violation(tmp_path):
    config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    config["image-provenance"]["allowedRegistries"] = ["registry.elsewhere.example"]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config))
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--policy-config", str(path))
    assert result.returncode == 1
    assert "[mandatory] image-provenance:" in result.stdout
    mandatory = result.stdout.count("[mandatory]")
    assert result.stdout.splitlines()[-1] == f"Preview FAILED: {mandatory} mandatory policy violation(s)"


def test_preview_writes_compliance_reports(tmp_path, prod):
    result = offline_cli("preview", "--stack", "prod", "--stand-in-secrets", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    # The fake world is deterministic: the CLI run used the same stand-ins as the session's evaluation.
    written = [p.read_text() for p in tmp_path.rglob("*") if p.is_file()] + [result.stdout]
    assert {p.name for p in tmp_path.iterdir()} >= {"manifests", "inventory.json", "outputs.json", "compliance.json",
                                                     "compliance.md", "capacity.json"}
    for value in prod.world.secret_values:
        assert not any(value in text for text in written)
    document = json.loads((tmp_path / "compliance.json").read_text())
    assert document["mandatoryViolations"] == 0
    assert "## 45 CFR 164.312(e)(1)" in (tmp_path / "compliance.md").read_text()


def test_a_renamed_namespace_in_another_stack_file_is_judged_by_that_files_promises(tmp_path):
    """The pack's config follows the stack file previewed, not the committed one of the sample stack."""
    def edit(config):
        config["onprem-llm:compliance"]["privilegedNamespaces"] = {
            "gpu-nvidia": "GPU driver and container toolkit load kernel modules and reconfigure containerd"}
        config["onprem-llm:addons"]["gpuOperator"]["namespace"] = "gpu-nvidia"
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--config", _stack_file_with(tmp_path, "dev", edit))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "0 mandatory" in result.stdout


def test_the_verdict_counts_each_kind_of_problem():
    from offline.__main__ import verdict
    from offline.checks.policy import PolicyReport, Violation
    from offline.checks.preview import PreviewChecks

    checks = PreviewChecks(images=["a", "b"], pod_security=["c"], skipped=["no helm"])
    report = PolicyReport(violations=[Violation("p", "urn", "m", "mandatory"), Violation("q", "urn", "m", "advisory")])
    assert verdict(report, checks, 3) == (
        "Preview FAILED: 1 mandatory policy violation(s), 1 Pod Security violation(s), "
        "2 image registry or digest problem(s), 3 failure(s) of the simulated first `pulumi up`")
    assert verdict(PolicyReport(violations=[Violation("q", "urn", "m", "advisory")]), PreviewChecks(skipped=["x"]), 0) == (
        "Preview passed (1 advisory policy violation(s), 1 check(s) skipped)")
