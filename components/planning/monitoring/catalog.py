"""The metric names rules, dashboards and autoscalers may use.

Every name here is exported by the component that owns it at the pinned versions (vLLM V1
engine, NVIDIA DCGM exporter default counters, Velero server). A name outside this list is a
typo or a removed metric (`vllm:gpu_cache_usage_perc`), and the tests refuse it.
"""

from __future__ import annotations

VLLM = frozenset({
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:num_preemptions_total",
    "vllm:prefix_cache_queries",
    "vllm:prefix_cache_hits",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:request_success_total",
    "vllm:cache_config_info",
    "vllm:lora_requests_info",
})

VLLM_HISTOGRAMS = frozenset({
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:request_time_per_output_token_seconds",
    "vllm:e2e_request_latency_seconds",
    "vllm:request_queue_time_seconds",
    "vllm:request_prefill_time_seconds",
    "vllm:request_decode_time_seconds",
    "vllm:request_inference_time_seconds",
    "vllm:request_prompt_tokens",
    "vllm:request_generation_tokens",
    "vllm:request_params_n",
    "vllm:request_params_max_tokens",
    "vllm:iteration_tokens_total",
})

HTTP = frozenset({"http_requests_total"})

DCGM = frozenset({
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
    "DCGM_FI_DEV_VGPU_LICENSE_STATUS", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_ROW_REMAP_FAILURE",
})

VELERO = frozenset({
    "velero_backup_last_successful_timestamp", "velero_backup_attempt_total", "velero_backup_success_total",
    "velero_backup_failure_total", "velero_backup_partial_failure_total", "velero_backup_tarball_size_bytes",
    "velero_restore_attempt_total", "velero_restore_success_total", "velero_restore_failed_total",
    "velero_restore_validation_failed_total",
})
VELERO_HISTOGRAMS = frozenset({"velero_backup_duration_seconds"})

FLUENT_BIT = frozenset({
    "fluentbit_output_errors_total", "fluentbit_output_retries_failed_total", "fluentbit_output_proc_records_total",
    "fluentbit_input_records_total",
})
"""Fluent Bit's own exporter (/api/v2/metrics/prometheus), label `name` = the input's or output's alias; the
platform's ServiceMonitor adds `node`. (The S3 output counts records as processed when they enter its local
buffer, not when uploaded, so rules read inputs, errors and failed retries, never output progress alone.)"""

KUBE_STATE_METRICS = frozenset({
    "kube_node_role", "kube_pod_info", "kube_cronjob_status_last_successful_time", "kube_cronjob_created",
    "kube_job_status_failed",
})
"""kube-state-metrics of kube-prometheus-stack (label `node` on kube_node_role and kube_pod_info)."""

AI_GATEWAY_HISTOGRAMS = frozenset({
    "gen_ai_client_token_usage", "gen_ai_server_request_duration", "gen_ai_server_time_to_first_token",
    "gen_ai_server_time_per_output_token",
})
"""The AI gateway's OpenTelemetry GenAI metrics as Prometheus names (its external processor, port 1064); labels
include gen_ai_token_type (input, output, total), gen_ai_request_model and, from request headers, llm_user and
llm_group."""

PROMETHEUS = frozenset({"up"})
"""Synthesised by Prometheus for every scrape target."""

REMOVED = frozenset({
    "vllm:gpu_cache_usage_perc", "vllm:gpu_prefix_cache_queries", "vllm:gpu_prefix_cache_hits",
    "vllm:time_per_output_token_seconds", "vllm:num_requests_swapped", "vllm:cpu_cache_usage_perc",
    "vllm:gpu_prefix_cache_hit_rate", "vllm:avg_prompt_throughput_toks_per_s",
    "vllm:avg_generation_throughput_toks_per_s", "vllm_request_latency_ms", "vllm_tokens_generated_total",
    "vllm_queue_size", "nvidia_smi_memory_used_mb", "nvidia_smi_memory_total_mb",
})


def _with_histogram_series(names: frozenset[str]) -> frozenset[str]:
    return frozenset(f"{n}{suffix}" for n in names for suffix in ("_bucket", "_sum", "_count"))


EXPORTED = (
    VLLM | HTTP | DCGM | VELERO | FLUENT_BIT | KUBE_STATE_METRICS | PROMETHEUS
    | _with_histogram_series(VLLM_HISTOGRAMS) | _with_histogram_series(VELERO_HISTOGRAMS)
    | _with_histogram_series(AI_GATEWAY_HISTOGRAMS)
)
"""Every series name a scrape can produce."""
