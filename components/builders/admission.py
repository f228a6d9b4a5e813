"""Admission fences: ValidatingAdmissionPolicies that refuse what a role allows but the platform never needs.

Some charts' roles cannot be narrowed through their values (a ClusterRole with `*` on pods and
deployments), and `kubectl cordon` needs `patch` on nodes, which also changes taints and labels. A
fence matches one identity by the API server's view of the request (`request.userInfo`) and refuses
the writes outside the namespaces it needs them in; reads cannot be refused by admission, so what a
role reads stays an exception recorded in components/planning/compliance.py. The policy pack's
capability analysis evaluates these same CEL expressions, so a fence counts only if it really refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config.model import PlatformConfig
from components.planning import capacity

PREFIX = "onprem-llm-fence-"

WORKLOAD_RULES = (
    ("", ("pods",)),
    ("apps", ("deployments", "daemonsets", "statefulsets", "replicasets")),
    ("batch", ("jobs", "cronjobs")),
)
"""What runs a pod of the writer's choosing: whoever writes one mounts any Secret of the namespace."""
NODE_FIELDS = ("metadata.labels", "metadata.annotations", "metadata.finalizers", "metadata.ownerReferences",
               "spec.taints", "spec.podCIDR", "spec.podCIDRs", "spec.providerID")
"""Every field of a Node a client may change, but `spec.unschedulable` (cordon and uncordon)."""


@dataclass(frozen=True)
class Rule:
    group: str
    resources: tuple[str, ...]
    operations: tuple[str, ...] = ("CREATE", "UPDATE")


@dataclass(frozen=True)
class Fence:
    name: str
    """Suffix of the policy's and the binding's name."""
    purpose: str
    match: str
    """CEL: whose requests the fence judges."""
    rules: tuple[Rule, ...]
    validation: str
    """CEL: true when the request is allowed."""
    message: str

    @property
    def policy_name(self) -> str:
        return PREFIX + self.name


def _cel_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def service_account(namespace: str, name: str) -> str:
    return f"request.userInfo.username == 'system:serviceaccount:{namespace}:{name}'"


def in_namespaces(namespaces: tuple[str, ...]) -> str:
    return f"request.namespace in {_cel_list(tuple(sorted(set(namespaces))))}"


def _unchanged(path: str) -> str:
    parent, _, leaf = path.rpartition(".")
    new, old = f"object.{parent}", f"oldObject.{parent}"
    empty = "[]" if leaf in ("finalizers", "ownerReferences", "taints", "podCIDRs") else (
        "''" if leaf in ("podCIDR", "providerID") else "{}")
    return f"(has({new}.{leaf}) ? {new}.{leaf} : {empty}) == (has({old}.{leaf}) ? {old}.{leaf} : {empty})"


def workload_fence(name: str, purpose: str, namespace: str, account: str, allowed: tuple[str, ...],
                   extra: tuple[Rule, ...] = ()) -> Fence:
    where = ", ".join(sorted(set(allowed))) or "no namespace"
    return Fence(
        name=name, purpose=purpose, match=service_account(namespace, account),
        rules=tuple(Rule(group, resources) for group, resources in WORKLOAD_RULES) + extra,
        validation=in_namespaces(allowed),
        message=f"{namespace}/{account} may create or change workloads only in {where}",
    )


def fences(cfg: PlatformConfig) -> tuple[Fence, ...]:
    """The fences of one site's workload cluster."""
    keda = cfg.addons.keda_namespace
    found = [
        Fence(
            name="operator-nodes",
            purpose="operators cordon and uncordon nodes; taints and labels steer or evict workloads (a NoExecute "
                    "taint evicts the audit shipper)",
            match=f"'{cfg.access.operator_group}' in request.userInfo.groups",
            rules=(Rule("", ("nodes",), ("UPDATE",)),),
            validation=" && ".join(_unchanged(path) for path in NODE_FIELDS),
            message="operators may change only spec.unschedulable of a node (kubectl cordon, uncordon, drain)",
        ),
        # KEDA creates Jobs only for ScaledJobs, which the platform does not use, and scales the model servers only.
        Fence(
            name="keda-operator",
            purpose="KEDA runs no Job and scales only the model servers",
            match=service_account(keda, "keda-operator"),
            rules=(*(Rule(group, resources) for group, resources in WORKLOAD_RULES),
                   Rule("*", ("*/scale",), ("UPDATE",))),
            validation=f"request.subResource == 'scale' && request.namespace == '{cfg.tanzu.serving_namespace}'",
            message=f"{keda}/keda-operator may only scale workloads of {cfg.tanzu.serving_namespace}",
        ),
    ]
    if any(capacity.layout_of(cfg, model).multi_node for model in cfg.models.values()):
        # The LeaderWorkerSet controller's ClusterRole writes pods and StatefulSets in every namespace; it needs them
        # only where the model groups run.
        found.append(workload_fence(
            "lws-controller", "the LeaderWorkerSet controller runs model groups in the serving namespace only",
            cfg.addons.lws_namespace, "lws-controller-manager", (cfg.tanzu.serving_namespace, cfg.addons.lws_namespace),
            # Its role also patches nodes, which it never needs: a node is in no namespace, so the fence refuses it.
            (Rule("", ("nodes",), ("UPDATE",)),)))
    if cfg.observability.enabled:
        monitoring = cfg.tanzu.monitoring_namespace
        found.append(workload_fence(
            "prometheus-operator", "the Prometheus operator runs Prometheus and Alertmanager in the monitoring "
            "namespace only", monitoring, "kube-prometheus-stack-operator", (monitoring,),
            (Rule("monitoring.coreos.com", ("prometheuses", "alertmanagers", "thanosrulers", "prometheusagents")),)))
    return tuple(found)
