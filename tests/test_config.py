"""Stack config validation, without Pulumi: every bad key is named with its value and a fix."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import SECRET_KEYS, ConfigError, parse_config
from components.config.site_mirror import mirror_of
from offline.run import stack_config

ALL_SECRETS = [s.key for s in SECRET_KEYS]


def _parse(raw, secrets=ALL_SECRETS):
    """A stack's config as its program judges it; a standby's with the shipped primary's siteMirror."""
    site = raw.get("site") if isinstance(raw.get("site"), dict) else {}
    standby = site.get("role") == "standby" and ("primaryStack" in site or "primaryOutputsFile" in site)
    return parse_config(raw, secrets, primary=mirror_of(parse_config(stack_config("prod"), ALL_SECRETS)) if standby else None)


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
    ("dev", [(f"{LLAMA}.revision", "main")], f"{LLAMA}.revision", "full 40-character commit sha"),
    ("prod", [(f"{LLAMA}.weightsManifest", _DELETE)], f"{LLAMA}.weightsManifest", "only on verified bytes"),
    ("prod", [(f"{LLAMA}.allowPickle", True)], f"{LLAMA}.allowPickle", "never loads pickle checkpoints"),
    ("dev", [(f"{LLAMA}.weightsManifest", {"pytorch_model.bin": "a" * 64})], f"{LLAMA}.weightsManifest",
     "lists files staging refuses"),
    ("dev", [(f"{LLAMA}.weightsManifest", {"config.json": "sha256:" + "a" * 64})], f"{LLAMA}.weightsManifest",
     "without 'sha256:'"),
    ("dev", [(f"{LLAMA}.weightsManifest", {"config.json": "abc"})], f"{LLAMA}.weightsManifest", "64 lowercase hex"),
    ("dev", [(f"{LLAMA}.weightsManifest", {"../config.json": "a" * 64})], f"{LLAMA}.weightsManifest",
     "relative to the revision's directory"),
    ("dev", [(f"{LLAMA}.mirrorUrl", _DELETE)], f"{LLAMA}.mirrorUrl", "mirror's base URL"),
    ("dev", [(f"{LLAMA}.gpuMemoryUtilization", 1.5)], f"{LLAMA}.gpuMemoryUtilization", "must be at most 0.98"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--api-key=abc"])], f"{LLAMA}.extraArgs", "credential flag (--api-key)"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--trust-remote-code"])], f"{LLAMA}.extraArgs", "runs the model repository's own"),
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
    ("dev", [("tanzu.supervisorId", _DELETE)], "tanzu.supervisorId",
     "required key is missing; add it: Id of the vSphere Supervisor"),
    ("prod", [("models.mistral-7b-instruct.weights.accessMode", "ReadWriteOnce")],
     "models.mistral-7b-instruct.replicas.min", "production needs replicas.min >= 2"),
    ("prod", [("models.mistral-7b-instruct.weights.storageClass", _DELETE)],
     "models.mistral-7b-instruct.weights.storageClass", "file-services storage class"),
    ("dev", [(f"{LLAMA}.resources.memoryGib", 120)], f"{LLAMA}.resources.memoryGib", "more than a GPU node's 128 GiB"),
    ("dev", [(f"{LLAMA}.resources.cpu", 16)], f"{LLAMA}.resources.cpu", "keeps 2 for the system"),
    ("dev", [(f"{LLAMA}.startupTimeoutSeconds", 60)], f"{LLAMA}.startupTimeoutSeconds", "must be at least 600 (seconds)"),
    ("dev", [("gpuPool.gpuModel", "V100")], "gpuPool.gpuModel", "not in the sizing catalogue"),
    ("dev", [(f"{LLAMA}.architecture", "llama-9-7b")], f"{LLAMA}.architecture", "not in the sizing catalogue"),
    ("dev", [(f"{LLAMA}.maxModelLen", 8192)], f"{LLAMA}.maxModelLen", "exceeds llama-2-7b's context of 4096"),
    ("dev", [("gpuPool.gpusPerNode", 4), (f"{LLAMA}.tensorParallelSize", 3)], f"{LLAMA}.tensorParallelSize",
     "power of two dividing the model's 32 attention heads"),
    ("dev", [("gpuPool.gpuModel", "L4"), ("gpuPool.vgpuProfile", "grid_l4-24c"), (f"{LLAMA}.gpuMemoryUtilization", 0.7)],
     f"{LLAMA}.maxModelLen",
     "lower maxModelLen to at most"),
    ("dev", [("cost.requestsPerMonth", 500_000_000)], f"{LLAMA}.replicas.max", "36 replicas (36 GPUs) are needed"),
    ("dev", [("tanzu.controlPlane.replicas", 2)], "tanzu.controlPlane.replicas", "must be one of 1, 3"),
    ("prod", [("tanzu.controlPlane.replicas", 1)], "tanzu.controlPlane.replicas", "3 control-plane nodes"),
    ("prod", [("vsphere.allowUnverifiedSsl", True)], "vsphere.allowUnverifiedSsl", "verify vCenter TLS"),
    ("dev", [("vsphere.user", "administrator@vsphere.local")], "vsphere.user", "identifies no person"),
    ("dev", [("tanzu.kubernetesVersion", "1.33")], "tanzu.kubernetesVersion", "does not match tanzu.tkr"),
    ("dev", [("tanzu.gatewayNamespaces", ["llm-serving"])], "tanzu.gatewayNamespaces", "must not contain"),
    ("dev", [("tanzu.monitoringNamespace", "llm-serving")], "tanzu.monitoringNamespace", "must differ"),
    ("prod", [("dr.backupIntervalMinutes", 120)], "dr.backupIntervalMinutes",
     "interval + backup duration + replication lag = 135 min, above dr.rpoMinutes (60); set it to at most 45"),
    ("prod", [("dr.backupIntervalMinutes", 45)], "dr.backupIntervalMinutes", "does not divide an hour or a day"),
    ("prod", [("dr.mode", "backup-restore"), ("dr.rtoMinutes", 5)], "dr.rtoMinutes",
     "backup-restore recovers in about"),
    ("prod", [("dr.rtoMinutes", 5)], "dr.rtoMinutes", "warm-standby recovers in about 8 min"),
    ("prod-standby", [("dr.standbyGpuNodes", 1)], "dr.standbyGpuNodes",
     "2 GPUs, but this site keeps 1; set dr.standbyGpuNodes to at least 2"),
    ("prod", [("dr.fileSystemBackup", True)], "dr.fileSystemBackup", "add `velero` with its reason"),
    ("prod", [("dr.backupStorage", _DELETE)], "dr.backupStorage", "S3 target"),
    ("prod", [("dr.backupStorage.s3Url", "http://s3-b.hospital.example")], "dr.backupStorage.s3Url", "must use https://"),
    ("prod", [("dr.secondary", {"clusterName": "llm-dr"})], "dr.secondary", "the standby site is its own stack now"),
    ("prod-standby", [("models", {})], "models", "a standby serves the primary's models"),
    ("prod-standby", [("gateway.modelAccess", {})], "gateway.modelAccess", "comes from the primary stack"),
    ("prod-standby", [("dr.mode", "pilot-light"), ("dr.rtoMinutes", 120)], "dr.mode", "differs from the primary's"),
    ("prod-standby", [("dr.backupStorage.prefix", "other")], "dr.backupStorage.prefix", "use the primary's 'prod'"),
    ("prod-standby", [("dr.restoreFromSchedule", "platform-frequent")], "dr.restoreFromSchedule",
     "restores only when the standby takes over"),
    ("prod-standby", [("dr.active", True), ("dr.restoreFromSchedule", "nightly")], "dr.restoreFromSchedule",
     "the primary's schedules are ['platform-frequent', 'platform-daily']"),
    ("prod-standby", [("dr.enabled", False)], "dr.enabled", "a standby stack restores the primary's backups"),
    ("prod-standby", [("site.primaryStack", "prod")], "site.primaryStack", "organization/project/stack"),
    ("prod-standby", [("site.primaryStack", _DELETE)], "site.primaryStack", "a standby needs the primary's outputs"),
    ("prod-standby", [("site.primaryOutputsFile", "/etc/primary.json")], "site.primaryOutputsFile", "without '..'"),
    ("prod", [("dr.active", True)], "dr.active", "is a standby stack's setting"),
    ("prod", [("site", {"primaryStack": "organization/onprem-llm/prod"})], "site.primaryStack",
     "is read only by a standby stack"),
    ("prod", [("compliance.privilegedNamespaces.llm-serving", "vLLM wants root")],
     "compliance.privilegedNamespaces.llm-serving", "stay at Pod Security restricted"),
    ("dev", [("cost.amortisationYears", 0)], "cost.amortisationYears", "must be at least 1 (years)"),
    ("dev", [("observability.latencyP95ThresholdSeconds", 0)], "observability.latencyP95ThresholdSeconds",
     "must be more than 0 (seconds)"),
    ("dev", [(f"{LLAMA}.tensorParalelSize", 1)], f"{LLAMA}.tensorParalelSize", "did you mean tensorParallelSize?"),
]

MISTRAL = "models.mistral-7b-instruct"
BREAK_GLASS = "sso:llm-platform-breakglass@hospital.example"

# Free-text fields, each parsed by its grammar: CIDRs (ipaddress), image references (distribution/reference),
# host names, URLs, e-mail addresses, accounts, YAML 1.2 scalars the models must not coerce.
FREE_TEXT = [
    ("prod", [("tanzu.podCidr", "10.0.0.0/33")], "tanzu.podCidr", "is not a CIDR"),
    ("prod", [("tanzu.podCidr", "any")], "tanzu.podCidr", "write '0.0.0.0/0' for any IPv4 address"),
    ("dev", [("gateway.clientCidrs", ["clients.hospital.example"])], "gateway.clientCidrs", "not host names"),
    ("prod", [("audit.egressCidrs", ["10.30.0.1/16"])], "audit.egressCidrs", "its network is '10.30.0.0/16'"),
    ("prod", [("audit.egressCidrs", ["10.30.0.7"])], "audit.egressCidrs", "write '10.30.0.7/32'"),
    ("dev", [("gateway.clientCidrs", "10.0.0.0/8")], "gateway.clientCidrs", "must be a list; write it as a YAML list"),
    ("dev", [(f"{LLAMA}.image.tag", "v0.12.0:v0.12.0")], f"{LLAMA}.image.tag", "one tag per image); write 'v0.12.0'"),
    ("dev", [(f"{LLAMA}.image.tag", "\u201dv0.12.0\u201d")], f"{LLAMA}.image.tag", "typographic quotes"),
    ("dev", [(f"{LLAMA}.image.tag", "sha256:" + "a" * 64)], f"{LLAMA}.image.tag", "is a digest; put it in the digest key"),
    ("dev", [(f"{LLAMA}.image.repository", "harbor-lab.hospital.example/VLLM/vllm-openai")],
     f"{LLAMA}.image.repository", "lowercase: 'harbor-lab.hospital.example/vllm/vllm-openai'"),
    ("dev", [(f"{LLAMA}.image.repository", "https://harbor-lab.hospital.example/vllm/vllm-openai")],
     f"{LLAMA}.image.repository", "carry no scheme"),
    ("dev", [(f"{LLAMA}.image.repository", "harbor-lab.hospital.example/vllm/vllm-openai:v0.12.0")],
     f"{LLAMA}.image.repository", "holds a tag"),
    ("dev", [(f"{LLAMA}.image.repository", "vllm/vllm-openai")], f"{LLAMA}.image.repository", "Docker Hub path"),
    ("dev", [(f"{LLAMA}.image.digest", "f2309d913a07da49ea20b2a694703f4cfcb5ad8e7437ec0f26145479ac01e002")],
     f"{LLAMA}.image.digest", "needs the algorithm: 'sha256:"),
    ("dev", [("tanzu.registry.server", "https://harbor-lab.hospital.example")], "tanzu.registry.server",
     "write the registry host alone: 'harbor-lab.hospital.example'"),
    ("dev", [("addons.gpuOperator.driverRepository", "https://harbor-lab.hospital.example/nvaie")],
     "addons.gpuOperator.driverRepository", "carry no scheme"),
    ("dev", [("vsphere.server", "https://vcenter-lab.hospital.example/ui")], "vsphere.server",
     "give the host name only, without scheme or path: 'vcenter-lab.hospital.example'"),
    ("dev", [("vsphere.server", "vcenter-lab.hospital.example:443")], "vsphere.server", "without a port"),
    ("dev", [("gateway.hostname", "LLM-lab.hospital.example")], "gateway.hostname", "must be lowercase"),
    ("prod", [("dr.backupStorage.s3Url", "s3-b.hospital.example")], "dr.backupStorage.s3Url",
     "e.g. 'https://s3-b.hospital.example'"),
    ("prod", [("gateway.oidc.issuer", "https://sso.hospital.example/realms/clinical#x")], "gateway.oidc.issuer",
     "no query or fragment"),
    ("prod", [("aria.administrators", ["llm-platform-admins"])], "aria.administrators", "is not an e-mail address"),
    ("prod", [("observability.alertEmail.smarthost", "smtp.hospital.example")], "observability.alertEmail.smarthost",
     "must be host:port, e.g. 'smtp.hospital.example:587'"),
    ("prod", [("gpuPool.alarmEmail", "vsphere-oncall")], "gpuPool.alarmEmail", "is not an e-mail address"),
    ("dev", [("vsphere.user", "VSPHERE.LOCAL\\Administrator")], "vsphere.user", "identifies no person"),
    ("dev", [("vsphere.user", "Administrator@corp.local")], "vsphere.user", "identifies no person"),
    ("prod-standby", [("vsphere.user", "vsphere.local\\administrator")], "vsphere.user", "identifies no person"),
    ("dev", [("tanzu.kubernetesVersion", 1.32)], "tanzu.kubernetesVersion",
     'YAML read it as the number 1.32 (which can drop digits: 1.10 reads as 1.1); quote it as you mean it, e.g. "1.32"'),
    ("dev", [("tanzu.tkr", "1.32.4")], "tanzu.tkr", "e.g. 'v1.32.0---vmware.6-fips-vkr.2'"),
    ("prod", [(f"{MISTRAL}.revision", "3ad372f")], f"{MISTRAL}.revision", "short commit id"),
    ("prod", [(f"{MISTRAL}.huggingfaceRepo", "https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.2")],
     f"{MISTRAL}.huggingfaceRepo", "give the repository id: 'mistralai/Mistral-7B-Instruct-v0.2'"),
    ("prod", [("dr.backupStorage.bucket", "LLM_Backups")], "dr.backupStorage.bucket", "is not an S3 bucket name"),
    ("dev", [("vsphere.allowUnverifiedSsl", "yes")], "vsphere.allowUnverifiedSsl",
     "YAML 1.2 (as Pulumi reads it) takes 'yes' as text"),
    ("dev", [("gpuPool.nodes", True)], "gpuPool.nodes", "YAML read true as a boolean"),
    ("dev", [(f"{LLAMA}.weights.sizeGib", "40Gi")], f"{LLAMA}.weights.sizeGib", "(GiB) without a unit suffix; write 40"),
    ("dev", [(f"{LLAMA}.startupTimeoutSeconds", "20m")], f"{LLAMA}.startupTimeoutSeconds", "suffix; write 1200"),
    ("dev", [(f"{LLAMA}.gpuMemoryUtilization", "85%")], f"{LLAMA}.gpuMemoryUtilization", "suffix; write 0.85"),
    ("dev", [(f"{LLAMA}.weights.accessMode", "RWX")], f"{LLAMA}.weights.accessMode", "did you mean 'ReadWriteMany'?"),
    ("dev", [("vsphere.storagePolicy", "LLM Encrypted Lab")], "vsphere.storagePolicy", "e.g. 'llm-encrypted-lab'"),
    ("dev", [("vsphere.datacenter", "")], "vsphere.datacenter", "is empty"),
    ("dev", [("tanzu.controlPlane.vmClass", "Best Effort Large")], "tanzu.controlPlane.vmClass",
     "must be a Kubernetes name"),
    ("dev", [("compliance.allowedRegistries", ["harbor-lab.hospital.example/vllm"])], "compliance.allowedRegistries",
     "the path belongs in the repository"),
]

BROKEN += [
    ("prod", [("audit.signingPublicKey", "MCowBQYDK2VwAyEA3kGsVhadQLtRDEp0a0oT")], "audit.signingPublicKey",
     "is not a PEM public key"),
    ("prod", [("audit.signingPublicKey", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----")],
     "audit.signingPublicKey", "holds a private key"),
]

# Rules across sections: namespaces, groups, extraArgs against the managed flags, weights against the model,
# the vGPU profile against the GPU, and what fits when the node caps tensor parallelism.
CROSS_SECTION = [
    ("dev", [("tanzu.monitoringNamespace", "api-gateway")], "gateway.namespace",
     "must differ from tanzu.monitoringNamespace"),
    ("dev", [("addons.kedaNamespace", "monitoring")], "addons.kedaNamespace", "must differ from tanzu.monitoringNamespace"),
    ("dev", [("tanzu.servingNamespace", "default")], "tanzu.servingNamespace", "belongs to Kubernetes or Tanzu"),
    ("dev", [("addons.kedaNamespace", "kube-system")], "addons.kedaNamespace", "belongs to Kubernetes or Tanzu"),
    ("dev", [("tanzu.gatewayNamespaces", ["api-gateway", "kube-public"])], "tanzu.gatewayNamespaces",
     "belongs to Kubernetes or Tanzu"),
    ("prod", [("tanzu.monitoringNamespace", "velero")], "tanzu.monitoringNamespace", "Velero (backups)"),
    ("prod", [("addons.kedaNamespace", "logging")], "addons.kedaNamespace", "the audit log shipper"),
    ("prod", [("tanzu.gatewayNamespaces", ["api-gateway", "monitoring"])], "tanzu.gatewayNamespaces",
     "lists platform namespaces ['monitoring']"),
    ("prod", [("access.operatorGroup", BREAK_GLASS)], "access.operatorGroup", "is also access.breakGlassGroup"),
    ("prod", [("access.auditorGroup", BREAK_GLASS.upper())], "access.auditorGroup", "is also access.breakGlassGroup"),
    ("prod", [("access.auditorGroup", "sso:llm-platform-operators@hospital.example")], "access.auditorGroup",
     "is also access.operatorGroup"),
    ("prod", [("access.breakGlassGroup", "system:masters")], "access.breakGlassGroup", "Kubernetes built-ins"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--max-model-len=32768"])], f"{LLAMA}.extraArgs", "sets --max-model-len"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--enable-prefix-caching", "--max-model-len", "32768"])], f"{LLAMA}.extraArgs",
     "extraArgs[1] '--max-model-len' sets --max-model-len"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--max_model_len=32768"])], f"{LLAMA}.extraArgs", "(as '--max_model_len')"),
    ("dev", [(f"{LLAMA}.extraArgs", ['--override-generation-config={"max_new_tokens": 4000}'])], f"{LLAMA}.extraArgs",
     "sets --override-generation-config"),
    ("dev", [(f"{LLAMA}.maxTokens", 4096)], f"{LLAMA}.maxTokens", "set at most 4095"),
    ("dev", [(f"{LLAMA}.extraArgs", ["-tp", "2"])], f"{LLAMA}.extraArgs", "sets --tensor-parallel-size (as '-tp')"),
    ("dev", [(f"{LLAMA}.extraArgs", ["-q=awq"])], f"{LLAMA}.extraArgs", "sets --quantization"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--gpu-memory-util=0.95"])], f"{LLAMA}.extraArgs",
     "sets --gpu-memory-utilization (as '--gpu-memory-util')"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--pipeline-parallel-size=2"])], f"{LLAMA}.extraArgs", "set nodesPerReplica"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--distributed-executor-backend", "ray"])], f"{LLAMA}.extraArgs",
     "sets --distributed-executor-backend"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--enable-log-requests"])], f"{LLAMA}.extraArgs", "prompts (ePHI)"),
    ("dev", [(f"{LLAMA}.extraArgs", ["\u2014enable-prefix-caching"])], f"{LLAMA}.extraArgs", "typographic dash"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--max-num-batched-tokens 8192"])], f"{LLAMA}.extraArgs",
     "holds a flag and its value in one item"),
    ("dev", [(f"{LLAMA}.weights.sizeGib", 20)], f"{LLAMA}.weights.sizeGib", "set at least 28 (GiB)"),
    ("dev", [(f"{LLAMA}.architecture", "llama-2-13b")], f"{LLAMA}.weights.sizeGib", "set at least 54 (GiB)"),
    ("dev", [("gpuPool.vgpuProfile", "grid_h100-80c")], "gpuPool.vgpuProfile",
     "belongs to H100-PCIe or H100-SXM, not gpuPool.gpuModel A100-80GB; for a A100-80GB use 'grid_a100-80c'"),
    ("dev", [("gpuPool.gpuModel", "A100-40GB")], "gpuPool.vgpuProfile", "more than a A100-40GB has (40 GB)"),
    ("prod", [("gpuPool.vgpuProfile", "grid_a100-40c"), ("gpuPool.gpusPerNode", 2)], "gpuPool.vgpuProfile",
     "need full-card profiles"),
    ("dev", [("gpuPool.vgpuProfile", "grid_a100-80q")], "gpuPool.vgpuProfile", "C-series (compute)"),
    ("dev", [("gpuPool.vgpuProfile", "GRID_A100-80C")], "gpuPool.vgpuProfile", "lowercase: 'grid_a100-80c'"),
    ("dev", [("gpuPool.vgpuProfile", "grid_a100-10c"), (f"{LLAMA}.architecture", "llama-2-13b"),
             (f"{LLAMA}.weights.sizeGib", 60)], f"{LLAMA}.tensorParallelSize",
     "gives each VM 9.9 of the card's 79.2 GiB (and one vGPU per VM); use the full-card profile 'grid_a100-80c'"),
    ("dev", [("gpuPool.gpuModel", "A10"), ("gpuPool.vgpuProfile", "grid_a10-24c"), (f"{LLAMA}.architecture", "llama-2-70b"),
             (f"{LLAMA}.weights.sizeGib", 300)], f"{LLAMA}.tensorParallelSize",
     "would fit, but gpuPool.gpusPerNode (1) caps tensor parallelism within one node at 1 GPU: raise "
     "gpuPool.gpusPerNode to 8"),
    ("dev", [("gpuPool.gpuModel", "A10"), ("gpuPool.vgpuProfile", "grid_a10-24c"), ("gpuPool.gpusPerNode", 4),
             (f"{LLAMA}.tensorParallelSize", 4), (f"{LLAMA}.architecture", "llama-3.1-70b"),
             (f"{LLAMA}.maxModelLen", 65536), (f"{LLAMA}.weights.sizeGib", 300)], f"{LLAMA}.tensorParallelSize",
     "no layout of the pool (1 node x 4 GPUs) holds it, nor does tensor parallelism up to 8 GPUs in one node VM"),
    ("prod", [("tanzu.podCidr", "10.96.0.0/16")], "tanzu.serviceCidr", "overlaps tanzu.podCidr 10.96.0.0/16"),
    ("prod", [("tanzu.podCidr", "192.168.0.0/28")], "tanzu.podCidr", "each node takes a /24 of the Pod CIDR"),
    ("prod", [("gateway.idpEgressCidrs", ["10.100.0.0/16"])], "gateway.idpEgressCidrs", "lies inside tanzu.serviceCidr"),
    ("prod", [("audit.toolsImage.repository", "ghcr.io/acme/audit-tools")], "audit.toolsImage.repository",
     "mirror it into harbor-a.hospital.example: harbor-a.hospital.example/acme/audit-tools"),
    ("dev", [("tanzu.registry.server", "registry.elsewhere.example")], "tanzu.registry.server",
     "not in compliance.allowedRegistries"),
    ("prod", [("dr.longTermTtlHours", 720)], "dr.longTermTtlHours", "no longer than every backup is kept"),
    ("prod", [(f"{MISTRAL}.trafficShare", 0.7), ("models.llama-2-7b-chat.trafficShare", 0.6)], "models",
     "adds up to 1.3"),
    ("dev", [("gpuPool.gpuModel", "a100-80gb")], "gpuPool.gpuModel", "did you mean 'A100-80GB'?"),
    ("prod", [("compliance.requireImageDigest", False)], "compliance.requireImageDigest", "production pins every image"),
    ("prod", [("dr.enabled", False)], "dr.enabled", "164.308(a)(7)"),
    ("prod", [("observability.enabled", False)], "observability.enabled", "alerting-present"),
    ("prod", [("observability.alertEmail", _DELETE), ("observability.alertWebhook", False)], "observability.alertEmail",
     "production alerts must reach someone"),
    ("prod-standby", [("vsphere.server", "vcenter-a.hospital.example"), ("tanzu.supervisorId", "domain-c2010")],
     "vsphere.server", "is the primary's vCenter (vcenter-a.hospital.example); a production standby is managed by"),
    ("prod-standby", [("vsphere.server", "VCENTER-A.hospital.example."), ("compliance.tier", "non-production"),
                      ("tanzu.supervisorId", "domain-c2010")],
     "vsphere.computeCluster", "a standby needs its own cluster and Supervisor"),
    ("prod-standby", [("audit.s3Url", "https://s3-audit.hospital.example"), ("audit.bucket", "llm-platform-audit")],
     "audit.bucket", "is the primary's audit store"),
    # Production names every network it talks to; only clients may reach the gateway from anywhere.
    ("prod", [("tanzu.apiServerCidrs", _DELETE)], "tanzu.apiServerCidrs",
     "0.0.0.0/0 is any address; production reaches only named networks"),
    ("prod", [("observability.alertEgressCidrs", ["0.0.0.0/0"])], "observability.alertEgressCidrs",
     "the SMTP relay, pager and dead-man's switch addresses"),
    ("prod", [(f"{LLAMA}.downloadEgressCidrs", _DELETE)], f"{LLAMA}.downloadEgressCidrs", "this key is required there"),
    ("prod", [("audit.egressCidrs", ["10.30.0.0/16", "0.0.0.0/0"])], "audit.egressCidrs", "the audit store's addresses"),
    ("prod", [("dr.backupStorage.egressCidrs", ["0.0.0.0/0"])], "dr.backupStorage.egressCidrs", "the backup store's"),
    ("prod", [("gateway.idpEgressCidrs", ["0.0.0.0/0"])], "gateway.idpEgressCidrs", "the identity provider's"),
    ("prod", [("audit.anchor.egressCidrs", ["0.0.0.0/0"])], "audit.anchor.egressCidrs", "the anchor store's"),
    ("prod", [("addons.gpuOperator.licenseServerCidrs", _DELETE)], "addons.gpuOperator.licenseServerCidrs",
     "license themselves at the NVIDIA License System"),
    ("prod", [("audit.anchor", _DELETE)], "audit.anchor", "anchors each day's manifest outside the audit bucket"),
    ("prod", [("audit.anchor.s3Url", "https://s3-audit.hospital.example"), ("audit.anchor.bucket", "llm-platform-audit")],
     "audit.anchor.bucket", "is the audit bucket itself"),
    ("prod", [("audit.signingPublicKey", _DELETE)], "audit.signingPublicKey", "required when audit.enabled"),
    ("prod", [("dr.backupStorage.kmsKeyId", "key-1")], "dr.backupStorage.kmsKeyId", "only with serverSideEncryption aws:kms"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--enable-log-outputs"])], f"{LLAMA}.extraArgs", "completions (ePHI)"),
    ("dev", [(f"{LLAMA}.extraArgs", ["--uvicorn-log-level", "trace"])], f"{LLAMA}.extraArgs", "every request and response"),
]

# Plausible ranges, with the unit and the likely slip in the message.
UNITS = [
    ("dev", [("observability.latencyP95ThresholdSeconds", 2000)], "observability.latencyP95ThresholdSeconds",
     "is in seconds; 2000 is above the plausible maximum of 120 seconds; 2000 looks like milliseconds: did you mean 2?"),
    ("dev", [("catalog", {"gpus": {"B100": {"memoryGib": 180, "bandwidthTbps": 864, "bf16Tflops": 1800}}})],
     "catalog.gpus.B100.bandwidthTbps", "is in TB/s; 864 is above the plausible maximum of 20 TB/s; 864 looks like GB/s"),
    ("prod", [("dr.rpoMinutes", 3600)], "dr.rpoMinutes", "3600 looks like seconds: did you mean 60?"),
    ("prod", [("dr.dnsTtlSeconds", 60000)], "dr.dnsTtlSeconds", "60000 looks like milliseconds: did you mean 60?"),
    ("prod", [("audit.retentionDays", 61320)], "audit.retentionDays", "61320 looks like hours: did you mean 2555?"),
    ("dev", [(f"{LLAMA}.weights.sizeGib", 40960)], f"{LLAMA}.weights.sizeGib", "40960 looks like MiB: did you mean 40?"),
    ("dev", [("gpuPool.nodeMemoryGib", 131072)], "gpuPool.nodeMemoryGib", "131072 looks like MiB: did you mean 128?"),
    ("dev", [(f"{LLAMA}.gpuMemoryUtilization", 90)], f"{LLAMA}.gpuMemoryUtilization",
     "90 looks like a percentage: write 0.9"),
    ("dev", [("cost.itlTargetSeconds", 50)], "cost.itlTargetSeconds", "50 looks like milliseconds: did you mean 0.05?"),
    ("prod", [(f"{MISTRAL}.autoscaling.scaleDownStabilizationSeconds", 7200)],
     f"{MISTRAL}.autoscaling.scaleDownStabilizationSeconds", "the HPA maximum"),
    ("dev", [("catalog", {"models": {"tiny": {"paramsBillion": 7e9, "layers": 32, "hidden": 4096, "attentionHeads": 32,
                                              "kvHeads": 8, "headDim": 128, "maxContext": 8192}}})],
     "catalog.models.tiny.paramsBillion", "looks like a parameter count: did you mean 7?"),
]

# A replica's layout: nodes per replica and tensor parallelism, numbers or `auto`.
LAYOUT = [
    ("dev", [(f"{LLAMA}.nodesPerReplica", "Auto")], f"{LLAMA}.nodesPerReplica", "write auto in lowercase"),
    ("dev", [(f"{LLAMA}.nodesPerReplica", 0)], f"{LLAMA}.nodesPerReplica", "must be from 1 to 16 (nodes), or auto"),
    ("dev", [(f"{LLAMA}.nodesPerReplica", True)], f"{LLAMA}.nodesPerReplica", "YAML read true as a boolean"),
    ("dev", [(f"{LLAMA}.tensorParallelSize", "two")], f"{LLAMA}.tensorParallelSize",
     "must be a whole number of GPUs (1 to 8) or auto"),
    ("dev", [(f"{LLAMA}.nodesPerReplica", 2)], f"{LLAMA}.nodesPerReplica",
     "which need 2 GPU nodes, but the pool has 1 (gpuPool.nodes)"),
    ("prod", [("gpuPool.gpusPerNode", 2), (f"{LLAMA}.tensorParallelSize", 4), (f"{LLAMA}.nodesPerReplica", 3)],
     f"{LLAMA}.nodesPerReplica", "3 nodes x 2 GPUs do not divide into tensor-parallel groups of 4"),
    ("prod", [(f"{LLAMA}.tensorParallelSize", 3), (f"{LLAMA}.nodesPerReplica", "auto")], f"{LLAMA}.tensorParallelSize",
     "must be a power of two dividing the model's 32 attention heads"),
    ("dev", [("gpuPool.interNodeGbps", 100000)], "gpuPool.interNodeGbps", "looks like Mbit/s: did you mean 100?"),
    ("dev", [("addons.lwsNamespace", "keda")], "addons.lwsNamespace", "must differ from addons.kedaNamespace"),
]

BROKEN += FREE_TEXT + CROSS_SECTION + UNITS + LAYOUT


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
    for stack in ("dev", "prod", "prod-standby"):
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


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


PROD_PATHS = sorted(_paths(stack_config("prod")), key=str)
ODD_VALUES = [None, 0, -1, 7, 1e6, 0.5, True, "", " padded", "Upper Case", "10.0.0.0/8", "https://x.example", "latest",
              "default", "monitoring", "x" * 300, "\u201cquoted\u201d", "yes", [], ["x"], [None], {}, {"a": 1},
              {"secure": "v1:AAAA"}, "sha256:" + "0" * 64, float("inf")]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PROD_PATHS), st.sampled_from(ODD_VALUES))
def test_any_value_at_any_key_gives_a_config_error_or_a_config_never_a_crash(path, value):
    raw = copy.deepcopy(stack_config("prod"))
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = copy.deepcopy(value)
    try:
        _parse(raw)
    except ConfigError as error:
        assert error.issues and all(f"  - {issue.path}: " in str(error) for issue in error.issues)


def test_sizing_uses_the_vgpu_profiles_share_of_the_card_not_the_whole_card():
    from components.planning import capacity

    full = capacity.plan(_parse(stack_config("dev"))).models["llama-2-7b-chat"]
    raw = stack_config("dev")
    raw["gpuPool"]["vgpuProfile"] = "grid_a100-40c"
    half = capacity.plan(_parse(raw)).models["llama-2-7b-chat"]
    assert half.fit.budget_gib == pytest.approx(full.fit.budget_gib / 2)
    assert half.fit.kv_tokens < full.fit.kv_tokens / 2, "the weights take the same room out of half the memory"
    assert half.decode_tokens_per_second < full.decode_tokens_per_second, "a time-sliced vGPU shares bandwidth"


@pytest.mark.parametrize("args", [
    ["--enable-prefix-caching"], ["--tokenizer", "/models/tokenizer"], ["--max-num-batched-tokens=8192"],
    ["--max-logprobs", "5"], ["--chat-template", "{% for m in messages %}{{ m }}{% endfor %}"],
    ["--compilation-config.level", "3"], ["-O3"],
])
def test_extra_args_that_leave_the_managed_flags_alone_are_accepted(args):
    raw = stack_config("dev")
    raw["models"]["llama-2-7b-chat"]["extraArgs"] = args
    assert _parse(raw).models["llama-2-7b-chat"].extra_args == tuple(args)
