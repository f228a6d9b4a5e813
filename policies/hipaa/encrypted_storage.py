"""Volumes and cluster disks use storage classes backed by an encryption storage policy."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"
TKC = "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"


def _class_problem(path: str, storage_class: str | None, allowed: list[str]) -> list[str]:
    if storage_class in allowed:
        return []
    return [f"{path} is {storage_class!r}; use a class on the encryption allow-list {allowed}"]


def check(resource: Resource, config: dict) -> list[str]:
    allowed = config.get("encryptedStorageClasses") or []
    spec = resource.props.get("spec") or {}
    if resource.type == PVC:
        return _class_problem("spec.storageClassName", spec.get("storageClassName"), allowed)
    if resource.type == STATEFULSET:
        return [p for i, template in enumerate(spec.get("volumeClaimTemplates") or [])
                for p in _class_problem(f"spec.volumeClaimTemplates[{i}].spec.storageClassName",
                                        (template.get("spec") or {}).get("storageClassName"), allowed)]
    if resource.type == CLUSTER:
        variables = {v.get("name"): v.get("value") for v in (spec.get("topology") or {}).get("variables") or []}
        problems = [p for key in ("storageClass", "defaultStorageClass")
                    for p in _class_problem(f"spec.topology.variables[{key}]", variables.get(key), allowed)]
        for deployment in ((spec.get("topology") or {}).get("workers") or {}).get("machineDeployments") or []:
            for override in (deployment.get("variables") or {}).get("overrides") or []:
                if override.get("name") == "nodePoolVolumes":
                    for volume in override.get("value") or []:
                        problems += _class_problem(f"nodePool {deployment.get('name')} volume {volume.get('name')}",
                                                   volume.get("storageClass"), allowed)
        return problems
    if resource.type == TKC:
        topology = spec.get("topology") or {}
        pools = [topology.get("controlPlane") or {}] + list(topology.get("nodePools") or [])
        return [p for pool in pools for p in _class_problem(f"{pool.get('name', 'controlPlane')}.storageClass",
                                                            pool.get("storageClass"), allowed)]
    return []


RULE = Rule(
    name="encrypted-storage",
    title="Storage uses encrypted classes",
    citation="164.312(a)(2)(iv)",
    severity=Severity.HIGH,
    description="PersistentVolumeClaims, StatefulSet volume templates and the workload cluster's disks use storage "
    "classes backed by the site's encryption storage policy. Model caches, metrics and backups staged on "
    "unencrypted datastores would leave ePHI readable at rest.",
    check=check,
    config={"encryptedStorageClasses": {"type": "array", "items": {"type": "string"}, "default": [],
                                        "description": "Storage classes backed by an encryption storage policy."}},
)
