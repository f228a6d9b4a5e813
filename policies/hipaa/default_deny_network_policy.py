"""Every namespace the stack creates has a default-deny NetworkPolicy for ingress and egress."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import NAMESPACE, name_of, namespace_of
from hipaa._rule import Resource, Rule

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def is_default_deny(policy: Resource) -> bool:
    spec = policy.props.get("spec") or {}
    selects_all = not (spec.get("podSelector") or {}).get("matchLabels") and not (spec.get("podSelector") or {}).get(
        "matchExpressions")
    return (selects_all and set(spec.get("policyTypes") or []) >= {"Ingress", "Egress"}
            and not spec.get("ingress") and not spec.get("egress"))


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    exempt = config.get("networkPolicyExemptNamespaces") or {}
    # Namespaces of the same name on two clusters differ by provider.
    denied = {(r.provider, namespace_of(r)) for r in resources if r.type == NETWORK_POLICY and is_default_deny(r)}
    violations = []
    for namespace in (r for r in resources if r.type == NAMESPACE):
        name = name_of(namespace)
        if name in exempt:
            continue
        if (namespace.provider, name) not in denied:
            violations.append((namespace.urn, f"namespace {name!r} has no default-deny NetworkPolicy (podSelector {{}}, "
                                              "policyTypes [Ingress, Egress], no rules); add one, then allow flows explicitly"))
    return violations


RULE = Rule(
    name="default-deny-network-policy",
    title="Default-deny networking per namespace",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="Each namespace the stack creates has a NetworkPolicy that denies all ingress and egress, so every "
    "allowed flow is an explicit rule. Without it any pod can reach the model endpoints and their unauthenticated "
    "metrics, and any pod can send ePHI anywhere.",
    check=check,
    stack=True,
    config={"networkPolicyExemptNamespaces": {
        "type": "object", "additionalProperties": {"type": "string"}, "default": {},
        "description": "Namespaces without default-deny, each with the reason.",
    }},
)
