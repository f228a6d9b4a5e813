"""No chart is configured to read every Secret of the cluster, unless listed with its reason."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import chart_of
from hipaa._rule import Resource, Rule

RELEASE = "kubernetes:helm.sh/v3:Release"
KSM_DEFAULT_COLLECTS_SECRETS = True
"""kube-state-metrics' default collectors include `secrets`, which makes its ClusterRole list every Secret."""


def _chart(resource: Resource) -> str:
    return chart_of(resource)


def _grafana(values: dict, where: str, on_by_default: tuple[str, ...] = ()) -> list[str]:
    """``on_by_default``: sidecars the parent chart enables (kube-prometheus-stack: dashboards and datasources)."""
    if values.get("enabled") is False:
        return []
    rbac, sidecar = values.get("rbac") or {}, values.get("sidecar") or {}
    watching = [kind for kind in ("dashboards", "datasources", "notifiers", "alerts", "plugins")
                if (sidecar.get(kind) or {}).get("enabled", kind in on_by_default)]
    watches_secrets = [kind for kind in watching if (sidecar.get(kind) or {}).get("resource", "both") != "configmap"]
    problems = []
    if rbac.get("namespaced") is not True and watching:
        problems.append(f"{where}rbac.namespaced is not true while the {'/'.join(watching)} sidecar runs: the chart's "
                        "ClusterRole reads every Secret of the cluster (and anyone who runs a pod as Grafana's account)")
    if watches_secrets:
        problems.append(f"{where}sidecar {'/'.join(watches_secrets)} reads Secrets; set resource: configmap")
    return problems


def _kube_state_metrics(values: dict, where: str) -> list[str]:
    collectors = values.get("collectors")
    if values.get("enabled") is False:
        return []
    if collectors is None and KSM_DEFAULT_COLLECTS_SECRETS or "secrets" in (collectors or []):
        return [f"{where}collectors include secrets (the chart's default): its ClusterRole lists and watches every "
                "Secret; list the collectors without secrets"]
    return []


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != RELEASE:
        return []
    chart, values = _chart(resource), resource.props.get("values") or {}
    if chart in (config.get("exceptions") or {}):
        return []
    problems: list[str] = []
    if chart == "kube-prometheus-stack":
        problems += _grafana(values.get("grafana") or {}, "values.grafana.", ("dashboards", "datasources"))
        problems += _kube_state_metrics(values.get("kube-state-metrics") or {}, "values.kube-state-metrics.")
    elif chart == "grafana":
        problems += _grafana(values, "values.")
    elif chart == "kube-state-metrics":
        problems += _kube_state_metrics(values, "values.")
    elif chart == "keda":
        restrict = (((values.get("permissions") or {}).get("operator") or {}).get("restrict") or {})
        if restrict.get("secret") is not True:
            problems.append("values.permissions.operator.restrict.secret is not true: the KEDA operator reads every "
                            "Secret of the cluster; restrict it to its namespace")
    elif chart == "velero":
        if ((values.get("rbac") or {}).get("clusterAdministrator", True)) is not False:
            problems.append("values.rbac.clusterAdministrator binds cluster-admin (every Secret) to Velero's account")
    elif chart == "gateway-helm":
        watch = ((((values.get("config") or {}).get("envoyGateway") or {}).get("provider") or {}).get("kubernetes")
                 or {}).get("watch")
        if not watch:
            problems.append("values.config.envoyGateway.provider.kubernetes.watch is unset: the controller's "
                            "ClusterRole reads every Secret; watch the gateway's namespace only")
    elif chart == "ai-gateway-helm":
        account = ((values.get("controller") or {}).get("serviceAccount") or {})
        if account.get("create", True) is not False:
            problems.append("values.controller.serviceAccount.create is not false: the chart's ClusterRole has `*` on "
                            "every Secret and pod; create the controller's account and namespaced roles instead")
    return [f"Release {resource.name} ({chart}): {p}" for p in problems]


RULE = Rule(
    name="chart-secret-access",
    title="No chart reads every Secret",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="Helm values must not give a chart's service account the right to read every Secret of the cluster "
    "(Grafana's cluster-wide sidecar role, kube-state-metrics' secrets collector, KEDA's unrestricted operator, "
    "Velero's cluster-admin, an Envoy Gateway controller watching all namespaces, the AI gateway chart's own "
    "controller ClusterRole), unless the chart is listed with "
    "its reason. Whoever can run a pod as that account reads every API key, the TLS key and the audit signing key.",
    check=check,
    config={"exceptions": {
        "type": "object", "additionalProperties": {"type": "string"}, "default": {},
        "description": "Charts allowed cluster-wide Secret reads, each with the reason.",
    }},
)
