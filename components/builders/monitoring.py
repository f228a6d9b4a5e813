"""Names shared between the monitoring stack and the workloads it watches."""

from __future__ import annotations

MONITOR_LABELS = {"onprem-llm.io/monitor": "platform"}
"""Label on every ServiceMonitor, PodMonitor and PrometheusRule Prometheus should select."""

PROMETHEUS_SERVICE = "kube-prometheus-stack-prometheus"
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus", "onprem-llm.io/role": "metrics-scraper"}
"""Labels of the Prometheus pods: the operator sets the first, the stack's values (podMetadata) the second;
NetworkPolicies that admit scrapes select these pods in the monitoring namespace, nothing else there."""
PROMETHEUS_PORT = 9090


def prometheus_url(monitoring_namespace: str) -> str:
    """In-cluster address of Prometheus, as KEDA's Prometheus scaler queries it."""
    return f"http://{PROMETHEUS_SERVICE}.{monitoring_namespace}.svc.cluster.local:{PROMETHEUS_PORT}"
