"""With DR on, every namespace with persistent data is backed up at least once per RPO."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import namespace_of
from hipaa._rule import Resource, Rule

SCHEDULE = "kubernetes:velero.io/v1:Schedule"
LOCATION = "kubernetes:velero.io/v1:BackupStorageLocation"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
NOT_BACKED_UP = "velero.io/exclude-from-backup"


def interval_minutes(cron: str) -> int | None:
    """The interval of the simple schedules this platform writes (*/N minutes, hourly, every N hours)."""
    parts = cron.split()
    if len(parts) != 5 or parts[2:] != ["*", "*", "*"]:
        return None
    minute, hour = parts[:2]
    if minute.startswith("*/") and hour == "*":
        return int(minute[2:])
    if minute.isdigit() and hour == "*":
        return 60
    if minute.isdigit() and hour.startswith("*/"):
        return 60 * int(hour[2:])
    return None


def _stateful_namespaces(resources: list[Resource]) -> dict[str, Resource]:
    found = {}
    for r in resources:
        labels = (r.props.get("metadata") or {}).get("labels") or {}
        if r.type == PVC and labels.get(NOT_BACKED_UP) != "true":
            found.setdefault(namespace_of(r), r)
        if r.type == STATEFULSET:
            templates = (r.props.get("spec") or {}).get("volumeClaimTemplates") or []
            if any(((t.get("metadata") or {}).get("labels") or {}).get(NOT_BACKED_UP) != "true" for t in templates):
                found.setdefault(namespace_of(r), r)
    return found


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    if not config.get("drEnabled"):
        return []
    rpo, violations = config["rpoMinutes"], []
    schedules = [r for r in resources if r.type == SCHEDULE]
    if not any(r.type == LOCATION for r in resources):
        violations.append(("", "DR is enabled but no Velero BackupStorageLocation exists"))
    covered = set()
    for schedule in schedules:
        spec = schedule.props.get("spec") or {}
        minutes = interval_minutes(spec.get("schedule", ""))
        if minutes is None:
            violations.append((schedule.urn, f"spec.schedule {spec.get('schedule')!r} is not an interval this policy can verify"))
            continue
        if (spec.get("useOwnerReferencesInBackup")) is not False:
            violations.append((schedule.urn, "spec.useOwnerReferencesInBackup must be false, "
                                             "or deleting the Schedule deletes its backups"))
        if minutes <= rpo:
            covered |= set((spec.get("template") or {}).get("includedNamespaces") or [])
    if config.get("monitoringNamespace") and config.get("servingNamespace"):
        required = {config["servingNamespace"], config["monitoringNamespace"]}
    else:
        required = set()
    for namespace in sorted(required | set(_stateful_namespaces(resources))):
        if namespace and namespace not in covered:
            violations.append(("", f"namespace {namespace!r} holds state but no Schedule backs it up "
                                   f"every {rpo} minutes or more often"))
    return violations


RULE = Rule(
    name="backup-coverage",
    title="Backups cover every stateful namespace within the RPO",
    citation="164.308(a)(7)",
    severity=Severity.HIGH,
    description="When disaster recovery is on, a backup location exists and every namespace with persistent data "
    "is in a Velero Schedule whose interval is at most the RPO, kept when the Schedule is deleted. The data backup "
    "plan must be able to produce retrievable exact copies.",
    check=check,
    stack=True,
    config={
        "drEnabled": {"type": "boolean", "default": False, "description": "Whether the stack promises DR."},
        "rpoMinutes": {"type": "integer", "default": 60, "description": "Recovery point objective."},
        "servingNamespace": {"type": "string", "default": "", "description": "Namespace of the model endpoints."},
        "monitoringNamespace": {"type": "string", "default": "", "description": "Namespace of monitoring."},
    },
)
