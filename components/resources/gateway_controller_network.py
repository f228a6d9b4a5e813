"""GatewayControllerNetwork: default-deny in the gateway controller's namespace, then the flows it needs.

The Envoy Gateway controller watches the API server, serves xDS (and Wasm modules) to the proxy pods
of the gateway namespace, answers the API server's calls to its topology-injector webhook, and is
scraped by Prometheus. Nothing else reaches it, and it reaches nothing else. The namespace belongs to
the gateway component; these policies wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.builders import k8s as _k8s
from components.builders.gateway_pods import (
    CONTROLLER_METRICS_PORT,
    CONTROLLER_WASM_PORT,
    CONTROLLER_WEBHOOK_PORT,
    CONTROLLER_XDS_PORT,
    GATEWAY_CONTROLLER_NAMESPACE,
    GATEWAY_PROXY_SELECTOR,
)
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:GatewayControllerNetwork"


@dataclass(frozen=True)
class GatewayControllerNetworkArgs:
    cluster: ClusterCore
    gateway_namespace: str
    """Namespace of the proxy pods the controller configures."""
    api_server_cidrs: tuple[str, ...]


class GatewayControllerNetwork(pulumi.ComponentResource):
    namespace: str

    def __init__(self, name: str, args: GatewayControllerNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cluster, ns = args.cluster, GATEWAY_CONTROLLER_NAMESPACE
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        labels = _k8s.labels(ns, name, "gateway-controller")
        api_server = _k8s.ip_peers(args.api_server_cidrs)
        _k8s.baseline_network_policies(name, ns, labels, on_cluster)
        _k8s.network_policy(f"{name}-api-server-egress", "allow-api-server-egress", ns, labels, on_cluster,
                            egress=[_k8s.to_peers(api_server, 443, 6443)])
        _k8s.network_policy(f"{name}-webhook", "allow-webhook-ingress", ns, labels, on_cluster,
                            ingress=[_k8s.from_peers(api_server, CONTROLLER_WEBHOOK_PORT)])
        _k8s.network_policy(f"{name}-proxies", "allow-proxy-xds", ns, labels, on_cluster, ingress=[
            _k8s.from_peers([_k8s.pods_peer(args.gateway_namespace, GATEWAY_PROXY_SELECTOR)],
                            CONTROLLER_XDS_PORT, CONTROLLER_WASM_PORT),
        ])
        _k8s.allow_metrics_scrape(f"{name}-metrics", ns, labels, cluster.monitoring_namespace, CONTROLLER_METRICS_PORT,
                                  on_cluster)
        self.namespace = ns
        self.register_outputs({"namespace": ns})
