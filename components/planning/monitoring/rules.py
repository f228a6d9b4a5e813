"""Recording and alerting rules for the model endpoints, the GPUs and the backups.

The returned groups are the body of a PrometheusRule and, unchanged, a Prometheus rule file, so
``promtool check rules`` and ``promtool test rules`` judge exactly what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VLLM_JOB = "vllm"
"""Job label of every vLLM target (the ServiceMonitor's jobLabel resolves to it)."""

# Recording rule names follow level:metric:operations.
REQUESTS = "model_name:vllm_requests:rate5m"
GENERATION_TOKENS = "model_name:vllm_generation_tokens:rate1m"
PROMPT_TOKENS = "model_name:vllm_prompt_tokens:rate1m"
E2E_LATENCY = "model_name:vllm_e2e_latency_seconds:p{q}_5m"
TTFT_P95 = "model_name:vllm_time_to_first_token_seconds:p95_5m"
ITL_P95 = "model_name:vllm_inter_token_latency_seconds:p95_5m"
KV_CACHE_MAX = "model_name:vllm_kv_cache_usage:max"
QUEUE_DEPTH = "model_name:vllm_requests_waiting:sum"
GROUP_GENERATION_TOKENS = "model_name_group:vllm_generation_tokens:rate1m"
GROUP_ITL_P95 = "model_name_group:vllm_inter_token_latency_seconds:p95_5m"
GROUPS_SERVING = "model_name:vllm_groups_serving:count"
GROUP = "group"
"""Label of a replica across nodes: the index of its LeaderWorkerSet group (the ServiceMonitor sets it on the
leader's series; a single-node replica's series have none)."""


@dataclass(frozen=True)
class RuleSettings:
    serving_namespace: str
    served_model_names: tuple[str, ...]
    latency_p95_threshold_seconds: float
    queue_per_replica_threshold: float
    gpu_temperature_celsius: int
    runbook_base_url: str
    vgpu: bool
    """Watch the vGPU licence state (vgpu mode only)."""
    backup_rpo_seconds: int | None = None
    """Alert when the newest backup is older than this; None when DR is off."""
    audit: bool = False
    """Watch the audit log shipper."""
    group_models: tuple[str, ...] = ()
    """Served names of the models whose replicas span nodes (LeaderWorkerSet groups)."""
    itl_target_seconds: float = 0.05
    """The inter-token latency the capacity plan sizes for (cost.itlTargetSeconds)."""


def _quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le, model_name) (rate({histogram}_bucket[5m])))"


def recording_rules() -> dict[str, Any]:
    rules = [
        (REQUESTS, "sum by (model_name) (rate(vllm:request_success_total[5m]))"),
        (GENERATION_TOKENS, "sum by (model_name) (rate(vllm:generation_tokens_total[1m]))"),
        (PROMPT_TOKENS, "sum by (model_name) (rate(vllm:prompt_tokens_total[1m]))"),
        *((E2E_LATENCY.format(q=int(q * 100)), _quantile(q, "vllm:e2e_request_latency_seconds")) for q in (0.5, 0.95, 0.99)),
        (TTFT_P95, _quantile(0.95, "vllm:time_to_first_token_seconds")),
        (ITL_P95, _quantile(0.95, "vllm:inter_token_latency_seconds")),
        (KV_CACHE_MAX, "max by (model_name) (vllm:kv_cache_usage_perc)"),
        (QUEUE_DEPTH, "sum by (model_name) (vllm:num_requests_waiting)"),
    ]
    return {"name": "vllm.recording", "interval": "30s", "rules": [{"record": r, "expr": e} for r, e in rules]}


def _alert(settings: RuleSettings, name: str, expr: str, duration: str, severity: str, summary: str,
           description: str, **labels: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, **labels},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{settings.runbook_base_url}#alert-{name.lower()}",
        },
    }


def vllm_alerts(settings: RuleSettings) -> dict[str, Any]:
    threshold = settings.latency_p95_threshold_seconds
    rules = [
        _alert(settings, "VllmHighP95Latency", f"{E2E_LATENCY.format(q=95)} > {threshold}", "5m", "warning",
               "p95 end-to-end latency of {{ $labels.model_name }} is above " + f"{threshold}s",
               "p95 over 5 minutes is {{ $value | humanizeDuration }}. Check queue depth and KV-cache use; add replicas."),
        _alert(settings, "VllmQueueDepthHigh",
               f"avg by (model_name) (vllm:num_requests_waiting) > {settings.queue_per_replica_threshold}", "5m", "warning",
               "Requests are queueing for {{ $labels.model_name }}",
               "{{ $value }} requests wait per replica. The autoscaler may be at its maximum or GPUs are exhausted."),
        _alert(settings, "VllmKvCacheNearlyFull", "max by (model_name, pod) (vllm:kv_cache_usage_perc) > 0.9", "10m",
               "warning", "KV cache of {{ $labels.pod }} is above 90%",
               "Long contexts or high concurrency fill the KV cache; vLLM starts preempting requests."),
        _alert(settings, "VllmPreemptions", "sum by (model_name) (rate(vllm:num_preemptions_total[5m])) > 0", "10m",
               "warning", "{{ $labels.model_name }} is preempting requests",
               "Requests are evicted from the KV cache and recomputed: latency rises. Lower max-num-seqs or add replicas."),
        _alert(settings, "VllmTargetDown",
               f'up{{job="{VLLM_JOB}",{GROUP}=""}} == 0' if settings.group_models else f'up{{job="{VLLM_JOB}"}} == 0',
               "2m", "critical",
               "vLLM replica {{ $labels.pod }} cannot be scraped",
               "The replica is down or not answering on port http."),
        _alert(settings, "VllmHighErrorRate",
               f'sum by (service) (rate(http_requests_total{{job="{VLLM_JOB}",status="5xx"}}[5m]))'
               f' / sum by (service) (rate(http_requests_total{{job="{VLLM_JOB}"}}[5m])) > 0.05',
               "5m", "critical", "More than 5% of requests to {{ $labels.service }} fail",
               "Server errors from vLLM; check the pod logs and the GPU alerts."),
    ]
    rules += [
        _alert(settings, "VllmNoReadyReplica",
               f'absent(vllm:num_requests_running{{namespace="{settings.serving_namespace}",model_name="{served}"}})',
               "5m", "critical", f"No replica is serving {served}",
               "No replica of the model exports metrics: the endpoint is down.", model_name=served)
        for served in settings.served_model_names
    ]
    return {"name": "vllm.alerts", "rules": rules}


def group_recording_rules() -> dict[str, Any]:
    """Per LeaderWorkerSet group: its leader's series carry the group's index."""
    grouped = f'{GROUP}!=""'
    rules = [
        (GROUP_GENERATION_TOKENS, f"sum by (model_name, {GROUP}) (rate(vllm:generation_tokens_total{{{grouped}}}[1m]))"),
        (GROUP_ITL_P95, f"histogram_quantile(0.95, sum by (le, model_name, {GROUP}) "
                        f"(rate(vllm:inter_token_latency_seconds_bucket{{{grouped}}}[5m])))"),
        (GROUPS_SERVING, f"count by (model_name) (vllm:num_requests_running{{{grouped}}})"),
    ]
    return {"name": "vllm.groups.recording", "interval": "30s", "rules": [{"record": r, "expr": e} for r, e in rules]}


def group_alerts(settings: RuleSettings) -> dict[str, Any]:
    """Alerts on replicas across nodes, one LeaderWorkerSet group each: a group is up or down as a whole."""
    slow = 2 * settings.itl_target_seconds
    return {"name": "vllm.groups.alerts", "rules": [
        _alert(settings, "VllmGroupDown", f'up{{job="{VLLM_JOB}",{GROUP}!=""}} == 0', "2m", "critical",
               "Group {{ $labels.group }} behind {{ $labels.service }} is down",
               "The group's leader cannot be scraped. One lost pod (node, GPU, Ray worker) takes its whole group down; "
               "the LeaderWorkerSet recreates the group, which then loads the model again on every node."),
        _alert(settings, "VllmGroupSlowDecode", f"{GROUP_ITL_P95} > {slow:g}", "10m", "warning",
               "Group {{ $labels.group }} of {{ $labels.model_name }} decodes slower than planned",
               "Its p95 inter-token latency is {{ $value | humanizeDuration }}, more than twice the "
               f"{settings.itl_target_seconds:g} s the capacity plan sizes for: a stage on a throttled or faulty GPU, "
               "or a congested network between the group's nodes."),
    ]}


def gpu_alerts(settings: RuleSettings) -> dict[str, Any]:
    rules = [
        _alert(settings, "GpuMemoryNearlyFull",
               "100 * DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 98", "10m", "warning",
               "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has less than 2% memory free",
               "vLLM pre-allocates about 90%; more means another process shares the GPU or allocation is failing."),
        _alert(settings, "GpuTemperatureHigh", f"DCGM_FI_DEV_GPU_TEMP > {settings.gpu_temperature_celsius}", "5m",
               "warning", "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} runs at {{ $value }} C",
               "Check the host's cooling and fans; the GPU will throttle."),
        _alert(settings, "GpuXidError", "changes(DCGM_FI_DEV_XID_ERRORS[10m]) > 0", "0m", "critical",
               "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported Xid {{ $value }}",
               "/health does not notice GPU faults. Drain the node and check the Xid in NVIDIA's table."),
    ]
    if settings.vgpu:
        rules.append(_alert(settings, "GpuVgpuUnlicensed", "DCGM_FI_DEV_VGPU_LICENSE_STATUS != 1", "15m", "critical",
                            "vGPU {{ $labels.gpu }} on {{ $labels.Hostname }} is not licensed",
                            "Unlicensed vGPUs are throttled. Check the NLS token and the licence server."))
    return {"name": "gpu.alerts", "rules": rules}


def backup_alerts(settings: RuleSettings) -> dict[str, Any]:
    rpo = settings.backup_rpo_seconds
    return {"name": "backup.alerts", "rules": [
        _alert(settings, "BackupOlderThanRpo", f"time() - velero_backup_last_successful_timestamp > {rpo}", "5m",
               "critical", "Last successful backup of {{ $labels.schedule }} is older than the RPO",
               f"The newest backup is older than {rpo} seconds: data written since would be lost in a disaster."),
        _alert(settings, "BackupFailed", "increase(velero_backup_failure_total[1h]) > 0", "0m", "critical",
               "Backup schedule {{ $labels.schedule }} failed", "Check `velero backup describe` for the failed backup."),
    ]}


def audit_alerts(settings: RuleSettings) -> dict[str, Any]:
    outputs = 'name=~"s3-.*"'
    return {"name": "audit.alerts", "rules": [
        _alert(settings, "AuditLogShippingErrors", f"increase(fluentbit_output_errors_total{{{outputs}}}[15m]) > 0",
               "0m", "critical", "Audit log uploads to {{ $labels.name }} are failing",
               "Fluent Bit cannot write audit records to the locked bucket; check the endpoint, credentials and CA."),
        _alert(settings, "AuditLogsStalled",
               f"sum(increase(fluentbit_output_proc_records_total{{{outputs}}}[15m])) == 0", "15m", "critical",
               "No audit records were uploaded for 15 minutes",
               "The API-server audit trail has a gap; check the log shipper pods on the control-plane nodes."),
    ]}


def rule_groups(settings: RuleSettings) -> list[dict[str, Any]]:
    groups = [recording_rules(), vllm_alerts(settings), gpu_alerts(settings)]
    if settings.group_models:
        groups += [group_recording_rules(), group_alerts(settings)]
    if settings.backup_rpo_seconds is not None:
        groups.append(backup_alerts(settings))
    if settings.audit:
        groups.append(audit_alerts(settings))
    return groups
