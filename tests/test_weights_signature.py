"""The weights signature: signed with the real model-signing library, verified as the pods run the check.

The verifier runs as its container does (``python -c`` with its environment) on a small model directory signed
in the test with a generated key or certificate; the staging script runs before it as in the Job. The cases of
what reaches the node's log run it as that process; the others run the same text in the test's process.
The rendered Job and init containers, the stack outputs and the config errors are checked beside it.
"""

from __future__ import annotations

import base64
import copy
import datetime
import fnmatch
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from components.builders.vllm_pod import DOWNLOAD_SCRIPT, VERIFY_SCRIPT, WEIGHTS_SIGNER
from components.config import ConfigError
from components.jobs import audit_manifest, stage_weights, verify_signature
from components.jobs.stage_weights import manifest_digest
from components.platform import signature_namespace
from components.resources import audit
from offline.run import evaluate, stack_config
from tests.conftest import python_c
from tests.test_config import _DELETE, _parse, _set
from tests.test_image_requirements import requirements

ROOT = Path(__file__).resolve().parent.parent
REVISION = "f5db02db724555f92da89c216ac04704f23d4590"
FILES = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"], "hidden_size": 64}',
    "model-00001-of-00002.safetensors": os.urandom(32 * 1024),
    "model-00002-of-00002.safetensors": os.urandom(24 * 1024),
    "tokenizer.json": b'{"model": {"type": "BPE"}}',
    "tokenizer.model": os.urandom(2048),
}
LLAMA = "models.llama-2-7b-chat"


def _pem(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _write(directory: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)


def _private_key_file(tmp_path: Path, key, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _signing(ignore: str = "model.sig"):
    import model_signing

    # As `model_signing sign` does: the signature inside the directory is left out of what it signs.
    return model_signing.signing.Config().set_hashing_config(
        model_signing.hashing.Config().set_ignored_paths(paths=[ignore]))


@pytest.fixture(scope="module")
def signing_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def signed(tmp_path, signing_key):
    """A model directory signed with a generated key, as staging leaves it (marker and hub metadata beside it)."""
    model = tmp_path / "models" / REVISION
    _write(model, FILES)
    _signing().use_elliptic_key_signer(private_key=_private_key_file(tmp_path, signing_key, "signing-key.pem")).sign(
        model, model / "model.sig")
    (model / ".staged-revision").write_text(f"{REVISION} sha256:x")
    _write(model, {".cache/huggingface/download/config.json.metadata": b"etag"})
    return model


def _verify(model: Path, method: str = "key", process: bool = False, **material: str) -> subprocess.CompletedProcess:
    """The container's command with its environment: as its own process (``process``), else the same text run
    in this process (``python_c``), which spares each case the signing library's half-second import."""
    env = {**os.environ, "MODEL_DIR": str(model), "SIGNATURE_FILE": "model.sig", "SIGNATURE_METHOD": method,
           "MODEL_REPO": "meta-llama/Llama-2-7b-chat-hf", "MODEL_REVISION": REVISION,
           "WEIGHTS_MANIFEST_DIGEST": "sha256:" + "a" * 64, "TMPDIR": str(model.parent.parent), **material}
    if not process:
        return python_c(VERIFY_SCRIPT, env)
    return subprocess.run([sys.executable, "-c", VERIFY_SCRIPT], env=env, capture_output=True, text=True)


def _record(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith(verify_signature.RECORD_MARKER)]
    assert len(lines) == 1, stdout
    return json.loads(lines[0].removeprefix(verify_signature.RECORD_MARKER))


# -- key signatures on real files ---------------------------------------------------------------


def test_the_signed_directory_passes_and_the_record_names_the_key_next_to_the_manifest(signed, signing_key):
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert result.returncode == 0, result.stderr
    record = _record(result.stdout)
    der = signing_key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    assert record == {"model": "meta-llama/Llama-2-7b-chat-hf", "revision": REVISION,
                      "weightsManifest": "sha256:" + "a" * 64, "signatureMethod": "key",
                      "signer": "key sha256:" + hashlib.sha256(der).hexdigest()}


def test_a_changed_byte_fails_naming_the_file(signed, signing_key):
    shard = bytearray((signed / "model-00002-of-00002.safetensors").read_bytes())
    shard[100] ^= 0x01
    (signed / "model-00002-of-00002.safetensors").write_bytes(bytes(shard))
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert result.returncode == 1
    signed_digest = hashlib.sha256(FILES["model-00002-of-00002.safetensors"]).hexdigest()
    assert f"model-00002-of-00002.safetensors differs from the signed file (signed sha256:{signed_digest})" \
        in result.stderr
    assert "the model does not start on these bytes" in result.stderr
    assert verify_signature.RECORD_MARKER not in result.stdout


def test_a_missing_file_fails_naming_it(signed, signing_key):
    (signed / "tokenizer.model").unlink()
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert result.returncode == 1
    assert "tokenizer.model is signed but missing" in result.stderr


def test_a_file_the_signature_does_not_cover_fails_naming_it(signed, signing_key):
    _write(signed, {"added/chat_template.jinja": b"{{ messages }}"})
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert result.returncode == 1
    assert "added/chat_template.jinja is not covered by the signature" in result.stderr


def test_another_key_fails(signed):
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(ec.generate_private_key(ec.SECP256R1()).public_key()))
    assert result.returncode == 1
    assert "model.sig does not verify (key)" in result.stderr
    assert verify_signature.RECORD_MARKER not in result.stdout


def test_a_forged_signature_value_fails(signed, signing_key):
    bundle = json.loads((signed / "model.sig").read_text())
    raw = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    raw[-1] ^= 0x01
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
    (signed / "model.sig").write_text(json.dumps(bundle))
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert result.returncode == 1
    assert "model.sig does not verify (key)" in result.stderr


def test_a_missing_signature_file_fails_naming_it(signed, signing_key):
    (signed / "model.sig").unlink()
    result = _verify(signed, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert result.returncode == 1
    assert "model.sig is missing" in result.stderr


# -- certificate signatures ----------------------------------------------------------------------


def _certificate(subject: str, key, issuer_name: str, issuer_key, ca: bool, email: str | None = None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False),
                              critical=True))
    if email:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def certificate_signed(tmp_path):
    """A directory signed with a key whose certificate the site's CA issued to model-approval@hospital.example."""
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Hospital Model CA", ca_key, "Hospital Model CA", ca_key, ca=True)
    leaf = _certificate("Model Approval", signer_key, "Hospital Model CA", ca_key, ca=False,
                        email="model-approval@hospital.example")
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    model = tmp_path / "models" / REVISION
    _write(model, FILES)
    _signing().use_certificate_signer(private_key=_private_key_file(tmp_path, signer_key, "signer.pem"),
                                      signing_certificate=tmp_path / "leaf.pem",
                                      certificate_chain=[tmp_path / "ca.pem"]).sign(model, model / "model.sig")
    return model, ca.public_bytes(serialization.Encoding.PEM).decode(), leaf


def test_a_certificate_of_the_site_ca_for_the_configured_identity_passes(certificate_signed):
    model, ca_chain, leaf = certificate_signed
    result = _verify(model, "certificate", SIGNING_CA_CHAIN=ca_chain, SIGNER_IDENTITY="model-approval@hospital.example")
    assert result.returncode == 0, result.stderr
    fingerprint = leaf.fingerprint(hashes.SHA256()).hex()
    assert _record(result.stdout)["signer"] == f"certificate model-approval@hospital.example (sha256:{fingerprint})"


def test_a_certificate_issued_to_someone_else_fails_naming_whom_it_was_issued_to(certificate_signed):
    model, ca_chain, _ = certificate_signed
    result = _verify(model, "certificate", SIGNING_CA_CHAIN=ca_chain, SIGNER_IDENTITY="radiology-lead@hospital.example")
    assert result.returncode == 1
    assert "issued to CN=Model Approval, model-approval@hospital.example, not to radiology-lead@hospital.example" \
        in result.stderr


def test_a_certificate_of_another_ca_fails(certificate_signed):
    model, _, _ = certificate_signed
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _certificate("Other CA", other_key, "Other CA", other_key, ca=True)
    result = _verify(model, "certificate", SIGNING_CA_CHAIN=other.public_bytes(serialization.Encoding.PEM).decode(),
                     SIGNER_IDENTITY="model-approval@hospital.example")
    assert result.returncode == 1
    assert "model.sig does not verify (certificate)" in result.stderr


# -- staging, then verification, as the Job runs them -------------------------------------------

HUB = """
import fnmatch, os, pathlib, shutil
def snapshot_download(repo_id, revision, local_dir, allow_patterns):
    source = pathlib.Path(os.environ["TEST_MIRROR"], revision)
    for path in source.rglob("*"):
        relative = path.relative_to(source).as_posix()
        if path.is_file() and any(fnmatch.fnmatch(relative, p) for p in allow_patterns):
            (pathlib.Path(local_dir) / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, pathlib.Path(local_dir) / relative)
"""


def _stage(tmp_path: Path, mirror: Path, manifest: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "hub").mkdir(exist_ok=True)
    (tmp_path / "hub" / "huggingface_hub.py").write_text(HUB)
    model = tmp_path / "volume" / REVISION
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hub"), "TEST_MIRROR": str(mirror),
           "MODEL_REPO": "meta-llama/Llama-2-7b-chat-hf", "MODEL_REVISION": REVISION, "MODEL_DIR": str(model),
           "WEIGHTS_MANIFEST": json.dumps(manifest), "WEIGHTS_MANIFEST_DIGEST": manifest_digest(manifest),
           "WEIGHTS_SIGNATURE": "model.sig"}
    return subprocess.run([sys.executable, "-c", DOWNLOAD_SCRIPT], env=env, capture_output=True, text=True), model


def _manifest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def test_staging_fetches_the_signature_and_the_verifier_then_passes(tmp_path, signing_key):
    mirror = tmp_path / "mirror" / REVISION
    _write(mirror, FILES)
    _signing().use_elliptic_key_signer(private_key=_private_key_file(tmp_path, signing_key, "k.pem")).sign(
        mirror, mirror / "model.sig")
    staged, model = _stage(tmp_path, tmp_path / "mirror", _manifest(FILES))
    assert staged.returncode == 0, staged.stderr
    assert (model / "model.sig").is_file()
    verified = _verify(model, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert verified.returncode == 0, verified.stderr


def test_a_file_changed_before_the_manifest_was_recorded_is_caught_by_the_signature(tmp_path, signing_key):
    """The manifest was recorded from bytes changed after signing: staging accepts them, the signature does not."""
    mirror = tmp_path / "mirror" / REVISION
    _write(mirror, FILES)
    _signing().use_elliptic_key_signer(private_key=_private_key_file(tmp_path, signing_key, "k.pem")).sign(
        mirror, mirror / "model.sig")
    changed = {**FILES, "config.json": b'{"architectures": ["LlamaForCausalLM"], "hidden_size": 65}'}
    _write(mirror, changed)
    staged, model = _stage(tmp_path, tmp_path / "mirror", _manifest(changed))
    assert staged.returncode == 0, staged.stderr
    verified = _verify(model, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert verified.returncode == 1
    assert "config.json differs from the signed file" in verified.stderr


def test_staging_refuses_a_revision_whose_signature_the_mirror_lacks(tmp_path):
    mirror = tmp_path / "mirror" / REVISION
    _write(mirror, FILES)
    staged, _ = _stage(tmp_path, tmp_path / "mirror", _manifest(FILES))
    assert staged.returncode == 1
    assert "model.sig is missing" in staged.stderr


def test_the_verifier_leaves_out_exactly_the_files_staging_writes_itself():
    assert verify_signature.MARKER == stage_weights.MARKER
    assert verify_signature.HUB_METADATA == stage_weights.HUB_METADATA


# -- the verifier image installs what the tests verify with -------------------------------------


def test_the_verifier_image_pins_the_closure_the_tests_run_with():
    # Every pin hashed and at constraints.txt's version: tests/test_image_requirements.py, for both images.
    image = requirements(ROOT / "images" / "weights-verifier" / "requirements.txt")
    assert image["model-signing"][0] == f"=={version('model-signing')}"
    assert image["pyopenssl"][0] == f"=={version('pyopenssl')}"
    dockerfile = (ROOT / "images" / "weights-verifier" / "Dockerfile").read_text()
    assert "--no-deps" in dockerfile and "USER 10001" in dockerfile


# -- what the program renders -------------------------------------------------------------------


def _pod(record) -> dict:
    return record.inputs["spec"]["template"]["spec"]


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_the_signed_model_job_stages_then_verifies_in_the_verifier_image(prod):
    job = next(r for r in prod.graph.of_type("kubernetes:batch/v1:Job") if r.name == "llama-2-7b-chat-download")
    pod = _pod(job)
    [stage], [verify] = pod["initContainers"], pod["containers"]
    assert stage["name"] == "stage-weights" and _env(stage)["WEIGHTS_SIGNATURE"] == "model.sig"
    cfg = _parse(stack_config("prod"))
    signature = cfg.models["llama-2-7b-chat"].weights_signature
    assert verify["name"] == "verify-signature"
    assert verify["image"] == signature.verifier_image.reference and "@sha256:" in verify["image"]
    assert verify["command"] == ["python3", "-c", VERIFY_SCRIPT]
    env = _env(verify)
    assert env["SIGNATURE_METHOD"] == "key" and env["SIGNATURE_FILE"] == "model.sig"
    assert env["SIGNING_PUBLIC_KEY"] == signature.public_key
    assert env["MODEL_DIR"] == _env(stage)["MODEL_DIR"]
    assert env["WEIGHTS_MANIFEST_DIGEST"] == _env(stage)["WEIGHTS_MANIFEST_DIGEST"]
    mounts = {m["name"]: m for m in verify["volumeMounts"]}
    assert mounts["weights"]["readOnly"] is True
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in verify["volumeMounts"]} <= volumes


def test_an_unsigned_model_gets_no_verifier_and_no_signer_annotation(prod):
    job = next(r for r in prod.graph.of_type("kubernetes:batch/v1:Job") if r.name == "mistral-7b-instruct-download")
    pod = _pod(job)
    assert [c["name"] for c in pod["containers"]] == ["stage-weights"] and not pod.get("initContainers")
    assert "WEIGHTS_SIGNATURE" not in _env(pod["containers"][0])
    server = next(r for r in prod.graph.of_type("kubernetes:apps/v1:Deployment") if r.name == "mistral-7b-instruct-server")
    assert WEIGHTS_SIGNER not in server.inputs["spec"]["template"]["metadata"]["annotations"]


def test_the_signer_is_recorded_next_to_the_manifest_digest(prod):
    cfg = _parse(stack_config("prod"))
    llama = cfg.models["llama-2-7b-chat"]
    server = next(r for r in prod.graph.of_type("kubernetes:apps/v1:Deployment") if r.name == "llama-2-7b-chat-server")
    annotations = server.inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations[WEIGHTS_SIGNER] == llama.weights_signer == \
        "key " + verify_signature.key_fingerprint(llama.weights_signature.public_key)
    outputs = prod.outputs["models"]["llama-2-7b-chat"]
    assert outputs["weightsSigner"] == llama.weights_signer
    assert outputs["weightsManifest"] == llama.weights_identity
    assert prod.outputs["models"]["mistral-7b-instruct"]["weightsSigner"] == "unsigned"


def test_a_model_staging_its_own_weights_verifies_in_a_second_init_container():
    raw = stack_config("dev")
    prod_llama = stack_config("prod")["models"]["llama-2-7b-chat"]
    raw["models"]["llama-2-7b-chat"]["weightsSignature"] = copy.deepcopy(prod_llama["weightsSignature"])
    registry = raw["tanzu"]["registry"]["server"]
    raw["models"]["llama-2-7b-chat"]["weightsSignature"]["verifierImage"]["repository"] = \
        f"{registry}/platform/weights-verifier"
    evaluation = evaluate("dev", raw)
    [server] = [r for r in evaluation.graph.of_type("kubernetes:apps/v1:StatefulSet") if r.name == "llama-2-7b-chat-server"]
    init = _pod(server)["initContainers"]
    assert [c["name"] for c in init] == ["stage-weights", "verify-signature"]
    assert init[1]["image"].startswith(f"{registry}/platform/weights-verifier:")
    assert {m["name"]: m.get("readOnly") for m in init[1]["volumeMounts"]}["weights"] is True


# -- the record in the audit trail ---------------------------------------------------------------

SHIPPER = "audit-fluent-bit"


def _shipper(evaluation) -> dict:
    return evaluation.graph.named(SHIPPER).inputs["values"]


def _sections(text: str, alias: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of the Fluent Bit section with this Alias, keys lowercased, in order."""
    for block in text.split("\n\n"):
        pairs = [tuple(line.strip().split(" ", 1)) for line in block.splitlines()[1:] if line.strip()]
        pairs = [(key.lower(), value) for key, value in pairs]
        if ("alias", alias) in pairs:
            return pairs
    raise AssertionError(f"no section {alias} in {text!r}")


def _kubelet_log(pod: str, namespace: str, container: str) -> str:
    # The kubelet's log file name of a container: <pod>_<namespace>_<container>-<container id>.log.
    return f"/var/log/containers/{pod}_{namespace}_{container}-{'0f' * 32}.log"


def _kept(config: dict, records: list[dict[str, str]]) -> list[dict[str, str]]:
    """What the shipper's grep filter lets through: every Regex rule must match (Logical_Op AND), searched as
    Fluent Bit searches (not anchored unless the pattern is)."""
    rules = _sections(config["filters"], "keep-weights-signature-record")
    assert ("match", "audit.weights-signature") in rules and ("logical_op", "AND") in rules
    patterns = [value.split(" ", 1) for key, value in rules if key == "regex"]
    assert {field for field, _ in patterns} == {"stream", "log"}
    return [r for r in records if all(re.search(pattern, r[field]) for field, pattern in patterns)]


@pytest.fixture(scope="module")
def staging_its_own_weights():
    """prod with the signed model on per-replica volumes: the verifier runs as an init container of each replica."""
    raw = stack_config("prod")
    model = raw["models"]["llama-2-7b-chat"]
    model["weights"]["accessMode"] = "ReadWriteOnce"
    model["weights"].pop("storageClass")
    model["replicas"] = {"min": 2, "max": 2}
    return evaluate("prod", raw)


def test_the_shipper_tails_the_verifier_in_the_staging_job_and_in_a_pod_staging_its_own_weights(
        prod, staging_its_own_weights):
    inputs = _sections(_shipper(prod)["config"]["inputs"], "in-weights-signature")
    assert ("tag", "audit.weights-signature") in inputs and ("multiline.parser", "cri") in inputs
    (path,) = [value for key, value in inputs if key == "path"]
    record = next(r for r in prod.graph.of_type("kubernetes:batch/v1:Job") if r.name == "llama-2-7b-chat-download")
    job, namespace = record.inputs, record.inputs["metadata"]["namespace"]
    [stage], [verify] = _pod(record)["initContainers"], _pod(record)["containers"]
    assert fnmatch.fnmatch(_kubelet_log(f"{job['metadata']['name']}-x7k2p", namespace, verify["name"]), path)
    # Neither the staging step's log (file names, the hub's messages) nor another namespace's verifier is read.
    assert not fnmatch.fnmatch(_kubelet_log(f"{job['metadata']['name']}-x7k2p", namespace, stage["name"]), path)
    assert not fnmatch.fnmatch(_kubelet_log(f"{job['metadata']['name']}-x7k2p", "llm-evaluation", verify["name"]), path)

    own = staging_its_own_weights
    assert dict(_sections(_shipper(own)["config"]["inputs"], "in-weights-signature"))["path"] == path
    [record] = [r for r in own.graph.of_type("kubernetes:apps/v1:StatefulSet") if r.name == "llama-2-7b-chat-server"]
    server, pod = record.inputs, _pod(record)
    [_, init_verify], [vllm] = pod["initContainers"], pod["containers"]
    replica = f"{server['metadata']['name']}-0"
    assert fnmatch.fnmatch(_kubelet_log(replica, server["metadata"]["namespace"], init_verify["name"]), path)
    assert not fnmatch.fnmatch(_kubelet_log(replica, server["metadata"]["namespace"], vllm["name"]), path)
    # Reading one more log changes nothing of the shipper's reach: the host's logs stay mounted read-only.
    mounts = {m["name"]: m for m in _shipper(prod)["daemonSetVolumeMounts"]}
    assert mounts["varlog"] == {"name": "varlog", "mountPath": "/var/log", "readOnly": True}
    assert [name for name, m in mounts.items() if not m.get("readOnly")] == ["buffers"]


def _printed(result: subprocess.CompletedProcess) -> list[dict[str, str]]:
    """The verifier's output as the CRI runtime logs it: one record per line, with its stream."""
    return [{"stream": stream, "log": line} for stream, text in (("stdout", result.stdout), ("stderr", result.stderr))
            for line in text.splitlines()]


def test_only_the_record_line_of_the_verifier_leaves_the_node(prod, signed, signing_key):
    config = _shipper(prod)["config"]
    passed = _verify(signed, process=True, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert passed.returncode == 0, passed.stderr
    (record,) = [line for line in passed.stdout.splitlines() if line.startswith(verify_signature.RECORD_MARKER)]
    shard = bytearray((signed / "model-00002-of-00002.safetensors").read_bytes())
    shard[100] ^= 0x01
    (signed / "model-00002-of-00002.safetensors").write_bytes(bytes(shard))
    refused = _verify(signed, process=True, SIGNING_PUBLIC_KEY=_pem(signing_key.public_key()))
    assert refused.returncode == 1 and "differs from the signed file" in refused.stderr
    printed = _printed(passed) + _printed(refused)
    assert len(printed) > 3
    assert _kept(config, printed) == [{"stream": "stdout", "log": record}]
    # A line on stderr never passes, even one that reads like the record.
    assert _kept(config, [{"stream": "stderr", "log": record}]) == []
    # The seal accepts an object of what the filter keeps, and reports one holding any line it drops.
    key = "onprem-llm/logs/2026-11-24/weights-signature/00-00-00-x.gz"

    def shipped(records):  # as the S3 output writes them: gzip, one JSON record per line
        return gzip.compress("".join(json.dumps({"date": 1.0, "_p": "F", **r}) + "\n" for r in records).encode())

    assert audit_manifest.content_findings(key, shipped(_kept(config, printed))) == []
    assert audit_manifest.content_findings(key, shipped(printed)) == [
        f"{key}: a weights signature log record other than the record line"]


def test_the_record_ships_to_its_own_folder_of_the_day_that_the_seal_checks(prod):
    output = dict(_sections(_shipper(prod)["config"]["outputs"], "s3-weights-signature"))
    assert output["match"] == "audit.weights-signature"
    assert output["s3_key_format"].startswith(
        f"/onprem-llm/logs/%Y-%m-%d/{audit_manifest.SIGNATURE_LOGS}/")
    assert audit.SIGNATURE_LOGS == audit_manifest.SIGNATURE_LOGS
    assert output["tls"] == "On" and output["tls.verify"] == "On" and output["bucket"] == "llm-platform-audit"
    assert output["send_content_md5"] == "On" and "$UUID" in output["s3_key_format"]


def test_no_signature_check_no_input(standby):
    """Only a cluster that checks a signature reads the verifier's log: the standby checks the mirrored signature."""
    assert "in-weights-signature" in _shipper(standby)["config"]["inputs"]
    raw = stack_config("prod")
    del raw["models"]["llama-2-7b-chat"]["weightsSignature"]
    cfg = _parse(raw)
    assert signature_namespace(cfg) is None
    assert signature_namespace(_parse(stack_config("prod"))) == cfg.tanzu.serving_namespace
    values = audit.fluent_bit_values(cfg.audit, "harbor-a.hospital.example", cfg.gateway.namespace, True,
                                     signature_namespace=signature_namespace(cfg))
    assert "weights-signature" not in json.dumps(values)


# -- config --------------------------------------------------------------------------------------

SIGNATURE = f"{LLAMA}.weightsSignature"
BROKEN = [
    ("prod", [(f"{SIGNATURE}.publicKey", None)], f"{SIGNATURE}.publicKey", "method key verifies with"),
    ("prod", [(f"{SIGNATURE}.method", "certificate")], f"{SIGNATURE}.caChain", "method certificate verifies with"),
    ("prod", [(f"{SIGNATURE}.method", "certificate")], f"{SIGNATURE}.identity", "no other certificate of the same CA"),
    ("prod", [(f"{SIGNATURE}.method", "certificate")], f"{SIGNATURE}.publicKey", "method certificate does not use it"),
    ("prod", [(f"{SIGNATURE}.method", "sigstore"), (f"{SIGNATURE}.publicKey", None),
              (f"{SIGNATURE}.identity", "model-approval@hospital.example"),
              (f"{SIGNATURE}.oidcIssuer", "https://login.hospital.example")],
     f"{SIGNATURE}.trustConfig", "production verifies keyless signatures offline"),
    ("prod", [("compliance.requireWeightsSignature", True)], "models.mistral-7b-instruct.weightsSignature",
     "compliance.requireWeightsSignature is on"),
    ("prod", [(f"{SIGNATURE}.publicKey", _pem(ed25519.Ed25519PrivateKey.generate().public_key()))],
     f"{SIGNATURE}.publicKey", "not an elliptic-curve key on P-256"),
    ("prod", [(f"{SIGNATURE}.file", "../model.sig")], f"{SIGNATURE}.file", "outside the revision"),
    ("prod", [(f"{SIGNATURE}.trustConfig", '{"mediaType": "x"}')], f"{SIGNATURE}.trustConfig", "no `trustedRoot`"),
    ("prod", [(f"{SIGNATURE}.verifierImage.repository", "docker.io/library/python")],
     f"{SIGNATURE}.verifierImage.repository", "allowedRegistries"),
    ("prod", [(f"{SIGNATURE}.verifierImage.digest", None)], f"{SIGNATURE}.verifierImage.digest", "requireImageDigest"),
]


@pytest.mark.parametrize(("stack", "changes", "path", "reason"), BROKEN, ids=[f"{b[2]}:{b[3][:24]}" for b in BROKEN])
def test_a_bad_signature_config_names_its_key_and_the_fix(stack, changes, path, reason):
    raw = stack_config(stack)
    for change_path, value in changes:
        _set(raw, change_path, _DELETE if value is None else value)  # None in the table: the key removed
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    matching = [i for i in caught.value.issues if i.path == path]
    assert matching, f"no issue at {path}; got {[str(i) for i in caught.value.issues]}"
    assert any(reason in i.reason for i in matching), [str(i) for i in matching]


def test_a_private_key_given_as_the_public_key_is_refused_without_showing_it():
    private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    raw = stack_config("prod")
    _set(raw, f"{SIGNATURE}.publicKey", private)
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert any(i.path == f"{SIGNATURE}.publicKey" and "holds a private key" in i.reason for i in caught.value.issues)
    assert private.splitlines()[1] not in str(caught.value)


def test_keyless_with_a_trust_root_is_accepted_in_production_and_names_the_identity():
    raw = stack_config("prod")
    signature = raw["models"]["llama-2-7b-chat"]["weightsSignature"]
    signature.pop("publicKey")
    signature.update(method="sigstore", identity="model-approval@hospital.example",
                     oidcIssuer="https://login.hospital.example", trustConfig=json.dumps({"trustedRoot": {}}))
    model = _parse(raw).models["llama-2-7b-chat"]
    assert model.weights_signer == "sigstore model-approval@hospital.example from https://login.hospital.example"
