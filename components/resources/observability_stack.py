"""ObservabilityStack: Prometheus, Alertmanager and Grafana with the platform's rules and dashboards."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from components import versions
from components.builders import k8s as _k8s
from components.builders.charts import image_digest, kubectl_image, merged, pinned_tag, release_args
from components.builders.monitoring import MONITOR_LABELS, PROMETHEUS_POD_LABELS, PROMETHEUS_PORT, prometheus_url
from components.config import ObservabilityConfig
from components.config.model import RegistryConfig
from components.planning import waits
from components.planning.monitoring.dashboards import dashboards, to_json
from components.planning.monitoring.rules import RuleSettings, rule_groups
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:ObservabilityStack"
RELEASE = "kube-prometheus-stack"
GRAFANA_SECRET = "grafana-admin"
ALERTMANAGER_SECRET = "alertmanager-platform"
GRAFANA_ROLE = "grafana-dashboards"
RECEIVER = "platform-oncall"
KSM_COLLECTORS = (
    "certificatesigningrequests", "configmaps", "cronjobs", "daemonsets", "deployments", "endpointslices",
    "horizontalpodautoscalers", "ingresses", "jobs", "leases", "limitranges", "mutatingwebhookconfigurations",
    "namespaces", "networkpolicies", "nodes", "persistentvolumeclaims", "persistentvolumes", "poddisruptionbudgets",
    "pods", "replicasets", "replicationcontrollers", "resourcequotas", "services", "statefulsets", "storageclasses",
    "validatingwebhookconfigurations", "volumeattachments",
)
"""kube-state-metrics' default collectors of the pinned chart, less `secrets`."""
DEAD_MANS_SWITCH = "dead-mans-switch"
NULL_RECEIVER = "null"


@dataclass(frozen=True)
class ObservabilityStackArgs:
    settings: ObservabilityConfig
    cluster: ClusterCore
    rules: RuleSettings
    """Rule thresholds, model names and backup RPO."""
    scrape_namespaces: dict[str, int | tuple[int, ...]]
    """Namespaces Prometheus scrapes outside its own, with the metrics port (or ports) in each."""
    client_namespaces: tuple[str, ...]
    """Namespaces whose pods query Prometheus (KEDA)."""
    api_server_cidrs: tuple[str, ...]
    smtp_password: pulumi.Input[str] | None = None
    webhook_url: pulumi.Input[str] | None = None
    dead_mans_switch_url: pulumi.Input[str] | None = None
    """Heartbeat URL of the external dead-man's switch; Watchdog goes there. None: nowhere (non-production)."""


class ObservabilityStack(pulumi.ComponentResource):
    """kube-prometheus-stack selecting the platform's monitors and rules, plus rules, dashboards and policies."""

    namespace: str
    prometheus_url: str
    alertmanager_url: str
    grafana_url: str
    release: k8s.helm.v3.Release
    """kube-prometheus-stack; it installs the monitoring.coreos.com CRDs, so monitors and rules wait for it."""
    grafana_admin_password: pulumi.Output[str]
    """Grafana's admin password (secret); people should sign in through SSO once it is configured."""

    def __init__(self, name: str, args: ObservabilityStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        settings, cluster = args.settings, args.cluster
        self.namespace = ns = cluster.monitoring_namespace
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        labels = _k8s.labels("monitoring", name, "observability")

        password = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        grafana_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=_k8s.metadata(GRAFANA_SECRET, ns, labels),
            string_data={"admin-user": "admin", "admin-password": self.grafana_admin_password},
            opts=on_cluster,
        )
        alertmanager_secret = k8s.core.v1.Secret(
            f"{name}-alertmanager-config",
            metadata=_k8s.metadata(ALERTMANAGER_SECRET, ns, labels),
            string_data={"alertmanager.yaml": pulumi.Output.secret(
                pulumi.Output.all(args.smtp_password, args.webhook_url, args.dead_mans_switch_url).apply(
                    lambda secrets: alertmanager_config(settings, secrets[0], secrets[1], secrets[2],
                                                        trust_bundle=bool(cluster.trust_bundle))
                )
            )},
            opts=on_cluster,
        )
        pull = _k8s.registry_pull_secret(
            f"{name}-registry-pull", ns, cluster.registry_server, cluster.registry_username, cluster.registry_password,
            labels, on_cluster,
        )
        grafana_role = k8s.rbac.v1.Role(
            f"{name}-grafana-role",
            metadata=_k8s.metadata(GRAFANA_ROLE, ns, labels),
            # The dashboard and datasource sidecars read ConfigMaps; no Secret in any namespace.
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["configmaps"], verbs=["get", "list", "watch"])],
            opts=on_cluster,
        )
        chart = versions.KUBE_PROMETHEUS_STACK
        self.release = k8s.helm.v3.Release(
            f"{name}-kube-prometheus-stack",
            name=RELEASE,
            **release_args(chart, cluster.registry),
            namespace=ns,
            values=merged(stack_values(settings, cluster.storage_class, cluster.registry_server,
                                       trust_bundle=bool(cluster.trust_bundle)),
                          stack_image_digests(cluster.registry, cluster.kubernetes_version)),
            timeout=waits.release_seconds(cluster.waits),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                depends_on=[grafana_secret, alertmanager_secret, pull, grafana_role],
            )),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=_k8s.metadata("onprem-llm-platform", ns, {**labels, **MONITOR_LABELS}),
            spec={"groups": rule_groups(args.rules)},
            # The chart installs the PrometheusRule CRD.
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[self.release])),
        )
        for file_name, board in dashboards(args.rules).items():
            stem = file_name.removesuffix(".json")
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{stem}",
                metadata=_k8s.metadata(f"dashboard-{stem}", ns, {**labels, "grafana_dashboard": "1"}),
                data={file_name: to_json(board)},
                opts=on_cluster,
            )
        self._network_policies(name, args, labels, on_cluster)

        self.prometheus_url = prometheus_url(ns)
        self.alertmanager_url = f"http://{RELEASE}-alertmanager.{ns}.svc.cluster.local:9093"
        self.grafana_url = f"http://{RELEASE}-grafana.{ns}.svc.cluster.local:80"
        self.register_outputs({
            "prometheusUrl": self.prometheus_url, "alertmanagerUrl": self.alertmanager_url,
            "grafanaUrl": self.grafana_url, "grafanaAdminPassword": self.grafana_admin_password,
        })

    def _network_policies(self, name: str, args: ObservabilityStackArgs, labels: dict[str, str],
                          opts: pulumi.ResourceOptions) -> None:
        """Openings in the monitoring namespace's default-deny, each for one flow the stack needs."""
        net, ns = k8s.networking.v1, self.namespace
        prometheus = {"app.kubernetes.io/name": "prometheus"}
        alertmanager = {"app.kubernetes.io/name": "alertmanager"}

        def policy(suffix: str, pods: dict[str, str], types: list[str], **rules) -> None:
            net.NetworkPolicy(
                f"{name}-{suffix}",
                metadata=_k8s.metadata(suffix, ns, labels),
                spec=net.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pods), policy_types=types, **rules,
                ),
                opts=opts,
            )

        # Prometheus, Grafana, Alertmanager and the operator talk to each other.
        policy("allow-within-namespace", {}, ["Ingress", "Egress"],
               ingress=[net.NetworkPolicyIngressRuleArgs(from_=[net.NetworkPolicyPeerArgs(pod_selector={})])],
               egress=[net.NetworkPolicyEgressRuleArgs(to=[net.NetworkPolicyPeerArgs(pod_selector={})])])
        # Service discovery, the operator and kube-state-metrics watch the API server.
        policy("allow-api-server-egress", {}, ["Egress"],
               egress=[net.NetworkPolicyEgressRuleArgs(to=_k8s.ip_peers(args.api_server_cidrs), ports=_k8s.tcp(443, 6443))])
        # The operator's admission webhook is called by the API server.
        policy("allow-webhook-ingress", {"app": f"{RELEASE}-operator"}, ["Ingress"],
               ingress=[net.NetworkPolicyIngressRuleArgs(from_=_k8s.ip_peers(args.api_server_cidrs), ports=_k8s.tcp(10250))])
        policy("allow-prometheus-scrapes", prometheus, ["Egress"], egress=[
            net.NetworkPolicyEgressRuleArgs(to=[_k8s.namespace_peer(target)],
                                            ports=_k8s.tcp(*(ports if isinstance(ports, tuple) else (ports,))))
            for target, ports in sorted(args.scrape_namespaces.items())
        ])
        policy("allow-prometheus-queries", prometheus, ["Ingress"], ingress=[net.NetworkPolicyIngressRuleArgs(
            from_=[_k8s.namespace_peer(client) for client in sorted(args.client_namespaces)], ports=_k8s.tcp(PROMETHEUS_PORT),
        )])
        policy("allow-alert-delivery", alertmanager, ["Egress"], egress=[net.NetworkPolicyEgressRuleArgs(
            to=_k8s.ip_peers(args.settings.alert_egress_cidrs), ports=_k8s.tcp(25, 465, 587, 443),
        )])


ALERTMANAGER_TRUST_BUNDLE = f"/etc/alertmanager/configmaps/{_k8s.TRUST_BUNDLE}/{_k8s.TRUST_BUNDLE_KEY}"
"""Where the operator mounts the monitoring namespace's trust bundle (alertmanagerSpec.configMaps)."""


def alertmanager_config(settings: ObservabilityConfig, smtp_password: str | None, webhook_url: str | None,
                        dead_mans_switch_url: str | None = None, trust_bundle: bool = False) -> str:
    """Alerts to the on-call receiver; Watchdog, which always fires, to the external dead-man's switch.

    The switch raises its own alarm when the heartbeats stop: Prometheus, its rules or Alertmanager
    down, or the monitoring namespace cut off. InfoInhibitor only silences info alerts and goes nowhere.
    """
    receiver: dict = {"name": RECEIVER}
    email = settings.alert_email
    if email is not None:
        target = {"to": email.to, "from": email.sender, "smarthost": email.smarthost, "require_tls": True,
                  "send_resolved": True}
        if email.username:
            target.update(auth_username=email.username, auth_password=smtp_password)
        if trust_bundle:
            # The relay's STARTTLS certificate is verified against the site's CA.
            target["tls_config"] = {"ca_file": ALERTMANAGER_TRUST_BUNDLE}
        receiver["email_configs"] = [target]
    if settings.alert_webhook:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    receivers = [receiver, {"name": NULL_RECEIVER}]
    routes: list[dict] = [{"receiver": NULL_RECEIVER, "matchers": ['alertname = "InfoInhibitor"']}]
    if dead_mans_switch_url:
        receivers.append({"name": DEAD_MANS_SWITCH,
                          "webhook_configs": [{"url": dead_mans_switch_url, "send_resolved": False}]})
        # A heartbeat every minute; the switch alarms when they stop.
        routes.insert(0, {"receiver": DEAD_MANS_SWITCH, "matchers": ['alertname = "Watchdog"'],
                          "group_wait": "0s", "group_interval": "1m", "repeat_interval": "1m"})
    else:
        routes.insert(0, {"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"']})
    config = {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname", "model_name"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [{"source_matchers": ['alertname = "InfoInhibitor"'], "target_matchers": ['severity = "info"'],
                           "equal": ["namespace"]}],
        "receivers": receivers,
    }
    return yaml.safe_dump(config, sort_keys=True)


# Where kube-prometheus-stack and its subcharts take each image's digest: (values path, upstream image). The chart's
# own templates write `<repository>:<tag>@sha256:<sha>`, so `sha` is the hex alone; kube-state-metrics writes
# `<tag>@<sha>`, so there it carries the algorithm.
STACK_IMAGES = (
    (("prometheusOperator", "image"), "quay.io/prometheus-operator/prometheus-operator"),
    (("prometheusOperator", "prometheusConfigReloader", "image"), "quay.io/prometheus-operator/prometheus-config-reloader"),
    (("prometheusOperator", "thanosImage"), "quay.io/thanos/thanos"),
    (("prometheusOperator", "admissionWebhooks", "patch", "image"), "ghcr.io/jkroepke/kube-webhook-certgen"),
    (("prometheus", "prometheusSpec", "image"), "quay.io/prometheus/prometheus"),
    (("alertmanager", "alertmanagerSpec", "image"), "quay.io/prometheus/alertmanager"),
    (("grafana", "image"), "docker.io/grafana/grafana"),
    (("grafana", "sidecar", "image"), "quay.io/kiwigrid/k8s-sidecar"),
    (("kube-state-metrics", "image"), "registry.k8s.io/kube-state-metrics/kube-state-metrics"),
)
WITH_ALGORITHM = {"kube-state-metrics"}


def stack_image_digests(registry: RegistryConfig, kubernetes_version: str) -> dict:
    """The digest of the site's copy of every image the chart renders, where the site gave one (values to merge)."""
    chart = versions.KUBE_PROMETHEUS_STACK
    pinned = [(path, chart.image(upstream)) for path, upstream in STACK_IMAGES]
    pinned += [(("crds", "upgradeJob", "image", "kubectl"), kubectl_image(kubernetes_version))]
    # The CRD upgrade Job writes busybox's `sha` only when `upgradeJob.image.sha` (no image's) is set, so its digest
    # rides on the tag instead (`<repository>:<tag>@<digest>`).
    values: dict = {"crds": {"upgradeJob": {"image": {"busybox": pinned_tag(registry, versions.BUSYBOX)}}}}
    for path, image in pinned:
        digest = image_digest(registry, image)
        if not digest:
            continue
        node = values
        for key in path:
            node = node.setdefault(key, {})
        node["sha"] = digest if path[0] in WITH_ALGORITHM else digest.removeprefix("sha256:")
    return values


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def stack_values(settings: ObservabilityConfig, storage_class: str, registry: str, trust_bundle: bool = False) -> dict:
    """kube-prometheus-stack values: the platform's selectors, storage, secrets, and restricted-safe parts only.

    The stack's own monitors and rules are used on purpose: they carry the platform's selector label
    (``commonLabels``), so Prometheus watches itself, Alertmanager, the operator, kube-state-metrics,
    the API server, CoreDNS and Grafana, and the dead-man's switch (``Watchdog``) fires. Rule groups
    for targets a Tanzu workload cluster does not expose (etcd, scheduler, controller manager, kube-proxy,
    kubelet on the node network, node-exporter) are off, or they would alert on absent series.
    """
    selector = {"matchLabels": MONITOR_LABELS}
    monitored = {"additionalLabels": MONITOR_LABELS}
    off = {"enabled": False}
    return {
        "fullnameOverride": RELEASE,
        # Every image of the stack and its subcharts from the private registry, same paths as upstream.
        "global": {"imageRegistry": registry, "imagePullSecrets": [{"name": _k8s.PULL_SECRET}]},
        "commonLabels": MONITOR_LABELS,
        # Helm never upgrades the CRDs of a chart's crds/ folder; the chart's hook Job applies the
        # pinned version's CRDs before each upgrade.
        "crds": {"upgradeJob": {"enabled": True, "image": {
            "busybox": {"registry": registry, "repository": versions.BUSYBOX.path,
                        "tag": versions.BUSYBOX.tag},
            "kubectl": {"registry": registry},
        }, "resources": _resources("100m", "128Mi", "500m", "512Mi")}},
        # The chart sets no requests or limits anywhere; each part gets both, sized for one cluster's objects.
        "prometheusOperator": {
            "resources": _resources("100m", "128Mi", "500m", "512Mi"),
            # The admission certificate Jobs run kube-webhook-certgen, a static binary that writes nothing to disk:
            # any UID serves, and one above the node's own users (the chart's is 2000).
            "admissionWebhooks": {"patch": {"resources": _resources("50m", "32Mi", "100m", "128Mi"),
                                            "securityContext": {"runAsUser": 65534, "runAsGroup": 65534}}},
        },
        "prometheus": {"prometheusSpec": {
            "retention": f"{settings.prometheus_retention_days}d",
            "serviceMonitorSelector": selector,
            "podMonitorSelector": selector,
            "ruleSelector": selector,
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "podMonitorSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False,
            "serviceMonitorNamespaceSelector": {},
            "podMonitorNamespaceSelector": {},
            "ruleNamespaceSelector": {},
            "storageSpec": {"volumeClaimTemplate": {"spec": {
                "storageClassName": storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{settings.prometheus_storage_gib}Gi"}},
            }}},
            # Metrics history outlives the Prometheus StatefulSet.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            # The label the scrape openings of other namespaces (the model port among them) admit.
            "podMetadata": {"labels": {"onprem-llm.io/role": PROMETHEUS_POD_LABELS["onprem-llm.io/role"]}},
        }},
        "alertmanager": {"alertmanagerSpec": {
            "useExistingSecret": True, "configSecret": ALERTMANAGER_SECRET,
            **({"configMaps": [_k8s.TRUST_BUNDLE]} if trust_bundle else {})}},
        "grafana": {
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            # The chart's own role would let Grafana (and anyone running a pod as its account) read every
            # Secret; it gets the program's role instead, which reads ConfigMaps in its namespace only.
            "rbac": {"namespaced": True, "useExistingRole": GRAFANA_ROLE},
            "sidecar": {
                "dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1", "resource": "configmap"},
                "datasources": {"resource": "configmap"},
                "resources": _resources("50m", "64Mi", "200m", "256Mi"),
            },
            "serviceMonitor": {"labels": MONITOR_LABELS},
            "resources": _resources("100m", "256Mi", "1", "1Gi"),
            # `helm test` is never run by the platform; the chart's test pod is not rendered.
            "testFramework": {"enabled": False},
        },
        # The chart's default collectors include secrets, for which its ClusterRole lists and watches every Secret
        # of the cluster; the platform alerts on none of them, so that collector (and the grant) is off.
        "kube-state-metrics": {"prometheus": {"monitor": monitored}, "collectors": list(KSM_COLLECTORS),
                               "resources": _resources("50m", "128Mi", "500m", "512Mi")},
        # node-exporter needs host networking and host paths, which Pod Security restricted forbids;
        # GPU nodes are watched through DCGM instead.
        "nodeExporter": off,
        # Control-plane components of a Tanzu cluster are not reachable for scraping, and the kubelets
        # listen on the node network, which the monitoring namespace's egress policy does not open.
        "kubeEtcd": off,
        "kubeScheduler": off,
        "kubeControllerManager": off,
        "kubeProxy": off,
        "kubelet": off,
        "defaultRules": {"rules": {
            "etcd": False, "kubeSchedulerAlerting": False, "kubeSchedulerRecording": False,
            "kubeControllerManager": False, "kubeProxy": False, "kubelet": False, "node": False,
            "nodeExporterAlerting": False, "nodeExporterRecording": False, "kubePrometheusNodeRecording": False,
            "network": False, "windows": False,
            "k8sContainerCpuUsageSecondsTotal": False, "k8sContainerMemoryCache": False,
            "k8sContainerMemoryRss": False, "k8sContainerMemorySwap": False, "k8sContainerResource": False,
            "k8sContainerMemoryWorkingSetBytes": False,
        }},
    }
