"""The weights staging script on real files: verified against a manifest, one directory per revision.

The script runs as the staging Job does (``python -c`` with its environment). Only the model hub is
stood in: a ``huggingface_hub`` module whose ``snapshot_download`` copies, as the hub does, the files of
``<mirror>/<revision>/`` that match ``allow_patterns`` into ``local_dir``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from components.builders.vllm_pod import DOWNLOAD_SCRIPT
from components.jobs.stage_weights import manifest_digest
from tools import weights_manifest

HUB = """
import fnmatch, os, pathlib, shutil
def snapshot_download(repo_id, revision, local_dir, allow_patterns):
    source = pathlib.Path(os.environ["TEST_MIRROR"], revision)
    if not source.is_dir():
        raise RuntimeError("connection reset")
    for path in source.rglob("*"):
        relative = path.relative_to(source).as_posix()
        if path.is_file() and any(fnmatch.fnmatch(relative, p) for p in allow_patterns):
            (pathlib.Path(local_dir) / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, pathlib.Path(local_dir) / relative)
"""

REVISION = "f5db02db724555f92da89c216ac04704f23d4590"
# A small model as a mirror holds it: weights shards, configs, a tokenizer.
FILES = {
    "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 64}).encode(),
    "generation_config.json": b'{"temperature": 0.6}',
    "model-00001-of-00002.safetensors": os.urandom(64 * 1024),
    "model-00002-of-00002.safetensors": os.urandom(48 * 1024),
    "model.safetensors.index.json": b'{"weight_map": {}}',
    "tokenizer.json": b'{"model": {"type": "BPE"}}',
    "tokenizer.model": os.urandom(4096),
}


@pytest.fixture
def stage(tmp_path):
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "huggingface_hub.py").write_text(HUB)
    mirror = tmp_path / "mirror"
    repo = tmp_path / "models" / "meta-llama--Llama-2-7b-chat-hf"

    def publish(revision: str, files: dict[str, bytes]) -> None:
        for name, data in files.items():
            (mirror / revision / name).parent.mkdir(parents=True, exist_ok=True)
            (mirror / revision / name).write_bytes(data)

    def run(revision: str, manifest: dict[str, str] | None = None, allow_pickle: bool = False,
            pinned_digest: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(hub), "TEST_MIRROR": str(mirror),
               "MODEL_REPO": "meta-llama/Llama-2-7b-chat-hf", "MODEL_REVISION": revision,
               "MODEL_DIR": str(repo / revision)}
        if manifest is not None:
            env["WEIGHTS_MANIFEST"] = json.dumps(manifest)
            env["WEIGHTS_MANIFEST_DIGEST"] = pinned_digest or manifest_digest(manifest)
        if allow_pickle:
            env["ALLOW_PICKLE"] = "1"
        return subprocess.run([sys.executable, "-c", DOWNLOAD_SCRIPT], env=env, capture_output=True, text=True)

    run.publish = publish
    run.mirror = mirror
    run.dir = lambda revision: repo / revision
    run.revisions = lambda: sorted(p.name for p in repo.iterdir())
    return run


def _manifest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def _staged(stage, revision: str) -> bool:
    return (stage.dir(revision) / ".staged-revision").is_file()


# -- verification against the manifest ----------------------------------------------------------


def test_the_correct_directory_passes_and_records_the_manifest_digest(stage):
    stage.publish(REVISION, FILES)
    manifest = _manifest(FILES)
    result = stage(REVISION, manifest)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in stage.dir(REVISION).iterdir() if p.name != ".staged-revision") == sorted(FILES)
    identity = "sha256:" + hashlib.sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert f"weights manifest {identity}" in result.stdout
    assert (stage.dir(REVISION) / ".staged-revision").read_text() == f"{REVISION} {identity}"


def test_a_changed_byte_fails_staging_naming_the_file_and_removes_it(stage):
    tampered = dict(FILES)
    shard = bytearray(FILES["model-00002-of-00002.safetensors"])
    shard[1000] ^= 0x01
    tampered["model-00002-of-00002.safetensors"] = bytes(shard)
    stage.publish(REVISION, tampered)
    result = stage(REVISION, _manifest(FILES))
    assert result.returncode == 1
    assert "model-00002-of-00002.safetensors has sha256" in result.stderr
    assert "refused: 1 file(s)" in result.stderr and "config.json" not in result.stderr
    # The model cannot start on these bytes: the file is gone and no marker vouches for the directory.
    assert not (stage.dir(REVISION) / "model-00002-of-00002.safetensors").exists()
    assert not _staged(stage, REVISION)


def test_a_missing_file_fails_staging_naming_the_file(stage):
    stage.publish(REVISION, {k: v for k, v in FILES.items() if k != "tokenizer.json"})
    result = stage(REVISION, _manifest(FILES))
    assert result.returncode == 1
    assert "tokenizer.json is missing" in result.stderr
    assert not _staged(stage, REVISION)


def test_an_extra_pickle_file_fails_staging_naming_the_file(stage):
    stage.publish(REVISION, FILES)
    stage.dir(REVISION).mkdir(parents=True)
    (stage.dir(REVISION) / "pytorch_model.bin").write_bytes(b"\x80\x04cos\nsystem\n")
    result = stage(REVISION, _manifest(FILES))
    assert result.returncode == 1
    assert "pytorch_model.bin is a pickle checkpoint, which runs code when loaded" in result.stderr
    assert not (stage.dir(REVISION) / "pytorch_model.bin").exists()
    assert not _staged(stage, REVISION)
    # Removed, so the next run passes on the verified files alone.
    assert stage(REVISION, _manifest(FILES)).returncode == 0


def test_an_extra_file_that_is_not_in_the_manifest_fails(stage):
    stage.publish(REVISION, FILES)
    stage.dir(REVISION).mkdir(parents=True)
    (stage.dir(REVISION) / "added_tokens.json").write_text("{}")
    result = stage(REVISION, _manifest(FILES))
    assert result.returncode == 1 and "added_tokens.json is not in the weights manifest" in result.stderr


def test_bytes_changed_on_the_volume_after_staging_are_caught_at_the_next_start(stage):
    stage.publish(REVISION, FILES)
    assert stage(REVISION, _manifest(FILES)).returncode == 0
    (stage.dir(REVISION) / "tokenizer.model").write_bytes(b"changed")
    result = stage(REVISION, _manifest(FILES))
    assert result.returncode == 1 and "tokenizer.model has sha256" in result.stderr
    assert not _staged(stage, REVISION)


def test_a_manifest_other_than_the_pinned_one_is_refused(stage):
    stage.publish(REVISION, FILES)
    result = stage(REVISION, _manifest(FILES), pinned_digest="sha256:" + "0" * 64)
    assert result.returncode == 1 and "not the one the program pinned" in result.stderr
    assert not stage.dir(REVISION).exists()


def test_pickle_checkpoints_stage_only_when_allowed(stage):
    files = {"config.json": FILES["config.json"], "pytorch_model.bin": os.urandom(1024)}
    stage.publish(REVISION, files)
    refused = stage(REVISION, _manifest(files))
    assert refused.returncode == 1 and "pytorch_model.bin is a pickle checkpoint" in refused.stderr
    assert stage(REVISION, _manifest(files), allow_pickle=True).returncode == 0


def test_without_a_manifest_only_the_allowed_patterns_are_fetched_and_the_manifest_is_printed(stage):
    stage.publish(REVISION, {**FILES, "pytorch_model.bin": b"pickle", "modeling_llama.py": b"import os"})
    result = stage(REVISION)
    assert result.returncode == 0, result.stderr
    present = sorted(p.name for p in stage.dir(REVISION).iterdir() if p.name != ".staged-revision")
    assert present == sorted(FILES)
    printed = json.loads(result.stdout[result.stdout.index("{"):result.stdout.index("}\n") + 1])
    assert printed == _manifest(FILES)
    assert "weights manifest unverified" in result.stdout


def test_the_recording_tool_prints_what_staging_then_accepts(stage, capsys):
    stage.publish(REVISION, {**FILES, "README.md": b"# model card", "pytorch_model.bin": b"pickle"})
    assert weights_manifest.main([str(stage.mirror / REVISION)]) == 0
    out, err = capsys.readouterr()
    assert "README.md" in err and "pytorch_model.bin" in err
    recorded = dict(line.strip().split(": ") for line in out.splitlines()[1:] if not line.startswith("#"))
    assert recorded == _manifest(FILES)
    assert stage(REVISION, recorded).returncode == 0


# -- one directory per revision -----------------------------------------------------------------


def _publish_revisions(stage, *revisions: str) -> None:
    for revision in revisions:
        stage.publish(revision, {"model.safetensors": revision.encode()})


def test_staging_keeps_the_new_revision_and_the_one_before_it(stage):
    _publish_revisions(stage, "aaa", "bbb", "ccc")
    for revision in ("aaa", "bbb"):
        assert stage(revision).returncode == 0
    assert stage.revisions() == ["aaa", "bbb"]
    result = stage("ccc")
    assert result.returncode == 0 and "removed superseded revision aaa" in result.stdout
    assert stage.revisions() == ["bbb", "ccc"]


def test_a_rollback_restages_nothing_and_keeps_the_revision_it_leaves(stage):
    _publish_revisions(stage, "aaa", "bbb", "ccc")
    for revision in ("aaa", "bbb", "aaa"):
        assert stage(revision).returncode == 0
    assert stage.revisions() == ["aaa", "bbb"]
    assert stage("ccc").returncode == 0
    # aaa was staged (again) after bbb, so bbb is the superseded one now.
    assert stage.revisions() == ["aaa", "ccc"]


def test_a_failed_download_removes_nothing(stage):
    _publish_revisions(stage, "aaa", "bbb", "ccc")
    for revision in ("aaa", "bbb"):
        stage(revision)
    assert stage("broken1").returncode != 0
    assert stage.revisions() == ["aaa", "bbb", "broken1"]
    # The next successful staging clears the partial directory along with the superseded revision.
    assert stage("ccc").returncode == 0
    assert stage.revisions() == ["bbb", "ccc"]

