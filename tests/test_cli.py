"""The offline preview as an operator runs it: exit codes, messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import yaml

from offline.engine import ROOT


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offline", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _stack_file_with(tmp_path, stack: str, edit) -> str:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_preview_prints_the_dev_tree():
    result = _run("preview", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert "pulumi:pulumi:Stack" in result.stdout and "onprem:platform:VllmService" in result.stdout
    assert "Resources by type:" in result.stdout


def test_tensor_parallel_larger_than_the_pool_fails_with_one_message_naming_the_key(tmp_path):
    def edit(config):
        config["onprem-llm:models"]["llama-2-7b-chat"]["tensorParallelSize"] = 8
    result = _run("preview", "--stack", "dev", "--config", _stack_file_with(tmp_path, "dev", edit))
    assert result.returncode == 2
    assert "models.llama-2-7b-chat.tensorParallelSize: 8:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_unresolvable_inventory_name_fails_cleanly(tmp_path):
    def edit(config):
        config["onprem-llm:vsphere"]["computeCluster"] = "no-such-cluster"
    result = _run("preview", "--stack", "dev", "--config", _stack_file_with(tmp_path, "dev", edit))
    assert result.returncode == 2
    assert "compute cluster 'no-such-cluster' not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_stack_is_a_clear_error():
    result = _run("preview", "--stack", "staging")
    assert result.returncode == 2 and "no stack file" in result.stderr and "'dev'" in result.stderr
