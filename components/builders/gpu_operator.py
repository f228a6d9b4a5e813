"""Values of the NVIDIA GPU Operator chart for vGPU guests and for passthrough GPUs.

Every image the operator and its operands pull comes from the private registry, under the same
path as upstream (nvcr.io/nvidia/... becomes <registry>/nvidia/...), with the pull secret. The
operator starts its operands from the ClusterPolicy, so each operand's repository is set here
even where it is disabled: a later switch must not reach out to nvcr.io.
"""

from __future__ import annotations

from typing import Any

from components.builders.charts import mirrored
from components.builders.cluster_spec import GPU_TAINT
from components.builders.monitoring import MONITOR_LABELS
from components.config import GpuOperatorConfig

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
DRIVER_MANAGER_REPOSITORY = "nvcr.io/nvidia/cloud-native"
NFD_REPOSITORY = "registry.k8s.io/nfd/node-feature-discovery"


def gpu_operator_values(mode: str, settings: GpuOperatorConfig, registry: str, pull_secret: str) -> dict[str, Any]:
    secrets = [pull_secret]
    operands: dict[str, Any] = {
        name: {"repository": mirrored(registry, upstream), "imagePullSecrets": secrets}
        for name, upstream in OPERAND_REPOSITORIES.items()
    }
    driver_manager = {"repository": mirrored(registry, DRIVER_MANAGER_REPOSITORY)}
    driver: dict[str, Any] = {
        "enabled": True,
        "repository": settings.driver_repository,
        "image": "driver",
        "version": settings.driver_version,
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
        "node-feature-discovery": {"image": {"repository": mirrored(registry, NFD_REPOSITORY)},
                                   "imagePullSecrets": [{"name": pull_secret}]},
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
