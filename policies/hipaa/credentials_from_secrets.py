"""Credentials reach containers from Secrets, never as literal values."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from hipaa._k8s import containers, pod_spec
from hipaa._rule import Resource, Rule

CREDENTIAL_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.IGNORECASE)
CREDENTIAL_FLAGS = ("--api-key", "--password", "--token")
FILE_REFERENCE = re.compile(r"_(FILE|PATH)$")
"""A variable naming the file that holds the credential (HF_TOKEN_PATH, AWS_SHARED_CREDENTIALS_FILE)."""


def _secret_mounts(pod: dict, container: dict) -> list[str]:
    secret_volumes = {v.get("name") for v in pod.get("volumes") or [] if "secret" in v}
    return [m.get("mountPath", "") for m in container.get("volumeMounts") or [] if m.get("name") in secret_volumes]


def _from_secret_file(pod: dict, container: dict, value: str) -> bool:
    return any(value.startswith(mount.rstrip("/") + "/") for mount in _secret_mounts(pod, container) if mount)


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None:
        return []
    problems = []
    for path, container in containers(pod):
        for var in container.get("env") or []:
            if CREDENTIAL_NAME.search(var.get("name", "")) and "value" in var:
                if FILE_REFERENCE.search(var["name"]) and _from_secret_file(pod, container, str(var["value"])):
                    continue  # the path of a file mounted from a Secret: the credential itself is not in the spec
                problems.append(f"{path}.env {var['name']} holds a literal value; use valueFrom.secretKeyRef, or a "
                                "file mounted from a Secret")
        for arg in [*(container.get("args") or []), *(container.get("command") or [])]:
            if str(arg).split("=", 1)[0] in CREDENTIAL_FLAGS:
                problems.append(f"{path} passes {arg.split('=', 1)[0]} on the command line, visible in the pod spec; "
                                "pass it through an environment variable from a Secret")
    return problems


RULE = Rule(
    name="credentials-from-secrets",
    title="Credentials come from Secrets",
    citation="164.312(d)",
    severity=Severity.HIGH,
    description="Environment variables named like credentials (password, token, API key) must come from a Secret "
    "reference or name a file mounted from a Secret, and no credential flag may appear in container "
    "arguments. Literal credentials in pod specs are "
    "readable by anyone who can read the workload.",
    check=check,
)
