"""ClusterAccess: least-privilege access to the workload cluster and to vCenter for named groups.

Kubernetes: the break-glass group alone is bound to cluster-admin, and nobody else may read a
Secret, exec, attach or port-forward into a pod, or change a NetworkPolicy. Operators get a
purpose-built role: everything readable except Secrets, container logs, pod deletion and eviction in
the platform's namespaces, and cordoning and draining nodes; they change the platform through Pulumi
only. Auditors get a purpose-built read-only role across the cluster that also reads RBAC but neither
Secrets nor container logs. Model consumers get nothing in-cluster (they call the gateway). vCenter:
a custom role with only the privileges this program's automation account needs (assign it to that
account), and a read-only operator role granted to the operator group on the GPU cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vsphere as vsphere

from components.builders import k8s as _k8s
from components.builders.admission import Fence
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


READ = ["get", "list", "watch"]
CORE_READABLE = (
    "componentstatuses", "configmaps", "endpoints", "events", "limitranges", "namespaces", "nodes",
    "persistentvolumeclaims", "persistentvolumes", "pods", "podtemplates", "replicationcontrollers",
    "resourcequotas", "serviceaccounts", "services",
)
"""Core resources a reader may see: never `secrets`, and no subresource (pods/log, pods/exec, ...)."""
READABLE_GROUPS = (
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apps", "autoscaling", "batch", "coordination.k8s.io",
    "discovery.k8s.io", "events.k8s.io", "networking.k8s.io", "node.k8s.io", "policy", "rbac.authorization.k8s.io",
    "scheduling.k8s.io", "storage.k8s.io", "gateway.networking.k8s.io", "gateway.envoyproxy.io", "keda.sh",
    "eventing.keda.sh", "monitoring.coreos.com", "velero.io", "nvidia.com", "nfd.k8s-sigs.io",
)
"""API groups whose kinds hold no credential; a reader sees all of them (RBAC included, for access reviews)."""
READER_ROLE = "onprem-llm-reader"
OPERATOR_ROLE = "onprem-llm-operator"
NODE_OPERATOR_ROLE = "onprem-llm-node-operator"


def reader_rules() -> list[dict]:
    """Read everything that holds no credential: no Secrets, no container logs, no exec, attach or port-forward."""
    return [
        {"apiGroups": [""], "resources": list(CORE_READABLE), "verbs": READ},
        {"apiGroups": list(READABLE_GROUPS), "resources": ["*"], "verbs": READ},
    ]


def operator_rules() -> list[dict]:
    """In the platform's namespaces: container logs, restarting a pod, and evicting one; nothing that changes a spec."""
    return [
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    ]


def node_operator_rules() -> list[dict]:
    """`kubectl cordon` and `kubectl drain` of a node with a faulty GPU (evictions honour PodDisruptionBudgets)."""
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    ]


@dataclass(frozen=True)
class ClusterAccessArgs:
    access: AccessConfig
    cluster: ClusterCore
    host_pool: GpuHostPool
    operator_namespaces: tuple[str, ...] = ()
    """Namespaces where operators read logs and restart pods. Default: the serving and monitoring namespaces."""
    fences: tuple[Fence, ...] = ()
    """Admission policies that refuse what a role allows but the platform never needs (components.builders.admission)."""


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

        def cluster_role(suffix: str, role_name: str, rules: list[dict], purpose: str) -> rbac.ClusterRole:
            return rbac.ClusterRole(
                f"{name}-{suffix}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=role_name, labels=labels,
                                                    annotations={"onprem-llm.io/purpose": purpose}),
                rules=[rbac.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
                       for r in rules],
                opts=on_cluster,
            )

        def bind_cluster(suffix: str, binding_name: str, role: rbac.ClusterRole, role_name: str, who: str) -> None:
            rbac.ClusterRoleBinding(
                f"{name}-{suffix}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=binding_name, labels=labels),
                role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role_name),
                subjects=[group(who)],
                opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[role])),
            )

        reader = cluster_role("reader-clusterrole", READER_ROLE, reader_rules(),
                              "read-only view for access reviews and operations: no Secrets, no container logs")
        operator = cluster_role("operator-clusterrole", OPERATOR_ROLE, operator_rules(),
                                "operators in the platform's namespaces: container logs, pod restarts and evictions")
        node_operator = cluster_role("node-operator-clusterrole", NODE_OPERATOR_ROLE, node_operator_rules(),
                                     "operators cordon and drain nodes with a faulty GPU")
        # Auditors read the platform's state and its RBAC, never a Secret or a container log.
        bind_cluster("auditors", "onprem-llm-auditors", reader, READER_ROLE, access.auditor_group)
        bind_cluster("operators-read", "onprem-llm-operators-read", reader, READER_ROLE, access.operator_group)
        bind_cluster("operators-nodes", "onprem-llm-operators-nodes", node_operator, NODE_OPERATOR_ROLE,
                     access.operator_group)
        namespaces = args.operator_namespaces or (cluster.serving_namespace, cluster.monitoring_namespace)
        for namespace in dict.fromkeys(namespaces):
            rbac.RoleBinding(
                f"{name}-operators-{namespace}",
                metadata=_k8s.metadata("onprem-llm-operators", namespace, labels),
                role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=OPERATOR_ROLE),
                subjects=[group(access.operator_group)],
                opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[operator])),
            )

        for fence in args.fences:
            admission_fence(name, fence, labels, on_cluster)

        in_vcenter = pulumi.ResourceOptions(parent=self, provider=pool.provider)
        automation = vsphere.Role(f"{name}-automation-role", name="onprem-llm-automation",
                                  role_privileges=list(AUTOMATION_PRIVILEGES), opts=in_vcenter)
        operator = vsphere.Role(f"{name}-operator-role", name="onprem-llm-operator",
                                role_privileges=list(OPERATOR_PRIVILEGES), opts=in_vcenter)
        # On the resource pool this stack creates, never on the site's shared cluster: the provider reads back every
        # direct permission of its entity and removes, on the next update and on destroy, what it was not given
        # (vmware/terraform-provider-vsphere#1517), which on a shared entity is everyone else's access.
        vsphere.EntityPermissions(
            f"{name}-operator-permissions",
            entity_id=pool.resource_pool_id,
            entity_type="ResourcePool",
            permissions=[vsphere.EntityPermissionsPermissionArgs(
                user_or_group=access.vsphere_operator_group, is_group=True, propagate=True, role_id=operator.id,
            )],
            opts=in_vcenter,
        )
        self.automation_role, self.operator_role = "onprem-llm-automation", "onprem-llm-operator"
        self.register_outputs({"automationRole": automation.name, "operatorRole": operator.name})


def admission_fence(name: str, fence: Fence, labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
    """A ValidatingAdmissionPolicy and its Deny binding (admissionregistration.k8s.io/v1, GA since 1.30)."""
    admission = k8s.admissionregistration.v1
    policy = admission.ValidatingAdmissionPolicy(
        f"{name}-fence-{fence.name}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=fence.policy_name, labels=labels,
                                            annotations={"onprem-llm.io/purpose": fence.purpose}),
        spec=admission.ValidatingAdmissionPolicySpecArgs(
            failure_policy="Fail",
            match_constraints=admission.MatchResourcesArgs(resource_rules=[
                admission.NamedRuleWithOperationsArgs(api_groups=[rule.group], api_versions=["*"],
                                                      operations=list(rule.operations), resources=list(rule.resources))
                for rule in fence.rules
            ]),
            match_conditions=[admission.MatchConditionArgs(name="fenced-identity", expression=fence.match)],
            validations=[admission.ValidationArgs(expression=fence.validation, message=fence.message, reason="Forbidden")],
        ),
        opts=opts,
    )
    admission.ValidatingAdmissionPolicyBinding(
        f"{name}-fence-{fence.name}-binding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=fence.policy_name, labels=labels),
        spec=admission.ValidatingAdmissionPolicyBindingSpecArgs(policy_name=fence.policy_name,
                                                                validation_actions=["Deny"]),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])),
    )
