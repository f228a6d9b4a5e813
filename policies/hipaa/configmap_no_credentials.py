"""No ConfigMap carries a credential: keys, tokens and passwords live in Secrets."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from hipaa._k8s import name_of
from hipaa._rule import Resource, Rule

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
CREDENTIAL_KEY = re.compile(r"(password|passwd|secret|token|api[_-]?key|private[_-]?key|credential)", re.IGNORECASE)
NOT_A_CREDENTIAL_KEY = re.compile(r"(public[_-]?key|[_-](file|path|ref|name|url)$)", re.IGNORECASE)
"""Key names that say where a credential is (a path, a Secret's name), or a public key, not the credential itself."""
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
ASSIGNMENT = re.compile(
    r"(?im)^[ \t\"']*[\w.-]*(password|passwd|secret[_-]?access[_-]?key|secret[_-]?key|api[_-]?key|access[_-]?token|"
    r"client[_-]?secret|bearer)[\w.-]*[\"']?[ \t]*[=:][ \t]*[\"']?(?P<value>[^\s\"'#,}]{8,})")
"""A line that assigns a credential-looking value (INI, YAML, JSON, env files)."""
REFERENCE = re.compile(r"^(\$\{|\$\(|/|file:|env:|secret:)")
"""A value that names where the credential comes from (a variable, a mounted file) rather than holding it."""


def problems_in(data: dict) -> list[str]:
    problems = []
    for key, value in sorted((data or {}).items()):
        text = str(value or "")
        if CREDENTIAL_KEY.search(key) and not NOT_A_CREDENTIAL_KEY.search(key) and text.strip():
            problems.append(f"data.{key} is named like a credential")
        if PRIVATE_KEY.search(text):
            problems.append(f"data.{key} holds a PEM private key")
        for match in ASSIGNMENT.finditer(text):
            if not REFERENCE.match(match.group("value")):
                problems.append(f"data.{key} assigns a literal {match.group(1).lower()}")
                break
    return problems


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != CONFIG_MAP:
        return []
    found = problems_in(resource.props.get("data") or {}) + [
        f"binaryData.{key} is named like a credential" for key in sorted(resource.props.get("binaryData") or {})
        if CREDENTIAL_KEY.search(key) and not NOT_A_CREDENTIAL_KEY.search(key)]
    return [f"ConfigMap {name_of(resource)}: {p}; ConfigMaps are readable by every reader role: put it in a Secret and "
            "mount it" for p in found]


RULE = Rule(
    name="configmap-no-credentials",
    title="No credential in a ConfigMap",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="ConfigMaps hold no credential: no key named like a password, token or key, no PEM private key, no "
    "line assigning a literal password, secret key, API key or access token. Operators and auditors read every "
    "ConfigMap by design, so a credential there reaches everyone who may read the platform's configuration.",
    check=check,
)
