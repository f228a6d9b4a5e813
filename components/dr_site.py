"""DrSite: the secondary site, built from the same components on its own providers."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config import AddonsConfig, DrConfig, GpuPoolConfig, TanzuConfig
from components.gpu_host_pool import GpuHostPool, GpuHostPoolArgs
from components.tanzu_cluster import TanzuCluster, TanzuClusterArgs

TYPE = "onprem:platform:DrSite"


@dataclass(frozen=True)
class DrSiteArgs:
    dr: DrConfig
    """DR mode, targets and the secondary site (``dr.secondary`` is set)."""
    pool: GpuPoolConfig
    """The primary pool's GPU shape; the secondary uses the same VM classes with fewer nodes."""
    tanzu: TanzuConfig
    """The primary cluster settings; namespace and cluster name come from ``dr.secondary``."""
    addons: AddonsConfig
    privileged_namespaces: dict[str, str]
    vsphere_password: pulumi.Input[str]
    supervisor_kubeconfig: pulumi.Input[str]
    registry_password: pulumi.Input[str]
    nls_client_token: pulumi.Input[str] | None = None


class DrSite(pulumi.ComponentResource):
    """A standby GPU pool and workload cluster at the secondary site.

    Velero, backup schedules and the standby model endpoints are not built yet (see README "Status").
    """

    host_pool: GpuHostPool
    cluster: TanzuCluster
    mode: str

    def __init__(self, name: str, args: DrSiteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        secondary = args.dr.secondary
        if secondary is None:
            raise ValueError("dr.secondary is required for a DR site; config validation should have refused this stack")
        self.mode = args.dr.mode
        self.host_pool = GpuHostPool(
            f"{name}-pool",
            GpuHostPoolArgs(
                vsphere=secondary.vsphere, pool=args.pool, password=args.vsphere_password,
                gpu_nodes=secondary.gpu_nodes,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        standby_tanzu = args.tanzu.model_copy(update={
            "supervisor_id": secondary.supervisor_id,
            "supervisor_namespace": secondary.supervisor_namespace,
            "cluster_name": secondary.cluster_name,
            "control_plane": args.tanzu.control_plane.model_copy(update={"replicas": 1}),
        })
        self.cluster = TanzuCluster(
            f"{name}-cluster",
            TanzuClusterArgs(
                tanzu=standby_tanzu, addons=args.addons, pool=args.pool, host_pool=self.host_pool,
                privileged_namespaces=args.privileged_namespaces,
                supervisor_kubeconfig=args.supervisor_kubeconfig, registry_password=args.registry_password,
                nls_client_token=args.nls_client_token,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"mode": self.mode, "clusterName": secondary.cluster_name})
