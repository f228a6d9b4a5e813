"""Stateful resources survive deletes and updates: protected, or retained by their controller."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
LOCATION = "kubernetes:velero.io/v1:BackupStorageLocation"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type in (PVC, LOCATION) and not resource.protect:
        return [f"{resource.name} must be protected (ResourceOptions(protect=True)) so no update or destroy removes it"]
    if resource.type == STATEFULSET and (resource.props.get("spec") or {}).get("volumeClaimTemplates"):
        policy = (resource.props.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        if policy.get("whenDeleted") != "Retain" or policy.get("whenScaled") != "Retain":
            return ["spec.persistentVolumeClaimRetentionPolicy must retain volumes whenDeleted and whenScaled"]
    return []


RULE = Rule(
    name="stateful-protected",
    title="Stateful resources are protected",
    citation="164.308(a)(7)",
    severity=Severity.MEDIUM,
    description="PersistentVolumeClaims and backup storage locations are protected, and StatefulSet volumes are "
    "retained when scaled down or deleted. Losing them by an update would lose data or the path to its backups.",
    check=check,
)
