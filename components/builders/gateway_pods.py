"""Which pods are the gateway's proxies: the one label set the model port admits and the gateway runs with.

Envoy Gateway labels every proxy pod it deploys for a Gateway with `app.kubernetes.io/name: envoy` and
the owning Gateway's name and namespace (`gateway.envoyproxy.io/owning-gateway-name`,
`gateway.envoyproxy.io/owning-gateway-namespace`); with `deploy.type: GatewayNamespace` those pods
run in the Gateway's own namespace. Labels alone can be set by anyone who creates pods, so the model
port's NetworkPolicy pairs this pod selector with the gateway namespace's immutable name label.
Both the gateway component and the model endpoints read these names from here.
"""

from __future__ import annotations

GATEWAY_NAME = "llm-gateway"
"""Name of the Gateway object whose proxies front the models."""

GATEWAY_PROXY_SELECTOR: dict[str, str] = {
    "app.kubernetes.io/name": "envoy",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
}
"""Labels every proxy pod of the gateway carries, whatever namespace it runs in."""


def gateway_proxy_labels(gateway_namespace: str) -> dict[str, str]:
    """The proxy pods of the gateway in ``gateway_namespace``: the selector plus the owning namespace."""
    return {**GATEWAY_PROXY_SELECTOR, "gateway.envoyproxy.io/owning-gateway-namespace": gateway_namespace}

GATEWAY_CONTROLLER_NAMESPACE = "envoy-gateway-system"
"""Where the Envoy Gateway controller runs (the Release's namespace)."""
CONTROLLER_XDS_PORT = 18000
CONTROLLER_WASM_PORT = 18002
CONTROLLER_METRICS_PORT = 19001
CONTROLLER_WEBHOOK_PORT = 9443
"""The controller's ports (chart gateway-helm v1.9): xDS and Wasm for the proxies, metrics, the topology webhook."""
