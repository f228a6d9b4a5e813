"""Production opens no path to or from any address, except clients reaching the gateway."""

from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from hipaa._k8s import name_of, namespace_of
from hipaa._rule import Resource, Rule

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _anywhere(peer: dict) -> str | None:
    cidr = (peer.get("ipBlock") or {}).get("cidr")
    try:
        return cidr if cidr and ipaddress.ip_network(cidr, strict=False).prefixlen == 0 else None
    except ValueError:
        return None


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    if not config.get("production"):
        return []
    violations = []
    for policy in (r for r in resources if r.type == NETWORK_POLICY):
        spec = policy.props.get("spec") or {}
        clients = namespace_of(policy) == config["gatewayNamespace"]
        for direction, key in (("egress", "to"), ("ingress", "from")):
            for rule in spec.get(direction) or []:
                for peer in rule.get(key) or []:
                    cidr = _anywhere(peer)
                    if cidr is None or (direction == "ingress" and clients):
                        continue
                    violations.append((policy.urn, f"NetworkPolicy {namespace_of(policy)}/{name_of(policy)} opens "
                                                   f"{direction} {'to' if key == 'to' else 'from'} {cidr}; production "
                                                   "names the networks it talks to (the config key behind it is "
                                                   "required there)"))
    return violations


RULE = Rule(
    name="no-open-network",
    title="No 0.0.0.0/0 in production",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="In production no NetworkPolicy opens egress or ingress to any address; the only exception is "
    "ingress from clients to the gateway. An egress rule to anywhere lets any compromised pod send prompts or keys "
    "off the site, and an ingress rule from anywhere exposes a webhook or an API to the whole network.",
    check=check,
    stack=True,
    config={
        "production": {"type": "boolean", "default": True, "description": "Whether the stack is production."},
        "gatewayNamespace": {"type": "string", "default": "api-gateway",
                             "description": "Namespace whose ingress from clients may be open."},
    },
)
