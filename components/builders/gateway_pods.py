"""Who the gateway's pods are: the labels other components' NetworkPolicies select them by.

Envoy Gateway (v1.9, `internal/infrastructure/kubernetes/proxy`) labels every proxy pod it deploys
with `app.kubernetes.io/name: envoy`, `app.kubernetes.io/component: proxy` and
`app.kubernetes.io/managed-by: envoy-gateway`, plus the owning Gateway's name and namespace
(`gateway.envoyproxy.io/owning-gateway-name`, `gateway.envoyproxy.io/owning-gateway-namespace`).
Its global rate-limit service runs in the controller's namespace as `envoy-ratelimit`, labelled
`app.kubernetes.io/component: ratelimit`. A NetworkPolicy that admits the gateway selects the
gateway's namespace by name and these pod labels, so no other pod of that namespace is admitted.
"""

from __future__ import annotations

CONTROLLER_NAMESPACE = "envoy-gateway-system"
"""Envoy Gateway's controller and its global rate-limit service."""
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


def gateway_proxy_selector(gateway_namespace: str) -> dict[str, str]:
    """GATEWAY_PROXY_SELECTOR plus the owning Gateway's namespace label, for selectors that span namespaces."""
    return {**GATEWAY_PROXY_SELECTOR, "gateway.envoyproxy.io/owning-gateway-namespace": gateway_namespace}
