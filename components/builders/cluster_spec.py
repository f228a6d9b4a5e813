"""The workload cluster's specification, for the two APIs a vSphere Supervisor serves.

Kept in one place because VKS releases move these fields (see the README's Tanzu notes); the
builders are pure functions of config and the host pool's class names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import TanzuConfig

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_NODE_LABELS = {"nvidia.com/gpu.present": "true"}
# GPU drivers need the Ubuntu node image; Photon is the TKr default.
UBUNTU_IMAGE = {"run.tanzu.vmware.com/resolve-os-image": "os-name=ubuntu"}


@dataclass(frozen=True)
class NodeShape:
    """What the cluster spec needs from the host pool."""

    gpu_vm_class: pulumi.Input[str]
    system_vm_class: pulumi.Input[str]
    storage_class: str
    gpu_nodes: int
    system_nodes: int
    containerd_disk_gib: int
    kubelet_disk_gib: int


def _gpu_volumes(shape: NodeShape) -> list[dict[str, Any]]:
    return [
        {"name": "containerd", "mountPath": "/var/lib/containerd",
         "capacity": {"storage": f"{shape.containerd_disk_gib}Gi"}, "storageClass": shape.storage_class},
        {"name": "kubelet", "mountPath": "/var/lib/kubelet",
         "capacity": {"storage": f"{shape.kubelet_disk_gib}Gi"}, "storageClass": shape.storage_class},
    ]


def clusterclass_spec(tanzu: TanzuConfig, shape: NodeShape) -> dict[str, Any]:
    """``cluster.x-k8s.io/v1beta1`` Cluster on the Supervisor's ClusterClass."""
    gpu_pool = {
        "class": "node-pool",
        "name": "gpu",
        "replicas": shape.gpu_nodes,
        "metadata": {"annotations": UBUNTU_IMAGE},
        "variables": {"overrides": [
            {"name": "vmClass", "value": shape.gpu_vm_class},
            {"name": "nodePoolLabels", "value": [{"key": k, "value": v} for k, v in GPU_NODE_LABELS.items()]},
            {"name": "nodePoolTaints", "value": [GPU_TAINT]},
            {"name": "nodePoolVolumes", "value": _gpu_volumes(shape)},
        ]},
    }
    system_pool = {
        "class": "node-pool",
        "name": "system",
        "replicas": shape.system_nodes,
        "variables": {"overrides": [{"name": "vmClass", "value": shape.system_vm_class}]},
    }
    variables = [
        {"name": "vmClass", "value": tanzu.control_plane.vm_class or shape.system_vm_class},
        {"name": "storageClass", "value": shape.storage_class},
        {"name": "defaultStorageClass", "value": shape.storage_class},
    ]
    if tanzu.trusted_cas:
        variables.append({"name": "trust", "value": {"additionalTrustedCAs": [
            {"name": name} for name in sorted(tanzu.trusted_cas)
        ]}})
    return {
        "clusterNetwork": {
            "pods": {"cidrBlocks": [tanzu.pod_cidr]},
            "services": {"cidrBlocks": [tanzu.service_cidr]},
            "serviceDomain": "cluster.local",
        },
        "topology": {
            "class": tanzu.cluster_class,
            "version": tanzu.tkr,
            "controlPlane": {"replicas": tanzu.control_plane.replicas},
            "workers": {"machineDeployments": [gpu_pool, system_pool]},
            "variables": variables,
        },
    }


def tkc_spec(tanzu: TanzuConfig, shape: NodeShape) -> dict[str, Any]:
    """``run.tanzu.vmware.com/v1alpha3`` TanzuKubernetesCluster."""
    tkr = {"reference": {"name": tanzu.tkr}}
    network: dict[str, Any] = {
        "cni": {"name": "antrea"},
        "pods": {"cidrBlocks": [tanzu.pod_cidr]},
        "services": {"cidrBlocks": [tanzu.service_cidr]},
        "serviceDomain": "cluster.local",
    }
    if tanzu.trusted_cas:
        network["trust"] = {"additionalTrustedCAs": [
            {"name": name, "data": tanzu.trusted_cas[name]} for name in sorted(tanzu.trusted_cas)
        ]}
    return {
        "topology": {
            "controlPlane": {
                "replicas": tanzu.control_plane.replicas,
                "vmClass": tanzu.control_plane.vm_class or shape.system_vm_class,
                "storageClass": shape.storage_class,
                "tkr": tkr,
            },
            "nodePools": [
                {
                    "name": "gpu",
                    "replicas": shape.gpu_nodes,
                    "vmClass": shape.gpu_vm_class,
                    "storageClass": shape.storage_class,
                    "tkr": tkr,
                    "labels": GPU_NODE_LABELS,
                    "taints": [GPU_TAINT],
                    "volumes": _gpu_volumes(shape),
                },
                {
                    "name": "system",
                    "replicas": shape.system_nodes,
                    "vmClass": shape.system_vm_class,
                    "storageClass": shape.storage_class,
                    "tkr": tkr,
                },
            ],
        },
        "settings": {"storage": {"defaultClass": shape.storage_class}, "network": network},
    }
