"""The weights staging script: one directory per revision, superseded revisions removed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from components.builders.vllm_pod import DOWNLOAD_SCRIPT

STUB = """
import os, pathlib
def snapshot_download(repo_id, revision, local_dir):
    if revision.startswith("broken"):
        raise RuntimeError("connection reset")
    pathlib.Path(local_dir, "model.safetensors").write_text(revision)
"""


@pytest.fixture
def stage(tmp_path):
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "huggingface_hub.py").write_text(STUB)
    repo = tmp_path / "models" / "meta-llama--Llama-2-7b-chat-hf"

    def run(revision: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(stub), "MODEL_REPO": "meta-llama/Llama-2-7b-chat-hf",
               "MODEL_REVISION": revision, "MODEL_DIR": str(repo / revision)}
        return subprocess.run([sys.executable, "-c", DOWNLOAD_SCRIPT], env=env, capture_output=True, text=True)

    run.revisions = lambda: sorted(p.name for p in repo.iterdir())
    return run


def test_staging_keeps_the_new_revision_and_the_one_before_it(stage):
    for revision in ("aaa", "bbb"):
        assert stage(revision).returncode == 0
    assert stage.revisions() == ["aaa", "bbb"]
    result = stage("ccc")
    assert result.returncode == 0 and "removed superseded revision aaa" in result.stdout
    assert stage.revisions() == ["bbb", "ccc"]


def test_a_rollback_restages_nothing_and_keeps_the_revision_it_leaves(stage):
    for revision in ("aaa", "bbb", "aaa"):
        assert stage(revision).returncode == 0
    assert stage.revisions() == ["aaa", "bbb"]
    assert stage("ccc").returncode == 0
    # aaa was staged (again) after bbb, so bbb is the superseded one now.
    assert stage.revisions() == ["aaa", "ccc"]


def test_a_failed_download_removes_nothing(stage):
    for revision in ("aaa", "bbb"):
        stage(revision)
    assert stage("broken1").returncode != 0
    assert stage.revisions() == ["aaa", "bbb", "broken1"]
    # The next successful staging clears the partial directory along with the superseded revision.
    assert stage("ccc").returncode == 0
    assert stage.revisions() == ["bbb", "ccc"]
