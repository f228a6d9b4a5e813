"""GpuHostPool: the vSphere side of the GPU hosts of one site."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vsphere as vsphere

from components.config import GpuPoolConfig, VsphereConfig
from components.resources.namespace_access import VcenterConnection

TYPE = "onprem:platform:GpuHostPool"
PLATFORM_TAG = "llm-platform"


@dataclass(frozen=True)
class GpuHostPoolArgs:
    vsphere: VsphereConfig
    """vCenter connection and the inventory names to look up."""
    pool: GpuPoolConfig
    """GPU node count, GPU model, attachment mode and VM sizing."""
    password: pulumi.Input[str]
    """Password of ``vsphere.user``; a Pulumi secret."""
    gpu_nodes: int | None = None
    """Override of ``pool.nodes`` (a standby keeping fewer until failover). Default: ``pool.nodes``."""
    trust_bundle: str | None = None
    """The site's CA certificates (PEM) that vCenter's certificate chains to. Default: the system's CAs."""


class GpuHostPool(pulumi.ComponentResource):
    """Looks up the site's vCenter inventory and creates the GPU resource pool, tags and VM classes."""

    provider: vsphere.Provider
    """Explicit provider for this vCenter; every vSphere child uses it."""
    vcenter: VcenterConnection
    """The same vCenter for calls pulumi-vsphere has no resource for (the vSphere Namespace's access list)."""
    datacenter_id: pulumi.Output[str]
    compute_cluster_id: pulumi.Output[str]
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
    mode: str
    """``vgpu`` or ``passthrough``."""
    resource_pool_name: str
    role_tag_category: str
    """vSphere tag category marking platform roles; its tags are ``role_tags``."""
    role_tags: tuple[str, ...]
    platform_tag: str
    """The role tag on the platform's own vSphere objects (the GPU resource pool)."""
    vgpu_profile: str | None

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
        self.vcenter = VcenterConnection(server=site.server, user=site.user, password=args.password,
                                         allow_unverified_ssl=site.allow_unverified_ssl, ca_bundle=args.trust_bundle)
        invoke = pulumi.InvokeOptions(provider=self.provider, parent=self)
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)

        datacenter = vsphere.get_datacenter_output(name=site.datacenter, opts=invoke)
        cluster = vsphere.get_compute_cluster_output(
            name=site.compute_cluster, datacenter_id=datacenter.id, opts=invoke
        )
        datastore = vsphere.get_datastore_output(name=site.datastore, datacenter_id=datacenter.id, opts=invoke)
        network = vsphere.get_network_output(name=site.workload_network, datacenter_id=datacenter.id, opts=invoke)
        policy = vsphere.get_policy_output(name=site.storage_policy, opts=invoke)

        role_tags = self._role_tags(name, child)
        self.resource_pool_name = f"{name}-llm-gpu"
        resource_pool = vsphere.ResourcePool(
            f"{name}-gpu",
            name=self.resource_pool_name,
            parent_resource_pool_id=cluster.resource_pool_id,
            cpu_reservation=pool.resource_pool.cpu_reservation_mhz,
            memory_reservation=pool.resource_pool.memory_reservation_mib,
            cpu_expandable=True,
            memory_expandable=True,
            tags=[role_tags[PLATFORM_TAG].id],
            opts=child,
        )

        if pool.mode == "vgpu":
            gpu_class = vsphere.VirtualMachineClass(
                f"{name}-gpu-class",
                name=gpu_class_name(pool),
                cpus=pool.node_cpus,
                memory=pool.node_memory_gib * 1024,
                # vGPU devices require the VM's memory to be fully reserved.
                memory_reservation=100,
                vgpu_devices=[pool.vgpu_profile] * pool.gpus_per_node,
                opts=child,
            )
            self.gpu_vm_class = gpu_class.name
        else:
            # pulumi-vsphere cannot put a DirectPath I/O device on a VM class: use the admin-made one.
            self.gpu_vm_class = pulumi.Output.from_input(pool.existing_vm_class)
        system_class = vsphere.VirtualMachineClass(
            f"{name}-system-class",
            name=f"llm-system-{pool.system_node_cpus}cpu-{pool.system_node_memory_gib}gb",
            cpus=pool.system_node_cpus,
            memory=pool.system_node_memory_gib * 1024,
            opts=child,
        )
        for alarm in host_alarms(name, pool.alarm_email):
            vsphere.Alarm(alarm.pop("resource_name"), entity_type="ClusterComputeResource",
                          entity_id=cluster.id, **alarm, opts=child)

        self.datacenter_id = datacenter.id
        self.compute_cluster_id = cluster.id
        self.datastore_id = datastore.id
        self.network_id = network.id
        self.resource_pool_id = resource_pool.id
        self.storage_policy_id = policy.id
        self.storage_policy_name = site.storage_policy
        self.system_vm_class = system_class.name
        self.mode = pool.mode
        self.vgpu_profile = pool.vgpu_profile
        self.register_outputs({
            "datacenterId": self.datacenter_id,
            "datastoreId": self.datastore_id,
            "networkId": self.network_id,
            "resourcePoolId": self.resource_pool_id,
            "storagePolicyId": self.storage_policy_id,
            "gpuVmClass": self.gpu_vm_class,
            "systemVmClass": self.system_vm_class,
        })


    def _role_tags(self, name: str, opts: pulumi.ResourceOptions) -> dict[str, vsphere.Tag]:
        """A tag category for the platform's roles, with tags for GPU hosts and platform objects."""
        self.role_tag_category = f"{name}-llm-role"
        category = vsphere.TagCategory(
            f"{name}-role",
            name=self.role_tag_category,
            cardinality="MULTIPLE",
            associable_types=["HostSystem", "VirtualMachine", "ResourcePool", "ClusterComputeResource"],
            description="Role of an object in the on-prem LLM platform",
            opts=opts,
        )
        tags = {
            tag: vsphere.Tag(f"{name}-tag-{tag}", name=tag, category_id=category.id, description=text, opts=opts)
            for tag, text in (("gpu-host", "ESXi host with GPUs for LLM serving"),
                              (PLATFORM_TAG, "Object managed by the on-prem LLM platform"))
        }
        self.role_tags = tuple(tags)
        self.platform_tag = PLATFORM_TAG
        return tags


def gpu_class_name(pool: GpuPoolConfig) -> str:
    profile = (pool.vgpu_profile or "").replace("_", "-")
    return f"llm-gpu-{profile}-{pool.gpus_per_node}x-{pool.node_cpus}cpu-{pool.node_memory_gib}gb".lower()


def host_alarms(name: str, email: str | None) -> list[dict]:
    """vCenter alarms on the GPU cluster's hosts: lost connection, and overall health turning red."""
    def mail(subject: str, final_state: str) -> list[dict]:
        if not email:
            return []
        return [{"to": email, "subject": subject, "start_state": "green", "final_state": final_state}]

    return [
        {
            "resource_name": f"{name}-alarm-host-connection",
            "name": f"{name} GPU host connection",
            "description": "A GPU host of the LLM platform is disconnected or not responding",
            "state_expressions": [{
                "object_type": "HostSystem", "state_path": "runtime.connectionState", "operator": "isEqual",
                "yellow": "disconnected", "red": "notResponding",
            }],
            "expression_operator": "or",
            "email_actions": mail("GPU host connection lost", "red"),
        },
        {
            "resource_name": f"{name}-alarm-host-health",
            "name": f"{name} GPU host hardware health",
            "description": "A GPU host of the LLM platform reports degraded overall health",
            "state_expressions": [{
                "object_type": "HostSystem", "state_path": "overallStatus", "operator": "isEqual",
                "yellow": "yellow", "red": "red",
            }],
            "expression_operator": "or",
            "email_actions": mail("GPU host health degraded", "red"),
        },
    ]
