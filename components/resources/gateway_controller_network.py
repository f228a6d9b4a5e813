"""GatewayControllerNetwork: default-deny in the gateway controller's namespace, then the flows it needs.

The Envoy Gateway controller watches the API server, serves xDS (and Wasm modules) to the proxy pods
of the gateway namespace and its configuration to the rate-limit service, calls the AI gateway's
extension server, answers the API server's calls to its topology-injector webhook, and is scraped by
Prometheus. The rate-limit service beside it answers the proxies and keeps its counters in Redis.
Nothing else reaches either, and they reach nothing else. The namespace belongs to the gateway
component; these policies wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.builders import ai_gateway as ai
from components.builders import k8s as _k8s
from components.builders.gateway_pods import (
    CONTROLLER_METRICS_PORT,
    CONTROLLER_NAMESPACE,
    CONTROLLER_RATE_LIMIT_XDS_PORT,
    CONTROLLER_SELECTOR,
    CONTROLLER_WASM_PORT,
    CONTROLLER_WEBHOOK_PORT,
    CONTROLLER_XDS_PORT,
    GATEWAY_PROXY_SELECTOR,
    RATE_LIMIT_PORT,
    RATE_LIMIT_SELECTOR,
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
        cluster, ns = args.cluster, CONTROLLER_NAMESPACE
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        labels = _k8s.labels(ns, name, "gateway-controller")
        api_server = _k8s.ip_peers(args.api_server_cidrs)
        _k8s.baseline_network_policies(name, ns, labels, on_cluster)
        _k8s.network_policy(f"{name}-api-server-egress", "allow-api-server-egress", ns, labels, on_cluster,
                            egress=[_k8s.to_peers(api_server, 443, 6443)])
        _k8s.network_policy(f"{name}-webhook", "allow-webhook-ingress", ns, labels, on_cluster,
                            ingress=[_k8s.from_peers(api_server, CONTROLLER_WEBHOOK_PORT)])
        proxies = _k8s.pods_peer(args.gateway_namespace, GATEWAY_PROXY_SELECTOR)
        rate_limit = _k8s.pods_peer(ns, RATE_LIMIT_SELECTOR)
        _k8s.network_policy(f"{name}-proxies", "allow-proxy-xds", ns, labels, on_cluster, pods=CONTROLLER_SELECTOR,
                            ingress=[_k8s.from_peers([proxies], CONTROLLER_XDS_PORT, CONTROLLER_WASM_PORT),
                                     _k8s.from_peers([rate_limit], CONTROLLER_RATE_LIMIT_XDS_PORT)])
        _k8s.network_policy(f"{name}-extension", "allow-ai-extension-egress", ns, labels, on_cluster,
                            pods=CONTROLLER_SELECTOR,
                            egress=[_k8s.to_peers([_k8s.namespace_peer(ai.AI_GATEWAY_NAMESPACE)], ai.EXTENSION_PORT)])
        # Without these the rate-limit service fails open: requests are served, and no limit is enforced.
        _k8s.network_policy(f"{name}-rate-limit", "allow-rate-limit", ns, labels, on_cluster, pods=RATE_LIMIT_SELECTOR,
                            ingress=[_k8s.from_peers([proxies], RATE_LIMIT_PORT)],
                            egress=[_k8s.to_peers([_k8s.pods_peer(ns, CONTROLLER_SELECTOR)],
                                                  CONTROLLER_RATE_LIMIT_XDS_PORT),
                                    _k8s.to_peers([_k8s.pods_peer(ai.REDIS_NAMESPACE, ai.REDIS_SELECTOR)],
                                                  ai.REDIS_PORT)])
        _k8s.allow_metrics_scrape(f"{name}-metrics", ns, labels, cluster.monitoring_namespace, CONTROLLER_METRICS_PORT,
                                  on_cluster)
        self.namespace = ns
        self.register_outputs({"namespace": ns})
