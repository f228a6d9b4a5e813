"""Who the gateway's pods are: the labels and ports other components' NetworkPolicies select them by.

Envoy Gateway (v1.9, `internal/infrastructure/kubernetes/proxy`) labels every proxy pod it deploys
with `app.kubernetes.io/name: envoy`, `app.kubernetes.io/component: proxy` and
`app.kubernetes.io/managed-by: envoy-gateway`, plus the owning Gateway's name and namespace
(`gateway.envoyproxy.io/owning-gateway-name`, `gateway.envoyproxy.io/owning-gateway-namespace`);
with `deploy.type: GatewayNamespace` those pods run in the Gateway's own namespace. Its global
rate-limit service runs in the controller's namespace as `envoy-ratelimit`. Labels alone can be set
by anyone who creates pods, so a NetworkPolicy that admits the gateway pairs these pod labels with
the gateway namespace's immutable name label: no other pod of that namespace is admitted.
"""

from __future__ import annotations

CONTROLLER_NAMESPACE = "envoy-gateway-system"
"""Envoy Gateway's controller and its global rate-limit service (the Release's namespace)."""
GATEWAY_NAME = "llm-gateway"
"""The one Gateway the platform defines; its proxies carry it as owning-gateway-name."""

GATEWAY_PROXY_SELECTOR: dict[str, str] = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
}
"""Pod labels of the gateway's Envoy proxies (match them together with the gateway namespace)."""

RATE_LIMIT_SELECTOR: dict[str, str] = {
    "app.kubernetes.io/name": "envoy-ratelimit",
    "app.kubernetes.io/component": "ratelimit",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
"""Pod labels of Envoy Gateway's global rate-limit service in CONTROLLER_NAMESPACE."""

PROXY_PORT = 10443
"""Container port Envoy listens on behind the Gateway Service's 443."""
PROXY_METRICS_PORT = 19001
"""Envoy's own Prometheus stats."""
EXTPROC_METRICS_PORT = 1064
"""The AI gateway external processor's metrics (token usage) in every proxy pod."""
RATE_LIMIT_PORT = 8081
"""gRPC port of the rate-limit service the proxies call."""
CONTROLLER_SELECTOR: dict[str, str] = {"control-plane": "envoy-gateway"}
"""Pod label of the Envoy Gateway controller (chart gateway-helm v1.9)."""
CONTROLLER_XDS_PORT = 18000
CONTROLLER_RATE_LIMIT_XDS_PORT = 18001
CONTROLLER_WASM_PORT = 18002
CONTROLLER_METRICS_PORT = 19001
CONTROLLER_WEBHOOK_PORT = 9443
"""The controller's ports (chart gateway-helm v1.9): xDS and Wasm for the proxies, the rate-limit service's
configuration, metrics, the topology webhook. The rate-limit pods serve their metrics on 19001 too."""


def gateway_proxy_selector(gateway_namespace: str) -> dict[str, str]:
    """GATEWAY_PROXY_SELECTOR plus the owning Gateway's namespace label, for selectors that span namespaces."""
    return {**GATEWAY_PROXY_SELECTOR, "gateway.envoyproxy.io/owning-gateway-namespace": gateway_namespace}

