"""Audit logs are shipped to locked storage kept at least six years."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import NAMESPACE, chart_of, name_of
from hipaa._rule import Resource, Rule

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def output_sections(text: str) -> list[dict[str, str]]:
    """Fluent Bit's classic-format [OUTPUT] sections as {lowercased key: value}."""
    sections: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            current = {} if stripped.upper() == "[OUTPUT]" else None
            if current is not None:
                sections.append(current)
        elif current is not None and stripped and not stripped.startswith("#"):
            key, _, value = stripped.partition(" ")
            current[key.lower()] = value.strip()
    return sections


def tls_problems(values: dict) -> list[str]:
    """Every output of the shipper speaks TLS and verifies the store's certificate."""
    problems = []
    for section in output_sections(str(((values.get("config") or {}).get("outputs")) or "")):
        name = section.get("alias") or section.get("name") or "?"
        if section.get("tls", "off").lower() not in ("on", "true", "yes"):
            problems.append(f"output {name} does not set tls On: audit records would cross the network in clear")
        if section.get("tls.verify", "on").lower() in ("off", "false", "no"):
            problems.append(f"output {name} sets tls.verify Off: anyone on the path can pose as the audit store")
        endpoint = section.get("endpoint")
        if endpoint and not endpoint.lower().startswith("https://"):
            problems.append(f"output {name} endpoint {endpoint} is not https://")
    return problems


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    if not config.get("auditRequired"):
        return []
    violations = []
    # Every cluster the stack runs workloads on (its Kubernetes provider creates namespaces) ships its own logs:
    # the standby site too, which serves after a failover.
    clusters = {r.provider: r for r in resources if r.type == NAMESPACE}
    shipped = {r.provider for r in resources if r.type == RELEASE and chart_of(r) == "fluent-bit"}
    declared = {r.provider for r in resources if r.type == CONFIG_MAP and name_of(r) == "audit-retention"}
    for release in (r for r in resources if r.type == RELEASE and chart_of(r) == "fluent-bit"):
        violations += [(release.urn, f"Release {release.name}: {p}") for p in tls_problems(release.props.get("values") or {})]
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
    description="A log shipper sends the API-server audit log and the gateway access log, over TLS that verifies the "
    "store's certificate, to object storage locked in COMPLIANCE mode for at least six years. Audit controls need "
    "records that outlive the nodes and cannot be altered.",
    check=check,
    stack=True,
    config={
        "auditRequired": {"type": "boolean", "default": True, "description": "Whether the stack must ship audit logs."},
        "minimumRetentionDays": {"type": "integer", "default": 2190, "description": "Shortest locked retention."},
    },
)
