"""Values of the NVIDIA GPU Operator chart for vGPU guests and for passthrough GPUs."""

from __future__ import annotations

from typing import Any

from components.builders.cluster_spec import GPU_TAINT
from components.builders.monitoring import MONITOR_LABELS
from components.config import GpuOperatorConfig

LICENSING_SECRET = "licensing-config"
# gridd.conf for NLS-licensed guests: the client configuration token carries the licence server;
# FeatureType 1 requests an NVIDIA vGPU licence.
GRIDD_CONF = "FeatureType=1\n"


def gpu_operator_values(mode: str, settings: GpuOperatorConfig, pull_secret: str) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "enabled": True,
        "repository": settings.driver_repository,
        "image": "driver",
        "version": settings.driver_version,
        "imagePullSecrets": [pull_secret],
    }
    if mode == "vgpu":
        # vGPU guests need the NVIDIA AI Enterprise guest driver, licensed through NLS.
        driver["licensingConfig"] = {"secretName": LICENSING_SECRET, "nlsEnabled": True}
    return {
        "operator": {"defaultRuntime": "containerd"},
        "driver": driver,
        "toolkit": {"enabled": True},
        "devicePlugin": {"enabled": True},
        "cdi": {"enabled": True},
        "nfd": {"enabled": True},
        "gfd": {"enabled": True},
        "dcgmExporter": {"enabled": True, "serviceMonitor": {
            "enabled": True, "interval": "15s", "additionalLabels": MONITOR_LABELS,
        }},
        # With vGPU the GPU is sliced on the host; MIG inside the guest only applies to passthrough.
        "migManager": {"enabled": mode == "passthrough"},
        # These operands serve KubeVirt hosts, not Kubernetes guests on vSphere.
        "vgpuManager": {"enabled": False},
        "vgpuDeviceManager": {"enabled": False},
        "vfioManager": {"enabled": False},
        "sandboxWorkloads": {"enabled": False},
        "daemonsets": {"tolerations": [{**GPU_TAINT, "operator": "Equal"}]},
    }
