"""Reading Envoy Gateway and Envoy AI Gateway objects as policies see them."""

from __future__ import annotations

from typing import Any

from hipaa._k8s import namespace_of
from hipaa._rule import Resource

SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
CLIENT_TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"
BACKEND_TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
AI_ROUTE_PREFIX = "kubernetes:aigateway.envoyproxy.io/"
AI_METADATA_NAMESPACE = "io.envoy.ai_gateway"
MODEL_HEADER = "x-ai-eg-model"


def is_ai_route(resource: Resource) -> bool:
    return resource.type.startswith(AI_ROUTE_PREFIX) and resource.type.endswith(":AIGatewayRoute")


def targets(policy: Resource) -> list[tuple[str, str, str | None, str]]:
    """(provider, namespace, kind, name) of what a policy attaches to."""
    spec = policy.props.get("spec") or {}
    refs = [*(spec.get("targetRefs") or []), *([spec["targetRef"]] if spec.get("targetRef") else [])]
    return [(policy.provider, namespace_of(policy) or "", ref.get("kind"), ref.get("name")) for ref in refs]


def parent_gateways(route: Resource) -> list[tuple[str, str, str | None, str]]:
    ns = namespace_of(route) or ""
    return [(route.provider, p.get("namespace") or ns, "Gateway", p.get("name"))
            for p in (route.props.get("spec") or {}).get("parentRefs") or []]


def attached(resources: list[Resource], kind: str, gateway: tuple) -> list[Resource]:
    return [r for r in resources if r.type == kind and gateway in targets(r)]


def jwt_providers(policy: Resource) -> list[dict[str, Any]]:
    return ((policy.props.get("spec") or {}).get("jwt") or {}).get("providers") or []


def claim_headers(policy: Resource) -> dict[str, str]:
    """Header name (lowercase) -> the claim a JWT provider of the policy copies into it."""
    return {c.get("header", "").lower(): c.get("claim", "") for p in jwt_providers(policy) for c in p.get("claimToHeaders") or []}
