"""ObservabilityStack: Prometheus, Grafana and alerting for the vLLM endpoints and GPUs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config import ObservabilityConfig
from components.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:ObservabilityStack"


@dataclass(frozen=True)
class ObservabilityStackArgs:
    settings: ObservabilityConfig
    cluster: ClusterCore
    served_model_names: tuple[str, ...]
    """Served names of every model, for per-model rules and dashboards."""


class ObservabilityStack(pulumi.ComponentResource):
    """Holds the monitoring namespace's contents.

    Not built yet (see README "Status"): kube-prometheus-stack, rules, dashboards and receivers.
    The monitoring namespace itself, with its Pod Security labels and default-deny policy, is
    created by TanzuCluster.
    """

    namespace: str

    def __init__(self, name: str, args: ObservabilityStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self.namespace = args.cluster.monitoring_namespace
        self.register_outputs({"namespace": self.namespace})
