"""Every Ingress host is served over TLS."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of
from hipaa._rule import Resource, Rule

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != INGRESS:
        return []
    spec = resource.props.get("spec") or {}
    covered = {host for tls in spec.get("tls") or [] if tls.get("secretName") for host in tls.get("hosts") or []}
    hosts = [rule.get("host") for rule in spec.get("rules") or []]
    problems = [f"Ingress {name_of(resource)} rule host {host!r} has no spec.tls entry with a secretName"
                for host in hosts if host not in covered]
    if not hosts:
        problems.append(f"Ingress {name_of(resource)} must name its hosts and cover them with spec.tls")
    return problems


RULE = Rule(
    name="ingress-tls",
    title="Ingress only with TLS",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="Each Ingress rule's host is covered by a spec.tls entry with a certificate Secret. Prompts and "
    "completions are ePHI and must not cross the network in plain text.",
    check=check,
)
