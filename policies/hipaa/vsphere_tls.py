"""The vSphere provider verifies vCenter's TLS certificate."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

# Provider type -> the setting that turns certificate verification off.
SKIP_VERIFY = {"pulumi:providers:vsphere": "allowUnverifiedSsl", "pulumi:providers:vra": "insecure"}
CLOUD_ACCOUNT = "vra:cloudaccount/vSphere:VSphere"


def check(resource: Resource, config: dict) -> list[str]:
    if config.get("allowUnverifiedSsl"):
        return []
    setting = SKIP_VERIFY.get(resource.type)
    # Bridged providers receive their settings as JSON strings.
    if setting and str(resource.props.get(setting, "false")).lower() == "true":
        return [f"provider {resource.name}: {setting} must be false; trust the server's CA instead"]
    if resource.type == CLOUD_ACCOUNT and resource.props.get("acceptSelfSignedCert"):
        return [f"cloud account {resource.name}: acceptSelfSignedCert must be false; trust the vCenter CA instead"]
    return []


RULE = Rule(
    name="vsphere-tls",
    title="vCenter connections verify TLS",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="The vSphere and Aria providers, and Aria's vSphere cloud account, must not skip certificate "
    "verification. The automation account's credentials cross those connections, and an unverified peer could "
    "capture them.",
    check=check,
    config={"allowUnverifiedSsl": {"type": "boolean", "default": False,
                                   "description": "Permit unverified TLS (never in production)."}},
)
