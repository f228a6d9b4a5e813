"""The vSphere provider verifies vCenter's TLS certificate."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

PROVIDER = "pulumi:providers:vsphere"


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != PROVIDER or config.get("allowUnverifiedSsl"):
        return []
    # Bridged providers receive their settings as JSON strings.
    if str(resource.props.get("allowUnverifiedSsl", "false")).lower() == "true":
        return [f"provider {resource.name}: allowUnverifiedSsl must be false; trust the vCenter CA instead"]
    return []


RULE = Rule(
    name="vsphere-tls",
    title="vCenter connections verify TLS",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="The vSphere provider must not skip certificate verification. The automation account's password "
    "crosses that connection, and an unverified peer could capture it.",
    check=check,
    config={"allowUnverifiedSsl": {"type": "boolean", "default": False,
                                   "description": "Permit unverified TLS (never in production)."}},
)
