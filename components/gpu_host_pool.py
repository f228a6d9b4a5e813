"""GpuHostPool: the vSphere side of the GPU hosts of one site."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vsphere as vsphere

from components.config import GpuPoolConfig, VsphereConfig

TYPE = "onprem:platform:GpuHostPool"


@dataclass(frozen=True)
class GpuHostPoolArgs:
    vsphere: VsphereConfig
    """vCenter connection and the inventory names to look up."""
    pool: GpuPoolConfig
    """GPU node count, GPU model, attachment mode and VM sizing."""
    password: pulumi.Input[str]
    """Password of ``vsphere.user``; a Pulumi secret."""
    gpu_nodes: int | None = None
    """Override of ``pool.nodes`` (a smaller secondary site). Default: ``pool.nodes``."""


class GpuHostPool(pulumi.ComponentResource):
    """Looks up the site's vCenter inventory and creates the GPU resource pool, tags and VM classes."""

    provider: vsphere.Provider
    """Explicit provider for this vCenter; every vSphere child uses it."""
    datacenter_id: pulumi.Output[str]
    datastore_id: pulumi.Output[str]
    network_id: pulumi.Output[str]
    """Port group of the workload network."""
    resource_pool_id: pulumi.Output[str]
    storage_policy_id: pulumi.Output[str]
    """Id of the encryption storage policy the cluster's volumes are placed with."""
    storage_policy_name: str
    gpu_vm_class: pulumi.Output[str]
    """VM class of GPU workers (full memory reservation; vGPU devices in vgpu mode)."""
    system_vm_class: pulumi.Output[str]
    """CPU-only VM class for system nodes."""
    gpu_nodes: int
    gpus_per_node: int

    def __init__(self, name: str, args: GpuHostPoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        site, pool = args.vsphere, args.pool
        self.gpu_nodes = args.gpu_nodes or pool.nodes
        self.gpus_per_node = pool.gpus_per_node

        self.provider = vsphere.Provider(
            f"{name}-vsphere",
            vsphere_server=site.server,
            user=site.user,
            password=args.password,
            allow_unverified_ssl=site.allow_unverified_ssl,
            opts=pulumi.ResourceOptions(parent=self),
        )
        invoke = pulumi.InvokeOptions(provider=self.provider, parent=self)
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)

        datacenter = vsphere.get_datacenter_output(name=site.datacenter, opts=invoke)
        cluster = vsphere.get_compute_cluster_output(
            name=site.compute_cluster, datacenter_id=datacenter.id, opts=invoke
        )
        datastore = vsphere.get_datastore_output(name=site.datastore, datacenter_id=datacenter.id, opts=invoke)
        network = vsphere.get_network_output(name=site.workload_network, datacenter_id=datacenter.id, opts=invoke)
        policy = vsphere.get_policy_output(name=site.storage_policy, opts=invoke)

        resource_pool = vsphere.ResourcePool(
            f"{name}-gpu",
            name=f"{name}-llm-gpu",
            parent_resource_pool_id=cluster.resource_pool_id,
            cpu_reservation=pool.resource_pool.cpu_reservation_mhz,
            memory_reservation=pool.resource_pool.memory_reservation_mib,
            cpu_expandable=True,
            memory_expandable=True,
            opts=child,
        )

        gpu_class = vsphere.VirtualMachineClass(
            f"{name}-gpu-class",
            name=_gpu_class_name(pool),
            cpus=pool.node_cpus,
            memory=pool.node_memory_gib * 1024,
            # vGPU and passthrough both need the VM's memory fully reserved.
            memory_reservation=100,
            vgpu_devices=[pool.vgpu_profile] * pool.gpus_per_node if pool.mode == "vgpu" else None,
            opts=child,
        )
        system_class = vsphere.VirtualMachineClass(
            f"{name}-system-class",
            name="llm-system-8cpu-32gb",
            cpus=8,
            memory=32 * 1024,
            opts=child,
        )

        self.datacenter_id = datacenter.id
        self.datastore_id = datastore.id
        self.network_id = network.id
        self.resource_pool_id = resource_pool.id
        self.storage_policy_id = policy.id
        self.storage_policy_name = site.storage_policy
        self.gpu_vm_class = gpu_class.name
        self.system_vm_class = system_class.name
        self.register_outputs({
            "datacenterId": self.datacenter_id,
            "datastoreId": self.datastore_id,
            "networkId": self.network_id,
            "resourcePoolId": self.resource_pool_id,
            "storagePolicyId": self.storage_policy_id,
            "gpuVmClass": self.gpu_vm_class,
            "systemVmClass": self.system_vm_class,
        })


def _gpu_class_name(pool: GpuPoolConfig) -> str:
    attach = pool.vgpu_profile.replace("_", "-") if pool.mode == "vgpu" else "passthrough"
    return f"llm-gpu-{attach}-{pool.gpus_per_node}x-{pool.node_cpus}cpu-{pool.node_memory_gib}gb".lower()
