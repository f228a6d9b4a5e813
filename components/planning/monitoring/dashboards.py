"""Grafana dashboards as data: the model endpoints, the GPUs, and token usage and cost per group.

Panels are declared as (title, unit, expressions) and laid out on a grid, so a dashboard is a
short table rather than pasted JSON. ``$model`` is a dashboard variable over served model names.
The usage dashboard prices tokens at the chargeback rate (components/planning/capacity.py
``chargeback``): a group's cost over the selected range is its tokens / 10^6 x the rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from components.planning.monitoring.rules import GATEWAY_TOKENS, QUOTA_WINDOW, RuleSettings

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
MODEL = 'model_name=~"$model"'


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    targets: tuple[tuple[str, str], ...]
    """(legend, PromQL) pairs."""
    kind: str = "timeseries"
    """Grafana panel type; a bargauge shows one instant value per series (over the dashboard's range)."""


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

CANARY_PANELS = (
    Panel("Failed requests (5xx share), current vs candidate", "percentunit", (
        ("{{service}} {{revision_role}}",
         'sum by (service, revision_role) (rate(http_requests_total{job="vllm",status="5xx"}[$__rate_interval]))'
         ' / sum by (service, revision_role) (rate(http_requests_total{job="vllm"}[$__rate_interval]))'),
    )),
    Panel("End-to-end latency p95, current vs candidate", "s", (
        ("{{model_name}} {{revision_role}}",
         f"histogram_quantile(0.95, sum by (le, model_name, revision_role) "
         f"(rate(vllm:e2e_request_latency_seconds_bucket{{{MODEL}}}[$__rate_interval])))"),
    )),
    Panel("Generated tokens per second, current vs candidate", "short", (
        ("{{model_name}} {{revision_role}}",
         f"sum by (model_name, revision_role) (rate(vllm:generation_tokens_total{{{MODEL}}}[$__rate_interval]))"),
    )),
    Panel("Generated tokens per request, current vs candidate", "short", (
        ("{{model_name}} {{revision_role}}",
         f"sum by (model_name, revision_role) (rate(vllm:generation_tokens_total{{{MODEL}}}[$__rate_interval]))"
         f" / sum by (model_name, revision_role) (rate(vllm:request_success_total{{{MODEL}}}[$__rate_interval]))"),
    )),
)
"""A model served by two revisions (models.<key>.candidate): each series split by ``revision_role``."""

GPU_PANELS = (
    Panel("GPU utilisation (busy, not load)", "percent", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_GPU_UTIL"),)),
    Panel("GPU memory used", "percent", (
        ("{{Hostname}} {{gpu}}", "100 * DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"),
    )),
    Panel("GPU temperature", "celsius", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_GPU_TEMP"),)),
    Panel("GPU power", "watt", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_POWER_USAGE"),)),
    Panel("Xid errors (last value)", "short", (("{{Hostname}} {{gpu}}", "DCGM_FI_DEV_XID_ERRORS"),)),
)


def _tokens(by: str, window: str = "$__range") -> str:
    return f"sum by ({by}) (increase({GATEWAY_TOKENS}[{window}]))"


def usage_panels(settings: RuleSettings | None) -> tuple[Panel, ...]:
    rate = settings.cost_per_million_tokens_usd if settings else None
    panels = [
        Panel("Tokens per second by group", "short", (
            ("{{llm_group}}", f"sum by (llm_group) (rate({GATEWAY_TOKENS}[$__rate_interval]))"),)),
        Panel("Tokens per second by group and model", "short", (
            ("{{llm_group}} {{gen_ai_request_model}}",
             f"sum by (llm_group, gen_ai_request_model) (rate({GATEWAY_TOKENS}[$__rate_interval]))"),)),
        Panel("Tokens in the selected range by group", "short", (("{{llm_group}}", _tokens("llm_group")),), "bargauge"),
        Panel("Top users by tokens in the selected range", "short", (
            ("{{llm_user}} ({{llm_group}})", f"topk(10, {_tokens('llm_user, llm_group')})"),), "bargauge"),
    ]
    if rate is not None:
        panels.append(Panel(f"Cost in the selected range by group (USD, at ${rate:.2f} per million tokens)", "currencyUSD",
                            (("{{llm_group}}", f"{_tokens('llm_group')} / 1e6 * {rate:.4f}"),), "bargauge"))
        panels.append(Panel("Cost by group and model in the selected range (USD)", "currencyUSD", (
            ("{{llm_group}} {{gen_ai_request_model}}",
             f"{_tokens('llm_group, gen_ai_request_model')} / 1e6 * {rate:.4f}"),), "bargauge"))
    if settings and settings.group_quotas:
        quotas = " or ".join(f'label_replace(vector({quota}), "llm_group", "{group}", "", "")'
                             for group, quota in sorted(settings.group_quotas.items()))
        panels.append(Panel("Monthly quota used, last 30 days", "percentunit", (
            ("{{llm_group}}", f"{_tokens('llm_group', QUOTA_WINDOW)} / on (llm_group) ({quotas})"),), "bargauge"))
    return tuple(panels)


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    instant = panel.kind != "timeseries"
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
             **({"instant": True, "range": False} if instant else {})}
            for i, (legend, expr) in enumerate(panel.targets)
        ],
    }


def dashboard(uid: str, title: str, panels: tuple[Panel, ...], model_variable: bool,
              time: tuple[str, str] = ("now-6h", "now")) -> dict[str, Any]:
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
        "time": {"from": time[0], "to": time[1]},
        "refresh": "30s",
        "templating": {"list": templating},
        "panels": [_panel(i, p) for i, p in enumerate(panels)],
    }


def dashboards(settings: RuleSettings | None = None) -> dict[str, dict[str, Any]]:
    """File name to dashboard, for the Grafana sidecar; ``settings`` gives the chargeback rate, the quotas and
    the models whose replicas span nodes (their per-group panels)."""
    panels = VLLM_PANELS + (GROUP_PANELS if settings is not None and settings.group_models else ())
    return {
        "vllm-endpoints.json": dashboard("onprem-llm-vllm", "LLM endpoints (vLLM)", panels, model_variable=True),
        "gpus.json": dashboard("onprem-llm-gpus", "GPUs (DCGM)", GPU_PANELS, model_variable=False),
        # Opens on the calendar month so far: the range a monthly chargeback bills.
        "llm-usage.json": dashboard("onprem-llm-usage", "LLM usage and cost per group", usage_panels(settings),
                                    model_variable=False, time=("now/M", "now")),
        **({"vllm-canary.json": dashboard("onprem-llm-canary", "Model canary: current vs candidate", CANARY_PANELS,
                                          model_variable=True)} if settings is not None and settings.canaries else {}),
    }


def expressions(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def to_json(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True)
