"""ClusterAccess: least-privilege access to the workload cluster and to vCenter for named groups.

Kubernetes: the break-glass group alone is bound to cluster-admin; operators get `edit` in the
serving and monitoring namespaces; auditors get `view` across the cluster (which excludes
Secrets); model consumers get nothing in-cluster (they call the gateway). vCenter: a custom role
with only the privileges this program's automation account needs (assign it to that account),
and a read-only operator role granted to the operator group on the GPU cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vsphere as vsphere

from components.builders import k8s as _k8s
from components.config.model import AccessConfig
from components.resources.gpu_host_pool import GpuHostPool
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:ClusterAccess"

AUTOMATION_PRIVILEGES = (
    "Alarm.Create", "Alarm.Delete", "Alarm.Edit",
    "InventoryService.Tagging.AttachTag", "InventoryService.Tagging.CreateCategory",
    "InventoryService.Tagging.CreateTag", "InventoryService.Tagging.DeleteCategory",
    "InventoryService.Tagging.DeleteTag", "InventoryService.Tagging.EditCategory", "InventoryService.Tagging.EditTag",
    "Namespaces.Configure", "Namespaces.Manage",
    "Resource.CreatePool", "Resource.DeletePool", "Resource.EditPool",
    "StorageProfile.View",
    "VirtualMachineClasses.Manage",
)
"""What `pulumi up` does in vCenter: alarms, tags, the vSphere Namespace, the resource pool, VM classes."""

OPERATOR_PRIVILEGES = ("Alarm.Acknowledge", "Alarm.SetStatus", "System.Read")
"""Operators see and acknowledge; they change the platform through Kubernetes and Pulumi only."""


@dataclass(frozen=True)
class ClusterAccessArgs:
    access: AccessConfig
    cluster: ClusterCore
    host_pool: GpuHostPool


class ClusterAccess(pulumi.ComponentResource):
    automation_role: str
    operator_role: str

    def __init__(self, name: str, args: ClusterAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        access, cluster, pool = args.access, args.cluster, args.host_pool
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        labels = _k8s.labels("access", name, "rbac")
        rbac = k8s.rbac.v1

        def group(name_: str) -> rbac.SubjectArgs:
            return rbac.SubjectArgs(kind="Group", name=name_, api_group="rbac.authorization.k8s.io")

        rbac.ClusterRoleBinding(
            f"{name}-break-glass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="onprem-llm-break-glass", labels=labels, annotations={
                # Every use is audited; members are reviewed with the access review.
                "onprem-llm.io/purpose": "emergency access (45 CFR 164.312(a)(2)(ii)); every use is audited",
            }),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
            subjects=[group(access.break_glass_group)],
            opts=on_cluster,
        )
        rbac.ClusterRoleBinding(
            f"{name}-auditors",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="onprem-llm-auditors", labels=labels),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
            subjects=[group(access.auditor_group)],
            opts=on_cluster,
        )
        for namespace in (cluster.serving_namespace, cluster.monitoring_namespace):
            rbac.RoleBinding(
                f"{name}-operators-{namespace}",
                metadata=_k8s.metadata("onprem-llm-operators", namespace, labels),
                role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="edit"),
                subjects=[group(access.operator_group)],
                opts=on_cluster,
            )

        in_vcenter = pulumi.ResourceOptions(parent=self, provider=pool.provider)
        automation = vsphere.Role(f"{name}-automation-role", name="onprem-llm-automation",
                                  role_privileges=list(AUTOMATION_PRIVILEGES), opts=in_vcenter)
        operator = vsphere.Role(f"{name}-operator-role", name="onprem-llm-operator",
                                role_privileges=list(OPERATOR_PRIVILEGES), opts=in_vcenter)
        vsphere.EntityPermissions(
            f"{name}-operator-permissions",
            entity_id=pool.compute_cluster_id,
            entity_type="ClusterComputeResource",
            permissions=[vsphere.EntityPermissionsPermissionArgs(
                user_or_group=access.vsphere_operator_group, is_group=True, propagate=True, role_id=operator.id,
            )],
            opts=in_vcenter,
        )
        self.automation_role, self.operator_role = "onprem-llm-automation", "onprem-llm-operator"
        self.register_outputs({"automationRole": automation.name, "operatorRole": operator.name})
