"""Backups hold no Secret and are encrypted: by the store and with a repository key of the site's own."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of, namespace_of
from hipaa._rule import Resource, Rule

LOCATION = "kubernetes:velero.io/v1:BackupStorageLocation"
SCHEDULE = "kubernetes:velero.io/v1:Schedule"
SECRET = "kubernetes:core/v1:Secret"
REPOSITORY_SECRET = "velero-repo-credentials"


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    violations = []
    locations = [r for r in resources if r.type == LOCATION]
    for location in locations:
        settings = (location.props.get("spec") or {}).get("config") or {}
        if settings.get("serverSideEncryption") not in ("AES256", "aws:kms"):
            violations.append((location.urn, f"BackupStorageLocation {name_of(location)} sets no spec.config."
                                              "serverSideEncryption (AES256 or aws:kms): backups lie in the bucket "
                                              "unencrypted"))
        repository = [s for s in resources if s.type == SECRET and s.provider == location.provider
                      and namespace_of(s) == namespace_of(location) and name_of(s) == REPOSITORY_SECRET]
        if not repository:
            violations.append((location.urn, f"no Secret {REPOSITORY_SECRET} beside BackupStorageLocation "
                                              f"{name_of(location)}: Velero encrypts its Kopia repositories with its "
                                              "published default password"))
    for schedule in (r for r in resources if r.type == SCHEDULE):
        template = (schedule.props.get("spec") or {}).get("template") or {}
        included = template.get("includedResources") or []
        if "secrets" not in (template.get("excludedResources") or []) or "secrets" in included:
            violations.append((schedule.urn, f"Schedule {name_of(schedule)} backs up Secrets; add secrets to "
                                              "spec.template.excludedResources (pulumi up recreates them)"))
    return violations


RULE = Rule(
    name="backup-encryption",
    title="Backups encrypted and free of Secrets",
    citation="164.312(a)(2)(iv)",
    severity=Severity.HIGH,
    description="Every backup location asks the store for server-side encryption and has a repository password of "
    "its own, and every Schedule excludes Secrets. A backup bucket otherwise holds every API key and credential of "
    "the namespaces it copies, readable by anyone with the bucket's keys.",
    check=check,
    stack=True,
)
