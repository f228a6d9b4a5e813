"""Gateway listeners use TLS, every route requires a JWT, and only the OpenAI API paths are routed."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of, namespace_of
from hipaa._rule import Resource, Rule

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"


def _authenticated(resources: list[Resource]) -> set[tuple[str, str, str, str]]:
    """(provider, namespace, kind, name) of every Gateway or HTTPRoute a JWT SecurityPolicy targets."""
    covered = set()
    for policy in (r for r in resources if r.type == SECURITY_POLICY):
        spec = policy.props.get("spec") or {}
        if not ((spec.get("jwt") or {}).get("providers")) or (spec.get("jwt") or {}).get("optional"):
            continue
        for ref in [*(spec.get("targetRefs") or []), *([spec["targetRef"]] if spec.get("targetRef") else [])]:
            covered.add((policy.provider, namespace_of(policy), ref.get("kind"), ref.get("name")))
    return covered


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    violations, allowed = [], config["allowedPaths"]
    covered = _authenticated(resources)
    for gateway in (r for r in resources if r.type == GATEWAY):
        for listener in (gateway.props.get("spec") or {}).get("listeners") or []:
            if listener.get("protocol") != "HTTPS" or not ((listener.get("tls") or {}).get("certificateRefs")):
                violations.append((gateway.urn, f"listener {listener.get('name')} must be HTTPS with a certificate"))
    for route in (r for r in resources if r.type == ROUTE):
        spec, ns = route.props.get("spec") or {}, namespace_of(route)
        parents = spec.get("parentRefs") or []
        if (route.provider, ns, "HTTPRoute", name_of(route)) not in covered and not all(
                (route.provider, p.get("namespace", ns), "Gateway", p.get("name")) in covered for p in parents):
            violations.append((route.urn, f"HTTPRoute {name_of(route)} is not covered by a SecurityPolicy requiring a JWT"))
        for rule in spec.get("rules") or []:
            for match in rule.get("matches") or [{}]:
                path = match.get("path") or {"type": "PathPrefix", "value": "/"}
                if path.get("type") != "Exact" or not any(path.get("value", "").endswith(p) for p in allowed):
                    violations.append((route.urn, f"HTTPRoute {name_of(route)} routes {path}; only exact OpenAI API "
                                                  f"paths {allowed} may be exposed"))
    return violations


RULE = Rule(
    name="gateway-authentication",
    title="Gateway routes require authentication and TLS",
    citation="164.312(d)",
    severity=Severity.CRITICAL,
    description="Every gateway listener terminates TLS, every route is covered by a SecurityPolicy that requires a "
    "JWT from the identity provider, and routes match only the OpenAI API paths. Without it a caller reaches the "
    "models, or their unauthenticated metrics and admin endpoints, without being identified.",
    check=check,
    stack=True,
    config={"allowedPaths": {"type": "array", "items": {"type": "string"},
                             "default": ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"],
                             "description": "Upstream API paths routes may expose."}},
)
