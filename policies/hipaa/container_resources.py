"""Containers declare CPU and memory requests and limits; GPU pods request GPUs."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, pod_spec
from hipaa._rule import Resource, Rule

GPU = "nvidia.com/gpu"


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None:
        return []
    problems = []
    for path, container in containers(pod):
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for amount in ("cpu", "memory"):
                if amount not in (resources.get(kind) or {}):
                    problems.append(f"{path}.resources.{kind}.{amount} must be set")
        if (resources.get("requests") or {}).get(GPU) != (resources.get("limits") or {}).get(GPU):
            problems.append(f"{path}: {GPU} requests and limits must be equal")
    tolerates_gpu = any(t.get("key") == GPU for t in pod.get("tolerations") or [])
    asks_gpu = any(GPU in ((c.get("resources") or {}).get("limits") or {}) for _, c in containers(pod))
    if tolerates_gpu and not asks_gpu:
        problems.append(f"the pod tolerates the GPU taint but no container requests {GPU}; it would hold a GPU node idle")
    return problems


RULE = Rule(
    name="container-resources",
    title="Containers declare requests and limits",
    citation="164.308(a)(7)",
    severity=Severity.MEDIUM,
    description="Every container sets CPU and memory requests and limits, and pods placed on GPU nodes request "
    "nvidia.com/gpu. Unbounded containers starve the model servers that clinical workflows depend on.",
    check=check,
)
