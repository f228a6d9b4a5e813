"""The AI gateway's endpoint limits every caller on tokens, counted across replicas."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._gateway import (
    AI_METADATA_NAMESPACE,
    BACKEND_TRAFFIC_POLICY,
    SECURITY_POLICY,
    attached,
    claim_headers,
    is_ai_route,
    parent_gateways,
)
from hipaa._k8s import name_of
from hipaa._rule import Resource, Rule


def _token_rules(policy: Resource, recorded: set[str], identities: set[str]) -> list[dict]:
    """Global rules charging recorded token counts to a header the token's claims set."""
    rate_limit = (policy.props.get("spec") or {}).get("rateLimit") or {}
    found = []
    for rule in (rate_limit.get("global") or {}).get("rules") or []:
        metadata = (((rule.get("cost") or {}).get("response") or {}).get("metadata")) or {}
        if metadata.get("namespace") != AI_METADATA_NAMESPACE or metadata.get("key") not in recorded:
            continue
        headers = {h.get("name", "").lower() for s in rule.get("clientSelectors") or [] for h in s.get("headers") or []
                   if h.get("type") == "Distinct"}
        if headers & identities:
            found.append(rule)
    return found


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    violations = []
    for route in (r for r in resources if is_ai_route(r)):
        recorded = {c.get("metadataKey") for c in (route.props.get("spec") or {}).get("llmRequestCosts") or []}
        if not recorded:
            violations.append((route.urn, f"AIGatewayRoute {name_of(route)} records no token usage "
                                          "(spec.llmRequestCosts), so nothing can limit it on tokens"))
            continue
        for gateway in parent_gateways(route):
            identities = {h for p in attached(resources, SECURITY_POLICY, gateway) for h in claim_headers(p)}
            policies = attached(resources, BACKEND_TRAFFIC_POLICY, gateway)
            if not any(_token_rules(p, recorded, identities) for p in policies):
                violations.append((route.urn, f"AIGatewayRoute {name_of(route)}: Gateway {gateway[3]} has no global "
                                              "rate-limit rule charging recorded tokens (cost.response from metadata "
                                              f"{AI_METADATA_NAMESPACE}) to each caller (a Distinct header set from a "
                                              "JWT claim); one caller could use every GPU"))
    return violations


RULE = Rule(
    name="ai-gateway-token-limited",
    title="The AI gateway endpoint limits callers on tokens",
    citation="164.308(a)(7)",
    severity=Severity.HIGH,
    description="Every AIGatewayRoute records token usage and its Gateway charges it to each caller's identity in a "
    "global (Redis-backed) rate limit. Without it one caller can exhaust the GPUs the clinical services depend on.",
    check=check,
    stack=True,
)
