"""Shared helpers for the Kubernetes objects the components define."""

from __future__ import annotations

import pulumi_kubernetes as k8s

PART_OF = "onprem-llm"
PSA_LEVELS = ("enforce", "audit", "warn")


def labels(name: str, instance: str, component: str) -> dict[str, str]:
    """The recommended app.kubernetes.io labels every object of the platform carries."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def metadata(name: str, namespace: str | None, object_labels: dict[str, str], **extra) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=object_labels, **extra)


def pod_security_labels(level: str, kubernetes_version: str) -> dict[str, str]:
    """Pod Security Admission labels for all three modes, pinned to the cluster's minor version."""
    result = {}
    for mode in PSA_LEVELS:
        result[f"pod-security.kubernetes.io/{mode}"] = level
        result[f"pod-security.kubernetes.io/{mode}-version"] = f"v{kubernetes_version}"
    return result
