"""The stack's standing exceptions to the policy pack, shared by the outputs and the pack's config."""

from __future__ import annotations

from components.config.model import PlatformConfig
from components.planning import capacity

PACK_NAME = "onprem-llm-hipaa"
"""Name of the policy pack in policies/ (a test keeps the two equal)."""

NETWORK_EXEMPTIONS: dict[str, str] = {}
"""Namespaces without a default-deny policy, with the reason: none. The add-ons' namespaces (GPU Operator,
KEDA, the gateway controller) deny by default and open only the flows each needs."""


CHART_SECRET_READERS = {
    "velero": "backs up and restores every kind of object, so its server runs as cluster-admin; Secrets are excluded "
              "from the backups themselves, and its namespace admits no operator",
}
"""Charts whose service accounts read every Secret of the cluster, each with the reason (see docs/security.md)."""
CHART_NAMESPACES = {"velero": "velero"}

AI_GATEWAY_CONTROLLER = "envoy-ai-gateway-system/ai-gateway-controller"
SECRET_ACCOUNTS = {
    AI_GATEWAY_CONTROLLER: "the AI gateway controller reads the backends' API keys and writes the proxies' filter "
                           "configuration Secret in the gateway's namespace; the program writes its roles in place of "
                           "the chart's ClusterRole (components/builders/ai_gateway_rbac.py), so it holds Secret rights "
                           "there only",
}
"""Controllers whose roles the program writes and that hold Secret rights in them, with the reason (see docs/security.md)."""


def network_exemptions(cfg: PlatformConfig) -> dict[str, str]:
    return dict(NETWORK_EXEMPTIONS)


def exceptions(cfg: PlatformConfig) -> list[dict[str, str]]:
    found = [{"policy": "pod-security-restricted", "namespace": ns, "reason": reason}
             for ns, reason in sorted(cfg.compliance.privileged_namespaces.items())]
    found += [{"policy": "pod-security-restricted", "namespace": ns, "reason": f"baseline level: {reason}"}
              for ns, reason in sorted(cfg.compliance.baseline_namespaces.items())]
    found += [{"policy": "default-deny-network-policy", "namespace": ns, "reason": reason}
              for ns, reason in sorted(network_exemptions(cfg).items())]
    found += [{"policy": "chart-secret-access", "namespace": CHART_NAMESPACES[chart], "reason": f"chart {chart}: {reason}"}
              for chart, reason in sorted(CHART_SECRET_READERS.items())]
    found += [{"policy": "rbac-least-privilege", "namespace": account.split("/", 1)[0],
               "reason": f"ServiceAccount {account}: {reason}"} for account, reason in sorted(SECRET_ACCOUNTS.items())]
    return found


SEALING_NAMESPACE = "audit-sealing"
"""Where the audit signing key lives (components.resources.audit)."""


def protected_namespaces(cfg: PlatformConfig) -> list[str]:
    """Namespaces whose Secrets (model API keys and tokens, gateway keys, the audit signing key) only break-glass and
    the recorded exceptions may reach; there even a namespace's own service accounts must be listed."""
    return sorted({cfg.tanzu.serving_namespace, cfg.gateway.namespace, *cfg.tanzu.gateway_namespaces, SEALING_NAMESPACE})


def capability_exceptions(cfg: PlatformConfig) -> list[dict[str, object]]:
    """What a subject other than break-glass may reach although least privilege forbids it, each with its reason.

    Capabilities are those of the pack's capability analysis (policies/hipaa/_capability.py). The charts' roles that
    their values cannot narrow are fenced by admission policies (components.builders.admission) for what they write;
    what they read no admission policy can refuse, so it is listed here.
    """
    gateway = cfg.gateway.namespace
    keda, monitoring = cfg.addons.keda_namespace, cfg.tanzu.monitoring_namespace
    gpu = cfg.addons.gpu_operator.namespace
    entries = [
        ("ServiceAccount velero/velero-server", ["*"], ["*"],
         "Velero backs up and restores every kind of object, so its server runs as cluster-admin; the chart's "
         "rbac.clusterAdministratorName could name another role, but RBAC has no exclusions: reading every kind reads "
         "every Secret and restoring every kind runs workloads everywhere; Secrets are excluded from the backups, and "
         "its namespace admits no operator"),
        (f"ServiceAccount {gpu}/gpu-operator", ["*"], ["*"],
         "the GPU Operator's chart role patches pods and nodes, manages ClusterRoles and ValidatingAdmissionPolicies "
         "cluster-wide and no value narrows it; nothing else runs in its namespace, which admits no operator"),
        (f"ServiceAccount {gpu}/node-feature-discovery", ["change-nodes"], ["*"],
         "node feature discovery labels nodes with their GPUs and drivers; no value narrows it to labels"),
        (f"ServiceAccount {gpu}/gpu-operator-node-feature-discovery-prune", ["change-nodes"], ["*"],
         "the chart's uninstall hook removes the feature labels it set"),
        (f"ServiceAccount {AI_GATEWAY_CONTROLLER}", ["read-secrets"], [gateway],
         "the AI gateway controller reads the backends' API keys and writes the proxies' filter configuration Secret in "
         "the gateway's namespace; the program's Role grants it there only, in place of the chart's ClusterRole"),
        (f"ServiceAccount {AI_GATEWAY_CONTROLLER}", ["run-workloads"], [gateway],
         "it rolls the Envoy proxies (patches their pods, deployments and daemonsets; it creates none) in the "
         "gateway's namespace only"),
        (f"ServiceAccount {AI_GATEWAY_CONTROLLER}", ["change-admission"], ["*"],
         "it updates the CA bundle of its own pod-mutating webhook (the role names that webhook only)"),
        ("ServiceAccount envoy-gateway-system/envoy-gateway", ["read-secrets"], [gateway],
         "Envoy Gateway reads the gateway's TLS and backend Secrets; watching the gateway's namespace only, the chart "
         "grants it Secret reads there and in its own namespace only"),
        ("ServiceAccount envoy-gateway-system/envoy-gateway", ["run-workloads"], [gateway],
         "it creates the Envoy proxies in the Gateway's namespace (deploy type GatewayNamespace), by a Role there"),
        ("ServiceAccount envoy-gateway-system/envoy-gateway", ["change-admission"], ["*"],
         "through its own namespace's certificate job, which patches the CA bundle of the topology-injector webhook"),
        ("ServiceAccount envoy-gateway-system/envoy-gateway-gateway-helm-certgen", ["change-admission"], ["*"],
         "the certificate job patches the CA bundle of the topology-injector webhook (the role names it only)"),
        (f"ServiceAccount {keda}/keda-operator", ["scale"], [cfg.tanzu.serving_namespace],
         "KEDA scales the model servers; a fence refuses any other scale change and every Job it would create"),
        (f"ServiceAccount {keda}/keda-operator", ["change-admission"], ["*"],
         "KEDA patches the CA bundle of its own validating webhook; the chart's role does not name it"),
        (f"ServiceAccount {monitoring}/kube-prometheus-stack-operator", ["read-secrets"], ["*"],
         "the Prometheus operator reads the Secrets monitors reference and writes Prometheus' configuration Secret; "
         "the chart binds its ClusterRole (`*` on Secrets) whatever prometheusOperator.namespaces says (that value "
         "narrows what it watches, not what it may read), and only global.rbac.create=false, which drops every role "
         "of the chart, removes it; admission cannot refuse reads"),
        (f"ServiceAccount {monitoring}/kube-prometheus-stack-operator", ["change-admission"], ["*"],
         "through its own namespace's admission job account, which patches the CA bundles of the chart's webhooks"),
        (f"ServiceAccount {monitoring}/kube-prometheus-stack-admission", ["change-admission"], ["*"],
         "the admission job patches the CA bundles of the chart's webhooks"),
    ]
    if any(capacity.layout_of(cfg, model).multi_node for model in cfg.models.values()):
        lws = f"ServiceAccount {cfg.addons.lws_namespace}/lws-controller-manager"
        entries += [
            (lws, ["read-secrets"], ["*"], "the LeaderWorkerSet controller's ClusterRole reads Secrets cluster-wide and no "
             "value narrows it; admission cannot refuse reads"),
            (lws, ["run-workloads"], [cfg.tanzu.serving_namespace, cfg.addons.lws_namespace],
             "it creates the model groups' StatefulSets and pods; a fence refuses its workload writes anywhere else"),
            (lws, ["change-admission"], ["*"], "it patches the CA bundles of its own webhooks"),
        ]
    return [{"subject": s, "capabilities": c, "namespaces": n, "reason": r} for s, c, n, r in entries]
