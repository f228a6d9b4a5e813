"""No LoadBalancer or NodePort Service unless allowed and restricted to source ranges."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of, namespace_of
from hipaa._rule import Resource, Rule

SERVICE = "kubernetes:core/v1:Service"


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != SERVICE:
        return []
    spec = resource.props.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind not in ("LoadBalancer", "NodePort"):
        return []
    qualified = f"{namespace_of(resource)}/{name_of(resource)}"
    if qualified not in (config.get("allowedExternalServices") or []):
        return [f"Service {qualified} has spec.type {kind}; use ClusterIP behind the TLS gateway, "
                f"or list it in allowedExternalServices"]
    if kind == "LoadBalancer" and not spec.get("loadBalancerSourceRanges"):
        return [f"Service {qualified} is an allowed LoadBalancer but sets no spec.loadBalancerSourceRanges"]
    return []


RULE = Rule(
    name="no-external-services",
    title="Services stay inside the cluster",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="Services are ClusterIP; a LoadBalancer or NodePort must be on the allow-list and a LoadBalancer "
    "must restrict source ranges. vLLM serves /metrics and admin endpoints without authentication, so a direct "
    "external address exposes them.",
    check=check,
    config={"allowedExternalServices": {"type": "array", "items": {"type": "string"}, "default": [],
                                        "description": "namespace/name of Services allowed outside ClusterIP."}},
)
