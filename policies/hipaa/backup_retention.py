"""Backups are kept at least as long as the retention the site requires."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

SCHEDULE = "kubernetes:velero.io/v1:Schedule"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def ttl_hours(ttl: str) -> float | None:
    match = _DURATION.match(ttl or "")
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours + minutes / 60 + seconds / 3600


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != SCHEDULE:
        return []
    ttl = ((resource.props.get("spec") or {}).get("template") or {}).get("ttl")
    hours = ttl_hours(ttl)
    minimum = config["minimumTtlHours"]
    if hours is None:
        return [f"spec.template.ttl {ttl!r} must be set (e.g. 720h0m0s)"]
    if hours < minimum:
        return [f"spec.template.ttl {ttl} keeps backups {hours:g} h, less than the required {minimum} h"]
    return []


RULE = Rule(
    name="backup-retention",
    title="Backups are retained long enough",
    citation="164.316(b)(2)",
    severity=Severity.MEDIUM,
    description="Every Velero Schedule sets a TTL of at least the configured minimum. Backups that expire early "
    "cannot answer for the state of the system when records must be produced.",
    check=check,
    config={"minimumTtlHours": {"type": "integer", "default": 720, "description": "Shortest allowed TTL, hours."}},
)
