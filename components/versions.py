"""Every third-party Helm chart the platform installs, pinned in one place.

Bump a version here only after reading the chart's release notes; tests fail on a range or a
missing version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str

    def release_args(self) -> dict[str, Any]:
        """chart, version and repository of a helm.v3.Release of this chart."""
        return {"chart": self.name, "version": self.version,
                "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=self.repository)}


GPU_OPERATOR = Chart("gpu-operator", "v25.3.4", "https://helm.ngc.nvidia.com/nvidia")
KEDA = Chart("keda", "2.20.2", "https://kedacore.github.io/charts")
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "81.6.2", "https://prometheus-community.github.io/helm-charts")
VELERO = Chart("velero", "12.1.0", "https://vmware-tanzu.github.io/helm-charts")
VELERO_IMAGE_TAG = "v1.18.1"
"""Velero server image (the chart's appVersion), pulled from the private registry's mirror."""
VELERO_AWS_PLUGIN_TAG = "v1.14.2"
"""velero-plugin-for-aws line that matches Velero 1.18; speaks to any S3-compatible store."""
ENVOY_GATEWAY = Chart("gateway-helm", "v1.9.0", "envoyproxy")
"""OCI chart, pulled from the private registry's mirror: oci://<registry>/envoyproxy/gateway-helm."""
FLUENT_BIT = Chart("fluent-bit", "0.47.0", "https://fluent.github.io/helm-charts")
"""Chart 0.47.0 ships Fluent Bit 3.1.0, whose S3 output sends Content-MD5 for Object Lock buckets."""
