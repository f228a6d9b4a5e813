"""Namespaces declare Pod Security restricted, or are a listed, explained exception."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import EXCEPTION_REASON, NAMESPACE, PSA_MODES, name_of
from hipaa._rule import Resource, Rule
from hipaa.pod_security_restricted import BASELINE_NAMESPACES, PRIVILEGED_NAMESPACES


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != NAMESPACE:
        return []
    metadata = resource.props.get("metadata") or {}
    labels, name = metadata.get("labels") or {}, name_of(resource)
    privileged = config.get("privilegedNamespaces") or {}
    baseline = config.get("baselineNamespaces") or {}
    levels = {mode: labels.get(f"pod-security.kubernetes.io/{mode}") for mode in PSA_MODES}
    if name in privileged:
        if not (metadata.get("annotations") or {}).get(EXCEPTION_REASON):
            return [f"namespace {name!r} is a Pod Security exception; annotate it with {EXCEPTION_REASON}: <reason>"]
        return []
    wanted = "baseline" if name in baseline else "restricted"
    problems = []
    missing = [mode for mode, level in levels.items() if level != wanted]
    if missing:
        problems.append(f"namespace {name!r} needs pod-security.kubernetes.io/{{{','.join(missing)}}}={wanted} "
                        f"(found {levels}); privileged is allowed only for namespaces listed in privilegedNamespaces, "
                        "baseline only for those in baselineNamespaces")
    if wanted == "baseline" and not (metadata.get("annotations") or {}).get(EXCEPTION_REASON):
        problems.append(f"namespace {name!r} runs at baseline; annotate it with {EXCEPTION_REASON}: <reason>")
    return problems


RULE = Rule(
    name="namespace-pod-security",
    title="Namespaces enforce, audit and warn at restricted",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="Every namespace carries Pod Security enforce, audit and warn labels at restricted, unless it is on "
    "the exception list and annotated with its reason. Unlabelled namespaces fall back to cluster defaults that "
    "may admit privileged pods next to ePHI.",
    check=check,
    config={"privilegedNamespaces": PRIVILEGED_NAMESPACES, "baselineNamespaces": BASELINE_NAMESPACES},
)
