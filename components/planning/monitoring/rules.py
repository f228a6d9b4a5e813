"""Recording and alerting rules for the model endpoints, the GPUs and the backups.

The returned groups are the body of a PrometheusRule and, unchanged, a Prometheus rule file, so
``promtool check rules`` and ``promtool test rules`` judge exactly what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


REVISION_ROLE = "revision_role"
"""Label of every vLLM series: ``current`` or ``candidate`` (the ServiceMonitor sets it)."""
ROLE_ERROR_RATIO = "service_revision_role:vllm_http_errors:ratio5m"
ROLE_E2E_P95 = "model_name_revision_role:vllm_e2e_latency_seconds:p95_5m"
ROLE_GENERATION_TOKENS = "model_name_revision_role:vllm_generation_tokens:rate5m"


@dataclass(frozen=True)
class CanaryWatch:
    """A model served by two revisions at once, and how much worse the candidate may be before an alert."""

    served_model_name: str
    current_service: str
    candidate_service: str
    error_rate_margin: float
    latency_margin: float


EVALUATION_SCORE = "onprem_llm_model_evaluation_score"


@dataclass(frozen=True)
class EvaluationScore:
    """An evaluation record from config (models.<key>.evaluation or its candidate's)."""

    served_model_name: str
    revision_role: str
    weights_manifest: str
    score: float
    result_digest: str


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
    gateway_namespace: str = "api-gateway"
    """Where the gateway's proxies run: nodes with a proxy must ship the gateway stream."""
    sealing_namespace: str = "audit-sealing"
    """Where the daily manifest CronJob runs."""
    group_quotas: dict[str, int] = field(default_factory=dict)
    """Per group, its monthly token quota at the gateway (gateway.monthlyTokenQuotas)."""
    quota_alert_ratio: float = 0.8
    cost_per_million_tokens_usd: float | None = None
    """The chargeback rate the usage dashboard prices tokens at."""
    group_models: tuple[str, ...] = ()
    """Served names of the models whose replicas span nodes (LeaderWorkerSet groups)."""
    itl_target_seconds: float = 0.05
    """The inter-token latency the capacity plan sizes for (cost.itlTargetSeconds)."""
    canaries: tuple[CanaryWatch, ...] = ()
    """Models with a candidate beside the current revision (models.<key>.candidate)."""
    evaluations: tuple[EvaluationScore, ...] = ()
    """The evaluation records config holds, exported as a metric."""


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


AUDIT_STREAMS = {"apiserver": "the API-server audit log", "gateway": "the gateway access log"}
"""The shipper's streams: input alias in-<stream>, output alias s3-<stream>."""
MANIFEST_CRONJOB = "audit-manifest"
MANIFEST_OVERDUE_SECONDS = 26 * 3600
"""The daily seal runs at 00:30; later than 02:30 the next day means a day went unsealed."""


def audit_alerts(settings: RuleSettings) -> dict[str, Any]:
    """Shipping is watched per stream and per node, on series that exist when shipping works and vanish when it
    does not: inputs read (Fluent Bit's S3 output counts buffered records as processed, so its progress proves
    nothing), upload errors and dropped retries (the daily seal's own success: ``audit_seal_alerts``)."""
    outputs = 'name=~"s3-.*"'
    records = "fluentbit_input_records_total"
    nodes_needing = {
        "apiserver": 'count by (node) (kube_node_role{role="control-plane"})',
        "gateway": f'count by (node) (kube_pod_info{{namespace="{settings.gateway_namespace}",pod=~"envoy-.*"}})',
    }
    rules = [
        _alert(settings, "AuditLogShippingErrors",
               f"increase(fluentbit_output_errors_total{{{outputs}}}[15m]) > 0 "
               f"or increase(fluentbit_output_retries_failed_total{{{outputs}}}[15m]) > 0",
               "0m", "critical", "Audit log uploads to {{ $labels.name }} are failing",
               "Fluent Bit cannot write audit records to the locked bucket, or gave up on a chunk after its retries; "
               "check the endpoint, credentials and CA."),
    ]
    for stream, what in AUDIT_STREAMS.items():
        rules += [
            _alert(settings, "AuditStreamAbsent", f'absent({records}{{name="in-{stream}"}})', "10m", "critical",
                   f"No log shipper reports {what}",
                   "No Fluent Bit pod exports this stream's input: the shipper is down everywhere or its scrape broke.",
                   stream=stream),
            _alert(settings, "AuditShipperMissingOnNode",
                   f'{nodes_needing[stream]} unless on (node) count by (node) ({records}{{name="in-{stream}"}})',
                   "10m", "critical", "{{ $labels.node }} writes " + what + " but ships none of it",
                   "The node runs what writes this stream, and no log shipper on it reports reading it: records pile "
                   "up unshipped until the node's log rotation drops them.", stream=stream),
        ]
    rules.append(
        _alert(settings, "AuditLogsStalled",
               f'sum by (node) (increase({records}{{name="in-apiserver"}}[15m])) == 0', "15m", "critical",
               "No API-server audit records read on {{ $labels.node }} for 15 minutes",
               "The API server writes audit events all the time (leases, watches); none were read, so the audit "
               "policy, the log path or the shipper on this control-plane node changed.", stream="apiserver"))
    return {"name": "audit.alerts", "rules": rules}


def audit_seal_alerts(settings: RuleSettings) -> dict[str, Any]:
    """The daily seal's own alerts: a Job that runs once a day is judged every 5 minutes, not at the global
    interval the shipping alerts need."""
    cronjob = f'namespace="{settings.sealing_namespace}",cronjob="{MANIFEST_CRONJOB}"'
    rules = [
        _alert(settings, "AuditManifestJobFailed", f'kube_job_status_failed{{namespace="{settings.sealing_namespace}"}} > 0',
               "0m", "critical", "The audit manifest Job {{ $labels.job_name }} failed",
               "The day was not sealed; the next run catches it up and marks it late. Read the Job's log."),
        _alert(settings, "AuditManifestOverdue",
               f"(time() - max(kube_cronjob_status_last_successful_time{{{cronjob}}}) > {MANIFEST_OVERDUE_SECONDS}) "
               f"or (absent(kube_cronjob_status_last_successful_time{{{cronjob}}}) and on () "
               f"(time() - max(kube_cronjob_created{{{cronjob}}}) > {MANIFEST_OVERDUE_SECONDS}))",
               "0m", "critical", "No audit day was sealed in the last 26 hours",
               "The daily signed manifest did not run or did not succeed; the trail of the missed days is not yet "
               "signed or anchored."),
    ]
    return {"name": "audit.seal.alerts", "interval": "5m", "rules": rules}


GATEWAY_TOKEN_METRIC = "gen_ai_client_token_usage_sum"
TOKEN_TYPES = 'gen_ai_token_type=~"input|output"'
"""Prompt plus completion tokens the AI gateway counted, labelled llm_user, llm_group and gen_ai_request_model."""
GATEWAY_TOKENS = f"{GATEWAY_TOKEN_METRIC}{{{TOKEN_TYPES}}}"
GROUP_TOKENS = "llm_group:gateway_tokens:rate5m"
QUOTA_WINDOW = "30d"
"""The rate-limit service's month is a fixed 30-day window; the alert looks at the last 30 days."""


def gateway_recording_rules() -> dict[str, Any]:
    return {"name": "gateway.recording", "interval": "30s", "rules": [
        {"record": GROUP_TOKENS,
         "expr": f"sum by (llm_group, gen_ai_request_model) (rate({GATEWAY_TOKENS}[5m]))"},
    ]}


def group_tokens_last_30_days(group: str) -> str:
    """Tokens of one group over the last 30 days (group names carry no quote or backslash: config refuses them)."""
    return f'sum(increase({GATEWAY_TOKEN_METRIC}{{{TOKEN_TYPES},llm_group="{group}"}}[{QUOTA_WINDOW}]))'


def quota_alerts(settings: RuleSettings) -> dict[str, Any]:
    rules = []
    for group, quota in sorted(settings.group_quotas.items()):
        used = group_tokens_last_30_days(group)
        near = round(quota * settings.quota_alert_ratio)
        rules += [
            _alert(settings, "LlmGroupQuotaNearlyUsed", f"{used} > {near}", "15m", "warning",
                   f"Group {group} has used {int(settings.quota_alert_ratio * 100)}% of its monthly token quota",
                   f"{{{{ $value | humanize }}}} of {quota} tokens in the last 30 days; at the quota the gateway refuses "
                   "the group's requests with 429 until the window resets. Raise gateway.monthlyTokenQuotas or agree a "
                   "budget with the department.", llm_group=group),
            _alert(settings, "LlmGroupQuotaExhausted", f"{used} >= {quota}", "0m", "critical",
                   f"Group {group} has used its monthly token quota",
                   f"{{{{ $value | humanize }}}} of {quota} tokens in the last 30 days: the group's requests get 429.",
                   llm_group=group),
        ]
    return {"name": "gateway.quota.alerts", "interval": "5m", "rules": rules}


def revision_recording_rules() -> dict[str, Any]:
    """Per revision of a model (current and candidate share the served name; ``revision_role`` tells them apart)."""
    by_role = f"model_name, {REVISION_ROLE}"
    rules = [
        (ROLE_ERROR_RATIO,
         f'sum by (service, {REVISION_ROLE}) (rate(http_requests_total{{job="{VLLM_JOB}",status="5xx"}}[5m]))'
         f' / sum by (service, {REVISION_ROLE}) (rate(http_requests_total{{job="{VLLM_JOB}"}}[5m]))'),
        (ROLE_E2E_P95, f"histogram_quantile(0.95, sum by (le, {by_role}) (rate(vllm:e2e_request_latency_seconds_bucket[5m])))"),
        (ROLE_GENERATION_TOKENS, f"sum by ({by_role}) (rate(vllm:generation_tokens_total[5m]))"),
    ]
    return {"name": "vllm.revisions.recording", "interval": "30s", "rules": [{"record": r, "expr": e} for r, e in rules]}


def canary_alerts(settings: RuleSettings) -> dict[str, Any]:
    """A candidate worse than the current revision by more than its margins: roll it back (remove the candidate)."""
    rules = []
    for c in settings.canaries:
        def errors(service: str) -> str:
            return f'{ROLE_ERROR_RATIO}{{service="{service}"}}'

        def latency(role: str, served: str = c.served_model_name) -> str:
            return f'{ROLE_E2E_P95}{{model_name="{served}",{REVISION_ROLE}="{role}"}}'

        rules += [
            _alert(settings, "VllmCandidateErrorRateWorse",
                   f"{errors(c.candidate_service)} - ignoring(service, {REVISION_ROLE}) "
                   f"{errors(c.current_service)} > {c.error_rate_margin:g}",
                   "10m", "warning", f"The candidate of {c.served_model_name} fails more requests than the current revision",
                   f"The candidate's 5xx share exceeds the current revision's by {{{{ $value | humanizePercentage }}}} "
                   f"(margin {c.error_rate_margin:g}). Roll back: remove models.<key>.candidate.",
                   model_name=c.served_model_name),
            _alert(settings, "VllmCandidateSlower",
                   f"{latency('candidate')} > ignoring({REVISION_ROLE}) "
                   f"{1 + c.latency_margin:g} * {latency('current')}",
                   "10m", "warning", f"The candidate of {c.served_model_name} is slower than the current revision",
                   f"Its p95 end-to-end latency is {{{{ $value | humanizeDuration }}}}, more than {c.latency_margin:.0%} above "
                   "the current revision's. Check its layout and quantization, or roll back.",
                   model_name=c.served_model_name),
        ]
    return {"name": "vllm.canary.alerts", "rules": rules}


def evaluation_rules(settings: RuleSettings) -> dict[str, Any]:
    """Each recorded evaluation as a series: its score, labelled with the revision and the weights it graded."""
    return {"name": "model.evaluations", "interval": "5m", "rules": [
        {"record": EVALUATION_SCORE, "expr": f"vector({e.score:g})",
         "labels": {"model_name": e.served_model_name, REVISION_ROLE: e.revision_role,
                    "weights_manifest": e.weights_manifest, "result_digest": e.result_digest}}
        for e in settings.evaluations]}


def rule_groups(settings: RuleSettings) -> list[dict[str, Any]]:
    groups = [recording_rules(), vllm_alerts(settings), gpu_alerts(settings), gateway_recording_rules()]
    if settings.group_quotas:
        groups.append(quota_alerts(settings))
    if settings.group_models:
        groups += [group_recording_rules(), group_alerts(settings)]
    if settings.canaries:
        groups += [revision_recording_rules(), canary_alerts(settings)]
    if settings.evaluations:
        groups.append(evaluation_rules(settings))
    if settings.backup_rpo_seconds is not None:
        groups.append(backup_alerts(settings))
    if settings.audit:
        groups += [audit_alerts(settings), audit_seal_alerts(settings)]
    return groups
