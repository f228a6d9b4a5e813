"""Audit logs are shipped to locked storage kept at least six years."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import NAMESPACE, name_of
from hipaa._rule import Resource, Rule

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    if not config.get("auditRequired"):
        return []
    violations = []
    # Every cluster the stack runs workloads on (its Kubernetes provider creates namespaces) ships its own logs:
    # the standby site too, which serves after a failover.
    clusters = {r.provider: r for r in resources if r.type == NAMESPACE}
    # The chart is named directly, or by an OCI reference ending in its name.
    shipped = {r.provider for r in resources
               if r.type == RELEASE and str(r.props.get("chart", "")).rsplit("/", 1)[-1] == "fluent-bit"}
    declared = {r.provider for r in resources if r.type == CONFIG_MAP and name_of(r) == "audit-retention"}
    for provider, namespace in sorted(clusters.items()):
        if provider not in shipped:
            violations.append((namespace.urn, "no log shipper (fluent-bit release) ships this cluster's API-server "
                                              "audit and gateway access logs"))
        if provider not in declared:
            violations.append((namespace.urn, "no audit-retention ConfigMap declares this cluster's audit store and "
                                              "its Object Lock settings"))
    if not clusters:
        violations.append(("", "no log shipper (fluent-bit release) ships the API-server audit and gateway access logs"))
    retention = [r for r in resources if r.type == CONFIG_MAP and name_of(r) == "audit-retention"]
    minimum = config["minimumRetentionDays"]
    for record in retention:
        data = record.props.get("data") or {}
        if data.get("objectLockMode") != "COMPLIANCE":
            violations.append((record.urn, f"objectLockMode is {data.get('objectLockMode')!r}; use COMPLIANCE"))
        if int(data.get("retentionDays") or 0) < minimum:
            violations.append((record.urn, f"retentionDays {data.get('retentionDays')} is below {minimum} (six years)"))
    return violations


RULE = Rule(
    name="audit-shipping",
    title="Audit logs shipped and locked six years",
    citation="164.312(b)",
    severity=Severity.HIGH,
    description="A log shipper sends the API-server audit log and the gateway access log to object storage locked "
    "in COMPLIANCE mode for at least six years. Audit controls need records that outlive the nodes and cannot be "
    "altered.",
    check=check,
    stack=True,
    config={
        "auditRequired": {"type": "boolean", "default": True, "description": "Whether the stack must ship audit logs."},
        "minimumRetentionDays": {"type": "integer", "default": 2190, "description": "Shortest locked retention."},
    },
)
