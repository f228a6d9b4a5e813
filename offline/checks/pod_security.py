"""Pods against the Pod Security level their namespace enforces, as admission would judge them.

A namespace's level is its `pod-security.kubernetes.io/enforce` label; a namespace without one gets
the cluster's default, which TKr 1.26 and later set to restricted. The restricted and baseline rules
are the policy pack's own (hipaa.pod_security_restricted), so chart pods and the program's pods are
judged alike.
"""

from __future__ import annotations

from typing import Any

from hipaa import pod_security_restricted

from offline.checks.images import is_test_hook, pod_specs

CLUSTER_DEFAULT = "restricted"
ENFORCE = "pod-security.kubernetes.io/enforce"


def namespace_levels(documents: list[dict[str, Any]]) -> dict[str, str]:
    return {
        (d.get("metadata") or {}).get("name"): ((d.get("metadata") or {}).get("labels") or {}).get(ENFORCE, CLUSTER_DEFAULT)
        for d in documents if d.get("apiVersion") == "v1" and d.get("kind") == "Namespace"
    }


def violations(documents: list[dict[str, Any]], levels: dict[str, str], default_namespace: str) -> list[str]:
    """One line per pod template its namespace's level rejects."""
    found = []
    for document in documents:
        if is_test_hook(document):
            continue
        metadata = document.get("metadata") or {}
        namespace = metadata.get("namespace") or default_namespace
        level = levels.get(namespace, CLUSTER_DEFAULT)
        if level == "privileged":
            continue
        for where, pod in pod_specs(document):
            problems = (pod_security_restricted.baseline_problems(pod) if level == "baseline"
                        else pod_security_restricted.restricted_problems(pod))
            for problem in problems:
                found.append(f"{document.get('kind')} {namespace}/{metadata.get('name', '?')}{where} in a {level} "
                             f"namespace: {problem}")
    return found
