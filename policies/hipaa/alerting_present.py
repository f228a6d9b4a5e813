"""Monitoring alerts on the model endpoints exist, and on backups when DR is on."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

RULE_KIND = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    alerts = {rule.get("alert") for r in resources if r.type == RULE_KIND
              for group in (r.props.get("spec") or {}).get("groups") or [] for rule in group.get("rules") or []}
    needed = set(config["requiredAlerts"]) | (set(config["backupAlerts"]) if config.get("drEnabled") else set())
    missing = sorted(needed - alerts)
    if missing:
        return [("", f"no PrometheusRule defines the alerts {missing}; monitoring must watch the endpoints and backups")]
    return []


RULE = Rule(
    name="alerting-present",
    title="Endpoints and backups are watched",
    citation="164.312(b)",
    severity=Severity.MEDIUM,
    description="The stack defines alert rules for model availability, latency and errors, and for backup age when "
    "disaster recovery is on. Activity that nobody reviews cannot be acted upon.",
    check=check,
    stack=True,
    config={
        "requiredAlerts": {"type": "array", "items": {"type": "string"}, "description": "Alerts that must exist.",
                           "default": ["VllmTargetDown", "VllmNoReadyReplica", "VllmHighP95Latency", "VllmHighErrorRate"]},
        "backupAlerts": {"type": "array", "items": {"type": "string"}, "description": "Alerts required with DR.",
                         "default": ["BackupOlderThanRpo", "BackupFailed"]},
        "drEnabled": {"type": "boolean", "default": False, "description": "Whether the stack promises DR."},
    },
)
