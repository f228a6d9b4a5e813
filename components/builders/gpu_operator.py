"""Values of the NVIDIA GPU Operator chart for vGPU guests and for passthrough GPUs.

Every image the operator and its operands pull comes from the private registry, under the same
path as upstream (nvcr.io/nvidia/... becomes <registry>/nvidia/...), with the pull secret. The
operator starts its operands from the ClusterPolicy, so each operand's repository is set here
even where it is disabled: a later switch must not reach out to nvcr.io.
"""

from __future__ import annotations

from typing import Any

from components import versions
from components.builders.charts import image_digest, mirrored, pinned_tag
from components.builders.cluster_spec import GPU_TAINT
from components.builders.monitoring import MONITOR_LABELS
from components.config import GpuOperatorConfig
from components.config.model import RegistryConfig

LICENSING_SECRET = "licensing-config"
# gridd.conf for NLS-licensed guests: the client configuration token carries the licence server;
# FeatureType 1 requests an NVIDIA vGPU licence.
GRIDD_CONF = "FeatureType=1\n"

# Upstream repository of each operand, as the pinned chart (artifacts.lock.json) defaults it.
# The offline preview renders the chart and refuses any image outside the allowed registries, so
# a chart bump that moves an image shows up there.
OPERAND_REPOSITORIES = {
    "operator": "nvcr.io/nvidia",
    "validator": "nvcr.io/nvidia",
    "toolkit": "nvcr.io/nvidia/k8s",
    "devicePlugin": "nvcr.io/nvidia",
    "dcgm": "nvcr.io/nvidia/cloud-native",
    "dcgmExporter": "nvcr.io/nvidia/k8s",
    "gfd": "nvcr.io/nvidia",
    "migManager": "nvcr.io/nvidia/cloud-native",
    "nodeStatusExporter": "nvcr.io/nvidia",
    "gds": "nvcr.io/nvidia/cloud-native",
    "gdrcopy": "nvcr.io/nvidia/cloud-native",
    "vgpuDeviceManager": "nvcr.io/nvidia/cloud-native",
    "vfioManager": "nvcr.io/nvidia/cloud-native",
    "sandboxDevicePlugin": "nvcr.io/nvidia",
    "kataSandboxDevicePlugin": "nvcr.io/nvidia/cloud-native",
    "ccManager": "nvcr.io/nvidia/cloud-native",
    "draDriver": "nvcr.io/nvidia",
}
# The image name of each operand, as the pinned chart defaults it (with its repository above: the upstream image).
OPERAND_IMAGES = {
    "operator": "gpu-operator", "validator": "gpu-operator", "toolkit": "container-toolkit",
    "devicePlugin": "k8s-device-plugin", "dcgmExporter": "dcgm-exporter", "gfd": "k8s-device-plugin",
    "migManager": "k8s-mig-manager", "ccManager": "k8s-cc-manager", "sandboxDevicePlugin": "kubevirt-gpu-device-plugin",
    "kataSandboxDevicePlugin": "nvidia-sandbox-device-plugin",
}
DRIVER_MANAGER_REPOSITORY = "nvcr.io/nvidia/cloud-native"
NFD_REPOSITORY = "registry.k8s.io/nfd/node-feature-discovery"
DRIVER_IMAGE = "driver"


def _pinned_version(registry: RegistryConfig, upstream: str) -> dict[str, str]:
    """``version: <tag>@<digest>`` for an operand whose digest the site gave. The chart writes ``repository/image:version``
    for the operator and validator, and the operator composes the others the same way, so the tag stays for readers."""
    image = versions.GPU_OPERATOR.image(upstream)
    digest = image_digest(registry, image)
    return {"version": f"{image.tag}@{digest}"} if digest else {}


def driver_image_key(settings: GpuOperatorConfig, registry: RegistryConfig) -> str:
    """How tanzu.registry.imageDigests names the site's guest driver image (``<path>/driver:<driverVersion>``)."""
    path = settings.driver_repository.removeprefix(f"{registry.server}/")
    return f"{path}/{DRIVER_IMAGE}:{settings.driver_version}"


_SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}
NFD_HARDENING: dict[str, Any] = {
    # The chart's requests and memory limits, with the CPU limits it leaves out. The master and the garbage
    # collector only talk to the API server and write nothing to disk (read-only root), so they run as a UID
    # above the node's own users; the master's container settings also serve the chart's post-delete prune Job.
    # The worker reads the node's /sys, /boot and /usr/lib as the image's user and keeps it.
    "master": {"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "4Gi"}},
               "securityContext": {**_SECCOMP, "runAsUser": 10001, "runAsGroup": 10001}},
    "gc": {"resources": {"requests": {"cpu": "10m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "1Gi"}},
           "podSecurityContext": {**_SECCOMP, "runAsUser": 10001, "runAsGroup": 10001}},
    "worker": {"resources": {"requests": {"cpu": "5m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "512Mi"}},
               "podSecurityContext": _SECCOMP},
}
"""Values of the operator's node-feature-discovery subchart (v26.7.0: charts/node-feature-discovery)."""


def gpu_operator_values(mode: str, settings: GpuOperatorConfig, registry: RegistryConfig,
                        pull_secret: str) -> dict[str, Any]:
    secrets = [pull_secret]
    server = registry.server
    operands: dict[str, Any] = {
        name: {"repository": mirrored(server, upstream), "imagePullSecrets": secrets,
               **(_pinned_version(registry, f"{upstream}/{OPERAND_IMAGES[name]}") if name in OPERAND_IMAGES else {})}
        for name, upstream in OPERAND_REPOSITORIES.items()
    }
    driver_manager = {"repository": mirrored(server, DRIVER_MANAGER_REPOSITORY),
                      **_pinned_version(registry, f"{DRIVER_MANAGER_REPOSITORY}/k8s-driver-manager")}
    # The operator appends the node's OS to a driver tag (570.158.01-ubuntu22.04) but pulls a version that is a digest
    # as it is, so the site's digest replaces the version (the image the driver pods run on the GPU nodes).
    driver_digest = registry.digest_of(driver_image_key(settings, registry))
    driver: dict[str, Any] = {
        "enabled": True,
        "repository": settings.driver_repository,
        "image": DRIVER_IMAGE,
        "version": driver_digest or settings.driver_version,
        "imagePullSecrets": secrets,
        "manager": driver_manager,
    }
    if mode == "vgpu":
        # vGPU guests need the NVIDIA AI Enterprise guest driver, licensed through NLS; the chart
        # mounts the licence from this Secret (driver.licensingConfig.secretName, chart v25.10+).
        driver["licensingConfig"] = {"secretName": LICENSING_SECRET, "nlsEnabled": True}
    return {
        **operands,
        "driver": driver,
        "toolkit": {**operands["toolkit"], "enabled": True},
        "devicePlugin": {**operands["devicePlugin"], "enabled": True},
        "cdi": {"enabled": True},
        "nfd": {"enabled": True},
        "node-feature-discovery": {"image": {"repository": mirrored(server, NFD_REPOSITORY),
                                             **pinned_tag(registry, versions.GPU_OPERATOR.image(NFD_REPOSITORY))},
                                   "imagePullSecrets": [{"name": pull_secret}],
                                   **NFD_HARDENING},
        "gfd": {**operands["gfd"], "enabled": True},
        "dcgmExporter": {**operands["dcgmExporter"], "enabled": True, "serviceMonitor": {
            "enabled": True, "interval": "15s", "additionalLabels": MONITOR_LABELS,
        }},
        # With vGPU the GPU is sliced on the host; MIG inside the guest only applies to passthrough.
        "migManager": {**operands["migManager"], "enabled": mode == "passthrough"},
        # These operands serve KubeVirt hosts, not Kubernetes guests on vSphere.
        "vgpuManager": {"enabled": False, "driverManager": driver_manager},
        "vgpuDeviceManager": {**operands["vgpuDeviceManager"], "enabled": False},
        "vfioManager": {**operands["vfioManager"], "enabled": False, "driverManager": driver_manager},
        "sandboxWorkloads": {"enabled": False},
        "daemonsets": {"tolerations": [{**GPU_TAINT, "operator": "Equal"}]},
    }
