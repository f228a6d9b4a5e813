"""Reading Kubernetes objects as the engine passes them to policies (camelCase props)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hipaa._rule import Resource

POD = "kubernetes:core/v1:Pod"
TEMPLATED = {
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet", "kubernetes:batch/v1:Job",
}
CRONJOB = "kubernetes:batch/v1:CronJob"
LEADER_WORKER_SET = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
"""A LeaderWorkerSet (kubernetes-sigs/lws): its controller makes a StatefulSet of each of its two pod templates."""
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
WORKLOADS = TEMPLATED | {POD, CRONJOB}
NAMESPACE = "kubernetes:core/v1:Namespace"
PSA_MODES = ("enforce", "audit", "warn")
EXCEPTION_REASON = "onprem-llm.io/pod-security-exception"


def pod_spec(resource: Resource) -> dict[str, Any] | None:
    """The pod spec a workload creates (Pod Security admission only judges the Pods, so check templates)."""
    spec = resource.props.get("spec") or {}
    if resource.type == POD:
        return spec
    if resource.type in TEMPLATED:
        return (spec.get("template") or {}).get("spec")
    if resource.type == CRONJOB:
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    return None


def workload_views(resource: Resource) -> list[tuple[str, Resource]]:
    """The resource as the workloads policies judge, each with the prefix its messages get.

    A LeaderWorkerSet is judged as the StatefulSets its controller creates from it: one from the leader
    template (the leaders of every group) and one per group from the worker template, with the set's
    volume claim templates and retention policy. Every other resource is itself.
    """
    if resource.type != LEADER_WORKER_SET:
        return [("", resource)]
    template = (resource.props.get("spec") or {}).get("leaderWorkerTemplate") or {}
    claims = {key: template[key] for key in ("volumeClaimTemplates", "persistentVolumeClaimRetentionPolicy")
              if key in template}
    views = []
    for role in ("leaderTemplate", "workerTemplate"):
        if template.get(role) is None:
            continue
        props = {"metadata": resource.props.get("metadata") or {}, "spec": {"template": template[role], **claims}}
        views.append((f"spec.leaderWorkerTemplate.{role} (a StatefulSet of the controller): ",
                      Resource(STATEFULSET, resource.name, resource.urn, props, resource.protect, resource.provider)))
    return views


def containers(pod: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field path, container) for every container, init container and ephemeral container."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(pod.get(field) or []):
            yield f"{field}[{index}]({container.get('name', '?')})", container


def namespace_of(resource: Resource) -> str | None:
    return (resource.props.get("metadata") or {}).get("namespace")


def chart_of(resource: Resource) -> str:
    """The chart a Release installs: named directly, or by an OCI reference ending in its name (and perhaps
    ``@sha256:...``, the mirror copy's digest)."""
    return str(resource.props.get("chart", "")).split("@", 1)[0].rsplit("/", 1)[-1]


def name_of(resource: Resource) -> str:
    return (resource.props.get("metadata") or {}).get("name") or resource.name


def exempt(resource: Resource, config: dict[str, Any], key: str = "privilegedNamespaces") -> bool:
    return namespace_of(resource) in (config.get(key) or {})
