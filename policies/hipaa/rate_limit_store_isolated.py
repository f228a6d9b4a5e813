"""Only the rate-limit service reaches the rate-limit store (Redis): nobody else can read or reset the counters."""

from __future__ import annotations

from collections import defaultdict

from pulumi_policy import Severity

from hipaa._k8s import WORKLOADS, name_of, namespace_of
from hipaa._rule import Resource, Rule
from hipaa.model_port_ingress import _names, _pods_within

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _peer_problem(peer: dict, namespace: str, labels: dict[str, str]) -> str | None:
    if "ipBlock" in peer:
        return f"admits addresses {peer['ipBlock'].get('cidr')}"
    if "namespaceSelector" not in peer:
        return "admits pods of the store's own namespace"
    names = _names(peer.get("namespaceSelector"))
    if names is None:
        return "admits every namespace a label selector matches"
    if names != {namespace} or not _pods_within(peer.get("podSelector"), labels):
        return f"admits pods other than the rate-limit service ({namespace} pods labelled {labels})"
    return None


def _default_deny(policy: Resource) -> bool:
    spec = policy.props.get("spec") or {}
    return not (spec.get("podSelector") or {}).get("matchLabels") and not (spec.get("podSelector") or {}).get(
        "matchExpressions") and "Ingress" in (spec.get("policyTypes") or []) and not spec.get("ingress")


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    store_ns, service_ns, labels = config["storeNamespace"], config["rateLimitNamespace"], config["rateLimitLabels"]
    if not store_ns:
        return []
    by_cluster: dict[str, list[Resource]] = defaultdict(list)
    for resource in resources:
        if namespace_of(resource) == store_ns:
            by_cluster[resource.provider].append(resource)
    violations = []
    for in_store in by_cluster.values():
        stores = [r for r in in_store if r.type in WORKLOADS]
        if not stores:
            continue
        policies = [r for r in in_store if r.type == NETWORK_POLICY]
        if not any(_default_deny(p) for p in policies):
            violations.append((stores[0].urn, f"namespace {store_ns} has no default-deny ingress NetworkPolicy: every pod "
                                              "of the cluster reaches the rate-limit store"))
        for policy in policies:
            for index, rule in enumerate((policy.props.get("spec") or {}).get("ingress") or []):
                peers = rule.get("from") or []
                if not peers:
                    violations.append((policy.urn, f"NetworkPolicy {name_of(policy)} ingress[{index}] admits every "
                                                   "source; admit the rate-limit service only"))
                for peer in peers:
                    problem = _peer_problem(peer, service_ns, labels)
                    if problem:
                        violations.append((policy.urn, f"NetworkPolicy {name_of(policy)} ingress[{index}] {problem}: "
                                                       "whoever reaches the store reads or resets every user's "
                                                       "counters"))
    return violations


RULE = Rule(
    name="rate-limit-store-isolated",
    title="Only the rate-limit service reaches the rate-limit store",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="The namespace of the rate-limit store denies ingress by default and admits only the rate-limit "
    "service's pods, by namespace name and pod labels; no address block, no other namespace or pod. Anyone who "
    "reaches the store can reset every user's token counters and so lift the limits that keep one user from "
    "starving the others.",
    check=check,
    stack=True,
    config={
        "storeNamespace": {"type": "string", "default": "", "description": "Namespace of the rate-limit store."},
        "rateLimitNamespace": {"type": "string", "default": "", "description": "Namespace of the rate-limit service."},
        "rateLimitLabels": {"type": "object", "additionalProperties": {"type": "string"}, "default": {},
                            "description": "Pod labels of the rate-limit service."},
    },
)
