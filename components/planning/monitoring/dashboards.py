"""Grafana dashboards as data: one for the model endpoints, one for the GPUs.

Panels are declared as (title, unit, expressions) and laid out on a grid, so a dashboard is a
short table rather than pasted JSON. ``$model`` is a dashboard variable over served model names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
MODEL = 'model_name=~"$model"'


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    targets: tuple[tuple[str, str], ...]
    """(legend, PromQL) pairs."""


def _quantiles(histogram: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (f"p{int(q * 100)} {{{{model_name}}}}",
         f"histogram_quantile({q}, sum by (le, model_name) (rate({histogram}_bucket{{{MODEL}}}[$__rate_interval])))")
        for q in (0.5, 0.95, 0.99)
    )


VLLM_PANELS = (
    Panel("Requests per second", "reqps", (
        ("{{model_name}} {{finished_reason}}",
         f"sum by (model_name, finished_reason) (rate(vllm:request_success_total{{{MODEL}}}[$__rate_interval]))"),
    )),
    Panel("End-to-end latency", "s", _quantiles("vllm:e2e_request_latency_seconds")),
    Panel("Time to first token", "s", _quantiles("vllm:time_to_first_token_seconds")),
    Panel("Inter-token latency", "s", _quantiles("vllm:inter_token_latency_seconds")),
    Panel("Tokens per second", "short", (
        ("prompt {{model_name}}", f"sum by (model_name) (rate(vllm:prompt_tokens_total{{{MODEL}}}[$__rate_interval]))"),
        ("generated {{model_name}}",
         f"sum by (model_name) (rate(vllm:generation_tokens_total{{{MODEL}}}[$__rate_interval]))"),
    )),
    Panel("Queue depth and running requests", "short", (
        ("waiting {{model_name}}", f"sum by (model_name) (vllm:num_requests_waiting{{{MODEL}}})"),
        ("running {{model_name}}", f"sum by (model_name) (vllm:num_requests_running{{{MODEL}}})"),
    )),
    Panel("KV-cache usage", "percentunit", (
        ("{{pod}}", f"max by (model_name, pod) (vllm:kv_cache_usage_perc{{{MODEL}}})"),
    )),
    Panel("Prefix-cache hit rate", "percentunit", (
        ("{{model_name}}",
         f"sum by (model_name) (rate(vllm:prefix_cache_hits{{{MODEL}}}[$__rate_interval]))"
         f" / sum by (model_name) (rate(vllm:prefix_cache_queries{{{MODEL}}}[$__rate_interval]))"),
    )),
    Panel("Preemptions per second", "short", (
        ("{{model_name}}", f"sum by (model_name) (rate(vllm:num_preemptions_total{{{MODEL}}}[$__rate_interval]))"),
    )),
    Panel("Replicas", "short", (
        ("{{model_name}}", f"count by (model_name) (vllm:num_requests_running{{{MODEL}}})"),
    )),
)

GROUP_PANELS = (
    Panel("Inter-token latency per group (p95)", "s", (
        ("{{model_name}} group {{group}}",
         f'histogram_quantile(0.95, sum by (le, model_name, group) '
         f'(rate(vllm:inter_token_latency_seconds_bucket{{{MODEL},group!=""}}[$__rate_interval])))'),
    )),
    Panel("Tokens per second per group", "short", (
        ("{{model_name}} group {{group}}",
         f'sum by (model_name, group) (rate(vllm:generation_tokens_total{{{MODEL},group!=""}}[$__rate_interval]))'),
    )),
)
"""For models whose replicas span nodes: one LeaderWorkerSet group per replica, its leader speaking for it."""

GPU_PANELS = (
    Panel("GPU utilisation (busy, not load)", "percent", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_GPU_UTIL"),)),
    Panel("GPU memory used", "percent", (
        ("{{Hostname}} {{gpu}}", "100 * DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"),
    )),
    Panel("GPU temperature", "celsius", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_GPU_TEMP"),)),
    Panel("GPU power", "watt", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_POWER_USAGE"),)),
    Panel("Xid errors (last value)", "short", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_XID_ERRORS"),)),
)


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for i, (legend, expr) in enumerate(panel.targets)
        ],
    }


def dashboard(uid: str, title: str, panels: tuple[Panel, ...], model_variable: bool) -> dict[str, Any]:
    templating = []
    if model_variable:
        templating.append({
            "name": "model", "label": "Model", "type": "query", "datasource": DATASOURCE,
            "query": {"query": "label_values(vllm:num_requests_running, model_name)", "refId": "model"},
            "includeAll": True, "multi": True, "refresh": 2,
            "current": {"selected": True, "text": "All", "value": "$__all"},
        })
    return {
        "uid": uid,
        "title": title,
        "tags": ["onprem-llm"],
        "timezone": "browser",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": templating},
        "panels": [_panel(i, p) for i, p in enumerate(panels)],
    }


def dashboards(groups: bool = False) -> dict[str, dict[str, Any]]:
    """File name to dashboard, for the Grafana sidecar; ``groups`` adds the per-group panels."""
    panels = VLLM_PANELS + (GROUP_PANELS if groups else ())
    return {
        "vllm-endpoints.json": dashboard("onprem-llm-vllm", "LLM endpoints (vLLM)", panels, model_variable=True),
        "gpus.json": dashboard("onprem-llm-gpus", "GPUs (DCGM)", GPU_PANELS, model_variable=False),
    }


def expressions(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def to_json(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True)
