"""TanzuCluster: the workload cluster on a vSphere Supervisor and its baseline namespaces."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import _k8s
from components.config import TanzuConfig
from components.gpu_host_pool import GpuHostPool

TYPE = "onprem:platform:TanzuCluster"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_NODE_LABEL = {"nvidia.com/gpu.present": "true"}


@dataclass(frozen=True)
class ClusterCore:
    """What components running on the workload cluster need from it (not the whole cluster)."""

    provider: k8s.Provider
    cluster_name: str
    kubernetes_version: str
    serving_namespace: str
    monitoring_namespace: str
    gateway_namespaces: tuple[str, ...]
    image_pull_secret: str
    storage_class: str


@dataclass(frozen=True)
class TanzuClusterArgs:
    tanzu: TanzuConfig
    """Supervisor namespace, cluster shape, namespaces and registry."""
    host_pool: GpuHostPool
    """The site's GPU host pool: VM classes and storage policy of the nodes."""
    supervisor_kubeconfig: pulumi.Input[str]
    """Kubeconfig scoped to the vSphere Namespace; a Pulumi secret."""
    registry_password: pulumi.Input[str]
    """Password of the registry robot account; a Pulumi secret."""


class TanzuCluster(pulumi.ComponentResource):
    """Creates the workload cluster, reads its kubeconfig into a provider, and lays the namespaces."""

    k8s_provider: k8s.Provider
    """Provider for the workload cluster; every later component deploys with it."""
    kubeconfig: pulumi.Output[str]
    """Admin kubeconfig of the workload cluster (secret)."""
    core: ClusterCore

    def __init__(self, name: str, args: TanzuClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        tanzu, pool = args.tanzu, args.host_pool

        supervisor = k8s.Provider(
            f"{name}-supervisor",
            kubeconfig=args.supervisor_kubeconfig,
            namespace=tanzu.supervisor_namespace,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="cluster.x-k8s.io/v1beta1",
            kind="Cluster",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=tanzu.cluster_name,
                namespace=tanzu.supervisor_namespace,
                labels=_k8s.labels("workload-cluster", tanzu.cluster_name, "cluster"),
                # Later components need a cluster that answers; wait for Cluster API's Ready condition.
                annotations={"pulumi.com/waitFor": "condition=Ready"},
            ),
            spec=cluster_spec(tanzu, pool),
            opts=pulumi.ResourceOptions(parent=self, provider=supervisor),
        )

        # Cluster API stores the admin kubeconfig in "<cluster>-kubeconfig", data key "value".
        kubeconfig_secret = k8s.core.v1.Secret.get(
            f"{name}-kubeconfig",
            f"{tanzu.supervisor_namespace}/{tanzu.cluster_name}-kubeconfig",
            opts=pulumi.ResourceOptions(parent=self, provider=supervisor, depends_on=[cluster]),
        )
        self.kubeconfig = pulumi.Output.secret(
            kubeconfig_secret.data.apply(lambda data: base64.b64decode(data["value"]).decode())
        )
        self.k8s_provider = k8s.Provider(
            f"{name}-workload",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # Kubeconfig rotation must update the provider, not replace every object on it.
            cluster_identifier=f"{tanzu.supervisor_namespace}/{tanzu.cluster_name}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=self.k8s_provider)

        for namespace, component in ((tanzu.serving_namespace, "serving"), (tanzu.monitoring_namespace, "monitoring")):
            self._workload_namespace(name, namespace, component, tanzu.kubernetes_version, on_cluster)

        pull_secret_name = "registry-pull"
        k8s.core.v1.Secret(
            f"{name}-registry-pull",
            metadata=_k8s.metadata(
                pull_secret_name, tanzu.serving_namespace,
                _k8s.labels("registry-pull", tanzu.cluster_name, "credentials"),
            ),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": pulumi.Output.secret(
                pulumi.Output.from_input(args.registry_password).apply(
                    lambda password: _docker_config(tanzu.registry.server, tanzu.registry.username, password)
                )
            )},
            opts=on_cluster,
        )

        self.core = ClusterCore(
            provider=self.k8s_provider,
            cluster_name=tanzu.cluster_name,
            kubernetes_version=tanzu.kubernetes_version,
            serving_namespace=tanzu.serving_namespace,
            monitoring_namespace=tanzu.monitoring_namespace,
            gateway_namespaces=tanzu.gateway_namespaces,
            image_pull_secret=pull_secret_name,
            storage_class=pool.storage_policy_name,
        )
        self.register_outputs({"kubeconfig": self.kubeconfig, "clusterName": tanzu.cluster_name})

    def _workload_namespace(self, name: str, namespace: str, component: str, version: str,
                            opts: pulumi.ResourceOptions) -> None:
        object_labels = _k8s.labels(namespace, name, component)
        ns = k8s.core.v1.Namespace(
            f"{name}-ns-{component}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace, labels={**object_labels, **_k8s.pod_security_labels("restricted", version)}
            ),
            opts=opts,
        )
        in_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns]))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{component}-default-deny",
            metadata=_k8s.metadata("default-deny", namespace, object_labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress", "Egress"]),
            opts=in_ns,
        )
        # DNS is the one egress every pod needs; it falls back to TCP for large answers.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{component}-allow-dns",
            metadata=_k8s.metadata("allow-dns-egress", namespace, object_labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector={},
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        pod_selector={"matchLabels": {"k8s-app": "kube-dns"}},
                    )],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")],
                )],
            ),
            opts=in_ns,
        )


def cluster_spec(tanzu: TanzuConfig, pool: GpuHostPool) -> dict[str, Any]:
    """Cluster API topology of the workload cluster on the Supervisor's default ClusterClass."""
    gpu_pool = {
        "class": "node-pool",
        "name": "gpu",
        "replicas": pool.gpu_nodes,
        # GPU drivers need the Ubuntu node image; Photon is the TKr default.
        "metadata": {"annotations": {"run.tanzu.vmware.com/resolve-os-image": "os-name=ubuntu"}},
        "variables": {"overrides": [
            {"name": "vmClass", "value": pool.gpu_vm_class},
            {"name": "nodePoolLabels", "value": [{"key": k, "value": v} for k, v in GPU_NODE_LABEL.items()]},
            {"name": "nodePoolTaints", "value": [GPU_TAINT]},
            {"name": "nodePoolVolumes", "value": [
                {"name": "containerd", "mountPath": "/var/lib/containerd",
                 "capacity": {"storage": "200Gi"}, "storageClass": pool.storage_policy_name},
                {"name": "kubelet", "mountPath": "/var/lib/kubelet",
                 "capacity": {"storage": "70Gi"}, "storageClass": pool.storage_policy_name},
            ]},
        ]},
    }
    system_pool = {
        "class": "node-pool",
        "name": "system",
        "replicas": 2,
        "variables": {"overrides": [{"name": "vmClass", "value": pool.system_vm_class}]},
    }
    return {
        "clusterNetwork": {
            "pods": {"cidrBlocks": [tanzu.pod_cidr]},
            "services": {"cidrBlocks": [tanzu.service_cidr]},
            "serviceDomain": "cluster.local",
        },
        "topology": {
            "class": "tanzukubernetescluster",
            "version": tanzu.tkr,
            "controlPlane": {"replicas": tanzu.control_plane.replicas},
            "workers": {"machineDeployments": [gpu_pool, system_pool]},
            "variables": [
                {"name": "vmClass", "value": tanzu.control_plane.vm_class},
                {"name": "storageClass", "value": pool.storage_policy_name},
                {"name": "defaultStorageClass", "value": pool.storage_policy_name},
            ],
        },
    }


def _docker_config(server: str, username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: {"username": username, "password": password, "auth": token}}})
