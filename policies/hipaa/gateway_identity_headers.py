"""Headers the gateway derives from the token are stripped from client requests before the JWT filter sets them."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._gateway import (
    CLIENT_TRAFFIC_POLICY,
    MODEL_HEADER,
    SECURITY_POLICY,
    attached,
    claim_headers,
    is_ai_route,
    parent_gateways,
    targets,
)
from hipaa._rule import Resource, Rule


def _stripped(policies: list[Resource]) -> tuple[set[str], list[dict]]:
    names, matchers = set(), []
    for policy in policies:
        early = (((policy.props.get("spec") or {}).get("headers") or {}).get("earlyRequestHeaders") or {})
        names |= {h.lower() for h in early.get("remove") or []}
        matchers += early.get("removeOnMatch") or []
    return names, matchers


def _removed(header: str, names: set[str], matchers: list[dict]) -> bool:
    if header in names:
        return True
    for matcher in matchers:
        value, kind = (matcher.get("value") or "").lower(), matcher.get("type", "Exact")
        if (kind == "Exact" and header == value) or (kind == "Prefix" and header.startswith(value)) \
                or (kind == "Suffix" and header.endswith(value)):
            return True
    return False


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    violations = []
    ai_gateways = {g for r in resources if is_ai_route(r) for g in parent_gateways(r)}
    for policy in (r for r in resources if r.type == SECURITY_POLICY):
        headers = claim_headers(policy)
        for gateway in targets(policy):
            wanted = set(headers) | ({MODEL_HEADER} if gateway in ai_gateways else set())
            names, matchers = _stripped(attached(resources, CLIENT_TRAFFIC_POLICY, gateway))
            missing = sorted(h for h in wanted if not _removed(h, names, matchers))
            if missing:
                violations.append((policy.urn, f"{gateway[2]} {gateway[3]}: client-sent {missing} reach the filters; "
                                               "a ClientTrafficPolicy on it must list them in spec.headers."
                                               "earlyRequestHeaders.remove (or removeOnMatch), or a caller can put "
                                               "another person's identity into the access log and rate limits"))
    return violations


RULE = Rule(
    name="gateway-identity-headers-stripped",
    title="Identity headers come from the token only",
    citation="164.312(b)",
    severity=Severity.CRITICAL,
    description="Every header the gateway copies from a token claim (and the AI gateway's model header) is removed "
    "from client requests before any filter runs, so only the JWT filter sets it. Otherwise a caller forges the "
    "identity the access log records and the rate limits key on.",
    check=check,
    stack=True,
)
