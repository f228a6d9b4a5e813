"""Stack config validation, without Pulumi: every bad key is named with its value and a fix."""

from __future__ import annotations

import pytest

from components.config import SECRET_KEYS, ConfigError, parse_config
from offline.run import stack_config

ALL_SECRETS = [s.key for s in SECRET_KEYS]


def _parse(raw, secrets=ALL_SECRETS):
    return parse_config(raw, secrets)


def _set(raw: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    node = raw
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value


_DELETE = object()
LLAMA = "models.llama-2-7b-chat"

# (stack, [(path, value), ...], expected issue path, fragment of the reason)
BROKEN = [
    ("dev", [(f"{LLAMA}.tensorParallelSize", 2)], f"{LLAMA}.tensorParallelSize", "gpusPerNode is 1"),
    ("prod", [(f"{LLAMA}.replicas.max", 4)], "models", "exceeds the pool's 4 GPUs"),
    ("dev", [(f"{LLAMA}.image.tag", "latest")], f"{LLAMA}.image.tag", "floating tag"),
    ("dev", [(f"{LLAMA}.image.digest", _DELETE)], f"{LLAMA}.image.digest", "requireImageDigest"),
    ("dev", [(f"{LLAMA}.image.repository", "docker.io/vllm/vllm-openai")], f"{LLAMA}.image.repository", "allowedRegistries"),
    ("dev", [(f"{LLAMA}.revision", "main")], f"{LLAMA}.revision", "should match pattern"),
    ("dev", [(f"{LLAMA}.mirrorUrl", _DELETE)], f"{LLAMA}.mirrorUrl", "mirror's base URL"),
    ("dev", [(f"{LLAMA}.gpuMemoryUtilization", 1.5)], f"{LLAMA}.gpuMemoryUtilization", "less than or equal to 0.98"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--api-key=abc"])], f"{LLAMA}.extraArgs", "managed by the platform"),
    ("dev", [(f"{LLAMA}.tensorParalelSize", 1)], f"{LLAMA}.tensorParalelSize", "unknown key"),
    ("prod", [("models.mistral-7b-instruct.servedModelName", "llama-2-7b-chat")],
     "models.mistral-7b-instruct.servedModelName", "already served"),
    ("dev", [("gpuPool.vgpuProfile", _DELETE)], "gpuPool.vgpuProfile", "vgpu mode needs"),
    ("dev", [("gpuPool.mode", "passthrough")], "gpuPool.vgpuProfile", "passthrough mode takes no vGPU profile"),
    ("dev", [("gpuPool.mode", "passthrough"), ("gpuPool.vgpuProfile", _DELETE)], "gpuPool.existingVmClass",
     "DirectPath I/O device"),
    ("dev", [("gpuPool.existingVmClass", "a100-passthrough")], "gpuPool.existingVmClass", "vgpu mode creates its own"),
    ("dev", [("addons.gpuOperator.driverRepository", "nvcr.io/nvidia")], "addons.gpuOperator.driverRepository",
     "allowedRegistries"),
    ("dev", [("compliance.privilegedNamespaces", {})], "compliance.privilegedNamespaces", "needs an entry for 'gpu-operator'"),
    ("dev", [("addons.gpuOperator.namespace", "llm-serving")], "addons.gpuOperator.namespace", "must not share"),
    ("dev", [("tanzu.supervisorId", _DELETE)], "tanzu.supervisorId", "Field required"),
    ("prod", [("models.mistral-7b-instruct.weights.accessMode", "ReadWriteOnce")],
     "models.mistral-7b-instruct.replicas.min", "production needs replicas.min >= 2"),
    ("prod", [("models.mistral-7b-instruct.weights.storageClass", _DELETE)],
     "models.mistral-7b-instruct.weights.storageClass", "file-services storage class"),
    ("dev", [(f"{LLAMA}.resources.memoryGib", 120)], f"{LLAMA}.resources.memoryGib", "more than a GPU node's 128 GiB"),
    ("dev", [(f"{LLAMA}.resources.cpu", 16)], f"{LLAMA}.resources.cpu", "keeps 2 for the system"),
    ("dev", [(f"{LLAMA}.startupTimeoutSeconds", 60)], f"{LLAMA}.startupTimeoutSeconds", "greater than or equal to 600"),
    ("dev", [("gpuPool.gpuModel", "V100")], "gpuPool.gpuModel", "not in the sizing catalogue"),
    ("dev", [(f"{LLAMA}.architecture", "llama-9-7b")], f"{LLAMA}.architecture", "not in the sizing catalogue"),
    ("dev", [(f"{LLAMA}.maxModelLen", 8192)], f"{LLAMA}.maxModelLen", "exceeds llama-2-7b's context of 4096"),
    ("dev", [("gpuPool.gpusPerNode", 4), (f"{LLAMA}.tensorParallelSize", 3)], f"{LLAMA}.tensorParallelSize",
     "power of two dividing the model's 32 attention heads"),
    ("dev", [("gpuPool.gpuModel", "L4"), (f"{LLAMA}.gpuMemoryUtilization", 0.7)], f"{LLAMA}.maxModelLen",
     "lower maxModelLen to at most"),
    ("dev", [("cost.requestsPerMonth", 500_000_000)], f"{LLAMA}.replicas.max", "52 replicas (52 GPUs) are needed"),
    ("dev", [("tanzu.controlPlane.replicas", 2)], "tanzu.controlPlane.replicas", "Input should be 1 or 3"),
    ("prod", [("tanzu.controlPlane.replicas", 1)], "tanzu.controlPlane.replicas", "3 control-plane nodes"),
    ("prod", [("vsphere.allowUnverifiedSsl", True)], "vsphere.allowUnverifiedSsl", "verify vCenter TLS"),
    ("dev", [("vsphere.user", "administrator@vsphere.local")], "vsphere.user", "identifies no person"),
    ("dev", [("tanzu.kubernetesVersion", "1.30")], "tanzu.kubernetesVersion", "does not match tanzu.tkr"),
    ("dev", [("tanzu.gatewayNamespaces", ["llm-serving"])], "tanzu.gatewayNamespaces", "must not contain"),
    ("dev", [("tanzu.monitoringNamespace", "llm-serving")], "tanzu.monitoringNamespace", "must differ"),
    ("prod", [("dr.backupIntervalMinutes", 120)], "dr.backupIntervalMinutes",
     "interval + backup duration + replication lag = 135 min, above dr.rpoMinutes (60); set it to at most 45"),
    ("prod", [("dr.backupIntervalMinutes", 45)], "dr.backupIntervalMinutes", "does not divide an hour or a day"),
    ("prod", [("dr.mode", "backup-restore"), ("dr.rtoMinutes", 5)], "dr.rtoMinutes",
     "backup-restore recovers in about"),
    ("prod", [("dr.rtoMinutes", 5)], "dr.rtoMinutes", "warm-standby recovers in about 8 min"),
    ("prod", [("dr.secondary.gpuNodes", 1)], "dr.secondary.gpuNodes", "2 GPUs, but the secondary has 1"),
    ("prod", [("dr.fileSystemBackup", True)], "dr.fileSystemBackup", "add `velero` with its reason"),
    ("prod", [("dr.backupStorage", _DELETE)], "dr.backupStorage", "S3 target"),
    ("prod", [("dr.backupStorage.s3Url", "http://s3-b.hospital.example")], "dr.backupStorage.s3Url", "should match"),
    ("prod", [("dr.secondary", _DELETE)], "dr.secondary", "needs the secondary site"),
    ("prod", [("compliance.privilegedNamespaces.llm-serving", "vLLM wants root")],
     "compliance.privilegedNamespaces.llm-serving", "stay at Pod Security restricted"),
    ("dev", [("cost.amortisationYears", 0)], "cost.amortisationYears", "greater than or equal to 1"),
    ("dev", [("observability.latencyP95ThresholdSeconds", 0)], "observability.latencyP95ThresholdSeconds", "greater than 0"),
]


@pytest.mark.parametrize(("stack", "changes", "path", "reason"), BROKEN, ids=[f"{b[2]}:{b[3][:24]}" for b in BROKEN])
def test_broken_config_is_rejected_with_its_key_value_and_reason(stack, changes, path, reason):
    raw = stack_config(stack)
    for change_path, value in changes:
        _set(raw, change_path, value)
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    matching = [i for i in caught.value.issues if i.path == path]
    assert matching, f"no issue at {path}; got {[str(i) for i in caught.value.issues]}"
    assert any(reason in i.reason for i in matching), [str(i) for i in matching]
    assert f"  - {path}: " in str(caught.value)


def test_sample_stacks_are_valid():
    for stack in ("dev", "prod"):
        cfg = _parse(stack_config(stack))
        assert cfg.models


def test_every_problem_is_reported_at_once():
    raw = stack_config("dev")
    _set(raw, f"{LLAMA}.image.tag", "latest")
    _set(raw, "gpuPool.nodes", 0)
    _set(raw, "dr.rpoMinutes", -1)
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    paths = {i.path for i in caught.value.issues}
    assert {f"{LLAMA}.image.tag", "gpuPool.nodes", "dr.rpoMinutes"} <= paths


def test_issue_line_reads_path_value_reason():
    raw = stack_config("dev")
    _set(raw, f"{LLAMA}.tensorParallelSize", 8)
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert f"{LLAMA}.tensorParallelSize: 8: a replica's GPUs must sit in one node VM" in str(caught.value)


def test_missing_secret_names_the_config_set_command():
    raw = stack_config("prod")
    with pytest.raises(ConfigError) as caught:
        _parse(raw, [k for k in ALL_SECRETS if k != "hfToken"])
    assert "hfToken: <missing>: " in str(caught.value)
    assert "pulumi config set --secret hfToken" in str(caught.value)


def test_nls_token_is_required_for_vgpu_guests():
    with pytest.raises(ConfigError) as caught:
        _parse(stack_config("dev"), [k for k in ALL_SECRETS if k != "nlsClientToken"])
    assert "nlsClientToken: <missing>: secret (NVIDIA License System" in str(caught.value)


def test_hf_token_is_only_required_when_a_model_downloads_from_hugging_face():
    cfg = _parse(stack_config("dev"), [k for k in ALL_SECRETS if k != "hfToken"])
    assert all(m.source == "mirror" for m in cfg.models.values())


def test_unknown_top_level_key_is_rejected():
    raw = stack_config("dev")
    raw["gpupool"] = {}
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert any(i.path == "gpupool" and "unknown config key" in i.reason for i in caught.value.issues)
