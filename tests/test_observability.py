"""ObservabilityStack: the release, rules, dashboards and policies; rules proven with promtool."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from components import versions
from components.planning.monitoring import catalog
from components.planning.monitoring.dashboards import dashboards, expressions
from offline.checks import promql
from offline.checks.promql import metric_names
from offline.record import Secret
from offline.render import manifest
from tests import promtool
from tests.conftest import STACKS

RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"


def _groups(evaluation):
    return evaluation.graph.named("observability-rules", RULE).inputs["spec"]["groups"]


def _rules(evaluation):
    return [rule for group in _groups(evaluation) for rule in group["rules"]]


def _alerts(evaluation):
    return {rule["alert"]: rule for rule in _rules(evaluation) if "alert" in rule}


def test_release_is_pinned_and_selects_the_platform_monitors(prod):
    release = prod.graph.named("observability-kube-prometheus-stack")
    assert release.inputs["version"] == versions.KUBE_PROMETHEUS_STACK.version
    spec = release.inputs["values"]["prometheus"]["prometheusSpec"]
    for key in ("serviceMonitorSelector", "podMonitorSelector", "ruleSelector"):
        assert spec[key] == {"matchLabels": {"onprem-llm.io/monitor": "platform"}}
    assert spec["retention"] == "30d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "200Gi" and claim["storageClassName"] == "llm-encrypted-a"
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    assert release.inputs["values"]["nodeExporter"]["enabled"] is False


def test_everything_prometheus_must_find_carries_the_selector_label(prod):
    monitors = prod.graph.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    assert monitors
    for record in monitors + prod.graph.of_type(RULE):
        assert record.inputs["metadata"]["labels"]["onprem-llm.io/monitor"] == "platform", record.urn
    dcgm = prod.graph.named("primary-gpu-operator").inputs["values"]["dcgmExporter"]["serviceMonitor"]
    assert dcgm["additionalLabels"] == {"onprem-llm.io/monitor": "platform"}


def test_grafana_and_alertmanager_secrets_stay_secret(prod):
    assert isinstance(prod.graph.named("observability-grafana-admin", "kubernetes:core/v1:Secret").inputs["stringData"], Secret)
    assert isinstance(prod.graph.named("observability-alertmanager-config").inputs["stringData"], Secret)
    assert isinstance(prod.outputs["grafanaAdminPassword"], Secret)
    values = json.dumps(prod.graph.named("observability-kube-prometheus-stack").inputs["values"])
    assert "existingSecret" in values and "adminPassword" not in values


def test_alertmanager_sends_to_the_configured_receivers(prod):
    from components.config import SECRET_KEYS, parse_config
    from components.resources.observability_stack import alertmanager_config
    from offline.run import stack_config

    cfg = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])
    config = yaml.safe_load(alertmanager_config(cfg.observability, "smtp-secret", "https://pager.example/hook"))
    receiver = config["receivers"][0]
    assert config["route"]["receiver"] == receiver["name"]
    assert receiver["email_configs"][0]["to"] == "llm-platform-oncall@hospital.example"
    assert receiver["email_configs"][0]["require_tls"] is True
    assert receiver["webhook_configs"][0]["url"] == "https://pager.example/hook"


def test_watchdog_goes_to_the_dead_mans_switch_and_info_inhibitor_nowhere():
    from components.config import SECRET_KEYS, parse_config
    from components.resources.observability_stack import alertmanager_config
    from offline.run import stack_config

    cfg = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])
    config = yaml.safe_load(alertmanager_config(cfg.observability, "s", "https://pager.example/hook",
                                                "https://heartbeat.example/ping/abc"))
    routes = {tuple(r["matchers"]): r for r in config["route"]["routes"]}
    watchdog = routes[('alertname = "Watchdog"',)]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers[watchdog["receiver"]]["webhook_configs"][0]["url"] == "https://heartbeat.example/ping/abc"
    assert watchdog["repeat_interval"] == "1m", "a heartbeat every minute"
    assert list(routes)[0] == ('alertname = "Watchdog"',), "matched before anything else"
    assert receivers[routes[('alertname = "InfoInhibitor"',)]["receiver"]] == {"name": "null"}
    # Without a switch (non-production) the always-firing Watchdog pages nobody.
    quiet = yaml.safe_load(alertmanager_config(cfg.observability, "s", "https://pager.example/hook", None))
    assert {tuple(r["matchers"]): r["receiver"] for r in quiet["route"]["routes"]}[('alertname = "Watchdog"',)] == "null"


def test_production_refuses_a_stack_without_a_dead_mans_switch():
    from components.config import SECRET_KEYS, ConfigError, parse_config
    from offline.run import stack_config

    present = [s.key for s in SECRET_KEYS if s.key != "deadMansSwitchUrl"]
    with pytest.raises(ConfigError, match="deadMansSwitchUrl: <missing>: secret .* is required"):
        parse_config(stack_config("prod"), present)
    parse_config(stack_config("dev"), [s.key for s in SECRET_KEYS if s.key != "deadMansSwitchUrl"])


def test_required_alerts_exist_with_runbooks(prod, dev):
    required = {
        "VllmHighP95Latency", "VllmQueueDepthHigh", "VllmKvCacheNearlyFull", "VllmPreemptions", "VllmTargetDown",
        "VllmNoReadyReplica", "VllmHighErrorRate", "GpuMemoryNearlyFull", "GpuTemperatureHigh", "GpuXidError",
        "BackupOlderThanRpo", "BackupFailed",
    }
    assert required <= set(_alerts(prod))
    assert "BackupOlderThanRpo" not in _alerts(dev), "no backup alert without DR"
    for rule in _rules(prod):
        if "alert" in rule:
            assert rule["annotations"]["runbook_url"].endswith(f"#alert-{rule['alert'].lower()}")
    latency = _alerts(prod)["VllmHighP95Latency"]
    assert latency["expr"].endswith("> 2.0") and latency["for"] == "5m"
    assert _alerts(prod)["BackupOlderThanRpo"]["expr"].endswith("> 3600")


def test_every_model_gets_a_no_ready_replica_alert(prod):
    absent = [r for r in _rules(prod) if r.get("alert") == "VllmNoReadyReplica"]
    assert {r["labels"]["model_name"] for r in absent} == {"llama-2-7b-chat", "mistral-7b-instruct"}


def _recorded(evaluation):
    return {rule["record"] for rule in _rules(evaluation) if "record" in rule}


def _boards(evaluation):
    """The dashboards as the stack deploys them (the usage board prices tokens at the stack's rate)."""
    maps = [r for r in evaluation.graph.of_type("kubernetes:core/v1:ConfigMap") if r.name.startswith("observability-dashboard")]
    return [json.loads(text) for record in maps for text in record.inputs["data"].values()]


def _all_expressions(evaluation):
    """Every PromQL expression the stack's objects carry, as the preview finds them."""
    return promql.expressions([manifest(record) for record in evaluation.graph.kubernetes_objects()])


@pytest.mark.parametrize("stack", STACKS)
def test_every_expression_reads_only_catalogued_metrics(stack, evaluations):
    evaluation = evaluations[stack]
    known = catalog.EXPORTED | _recorded(evaluation)
    found = _all_expressions(evaluation)
    kinds = {e.object.split()[0] for e in found}
    assert kinds == {"monitoring.coreos.com/v1/PrometheusRule", "v1/ConfigMap", "keda.sh/v1alpha1/ScaledObject"}
    assert {expr for board in _boards(evaluation) for expr in expressions(board)} <= {e.text for e in found}
    for expression in found:
        names = metric_names(expression.query)
        assert names, f"no metric found in {expression}"
        assert names <= known, f"{expression} reads {names - known}"


def test_metric_names_come_from_the_parse_tree():
    assert metric_names('sum by (le) (rate(a:b_bucket{x="rate(c)"}[5m])) / on (x) group_left d '
                        '+ {__name__="e", y="z"} + max_over_time(f[1h:5m]) + absent(g) + scalar(vector(1))') == {
        "a:b_bucket", "d", "e", "f", "g"}
    with pytest.raises(promql.PromqlError, match="unclosed left parenthesis"):
        metric_names("sum(rate(a[5m])")


def test_the_name_check_catches_removed_and_misspelt_metrics():
    for removed in ("vllm:gpu_cache_usage_perc", "vllm_request_latency_ms", "vllm:num_request_waiting"):
        assert metric_names(f"max(rate({removed}[5m]))") - catalog.EXPORTED == {removed}
    assert not catalog.REMOVED & catalog.EXPORTED


def test_dashboards_cover_the_required_panels():
    boards = dashboards()
    vllm = boards["vllm-endpoints.json"]
    assert vllm["templating"]["list"][0]["name"] == "model"
    titles = {p["title"] for board in boards.values() for p in board["panels"]}
    for needed in ("Requests per second", "End-to-end latency", "Time to first token", "Inter-token latency",
                   "Tokens per second", "Queue depth and running requests", "KV-cache usage", "Prefix-cache hit rate",
                   "GPU utilisation (busy, not load)", "GPU memory used", "GPU temperature", "GPU power", "Replicas"):
        assert needed in titles
    assert all('model_name=~"$model"' in e for e in expressions(vllm))


def test_dashboards_are_config_maps_for_the_sidecar(prod):
    maps = [r for r in prod.graph.of_type("kubernetes:core/v1:ConfigMap") if r.name.startswith("observability-dashboard")]
    assert len(maps) == 3
    for record in maps:
        assert record.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
        (name, text), = record.inputs["data"].items()
        assert json.loads(text)["panels"]


def test_monitoring_namespace_opens_only_what_the_stack_needs(prod):
    scrapes = prod.graph.named("observability-allow-prometheus-scrapes").inputs["spec"]["egress"]
    targets = {(r["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
               for r in scrapes for port in r["ports"]}
    assert targets == {("llm-serving", 8000), ("gpu-operator", 9400), ("velero", 8085), ("api-gateway", 19001),
                       ("api-gateway", 1064), ("logging", 2020), ("envoy-gateway-system", 19001)}
    queries = prod.graph.named("observability-allow-prometheus-queries").inputs["spec"]["ingress"][0]
    assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in queries["from"]] == ["keda"]


def test_a_broken_query_in_a_dashboard_or_a_keda_trigger_fails_the_preview_naming_it(prod, chart_tools):
    from offline.checks import preview
    from tests.test_charts import _allowed, with_changed

    def break_panel(record):
        (key, text), = record.inputs["data"].items()
        board = json.loads(text)
        board["panels"][0]["targets"][0]["expr"] = "sum(rate(vllm:request_success_total[5m])"
        record.inputs["data"][key] = json.dumps(board)

    def break_trigger(record):
        record.inputs["spec"]["triggers"][0]["metadata"]["query"] = "rate(vllm:num_requests_waiting)"

    graph = with_changed(prod.graph, "observability-dashboard-vllm-endpoints", break_panel)
    graph = with_changed(graph, "llama-2-7b-chat-scaler", break_trigger)
    checks = preview.run(graph, "1.32", _allowed("prod"), *chart_tools)
    title = dashboards()["vllm-endpoints.json"]["panels"][0]["title"]
    assert checks.promql_errors == [
        f"v1/ConfigMap monitoring/dashboard-vllm-endpoints: vllm-endpoints.json: panel {title!r} target A: "
        "unclosed left parenthesis: 'sum(rate(vllm:request_success_total[5m])'",
        "keda.sh/v1alpha1/ScaledObject llm-serving/llama-2-7b-chat: trigger queue-depth: expected type matrix in "
        "call to function 'rate', got vector: 'rate(vllm:num_requests_waiting)'",
    ]
    assert checks.failures == 2
    summary = preview.summary(checks, "1.32", None)
    assert "2 refused" in summary and "  PromQL: keda.sh/v1alpha1/ScaledObject llm-serving/llama-2-7b-chat" in summary


def test_rule_and_annotation_queries_and_template_variables_are_parsed():
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "r", "namespace": "monitoring"},
            "spec": {"groups": [{"name": "g", "rules": [
                {"alert": "A", "expr": "up == 0", "annotations": {
                    "description": 'Down: {{ with query "count(up == 0" }}{{ . | first | value }}{{ end }}'}},
                {"record": "x:y", "expr": "sum by (a) (up) +"}]}]}}
    board = {"templating": {"list": [{"name": "pod", "query": "label_values(up{job=}, pod)"},
                                     {"name": "model", "query": "label_values(model_name)"}]},
             "panels": [{"title": "Rate", "targets": [{"refId": "A", "expr": "rate(up[$__rate_interval])"}]}]}
    dashboard = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "monitoring",
                                                                       "labels": {"grafana_dashboard": "1"}},
                 "data": {"b.json": json.dumps(board)}}
    found = promql.expressions([rule, dashboard])
    assert [(e.where, e.query) for e in found] == [
        ("group g rule A", "up == 0"), ("group g rule A annotation description", "count(up == 0"),
        ("group g rule x:y", "sum by (a) (up) +"), ("b.json: variable pod", "up{job=}"),
        ("b.json: panel 'Rate' target A", "rate(up[5m])")]
    errors = promql.syntax_errors(found)
    assert [e.split(": ")[1] for e in errors] == ["group g rule A annotation description", "group g rule x:y",
                                                   "b.json"]
    assert errors[0].startswith("monitoring.coreos.com/v1/PrometheusRule monitoring/r: ")


# -- promtool --------------------------------------------------------------------------------------


def test_rules_pass_promtool_check(prod, tmp_path):
    path = promtool.write_rules(tmp_path, _groups(prod))
    result = promtool.run("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_dashboard_expressions_parse(prod, tmp_path):
    rules = [
        {"record": f"dashboard:expr_{i}",
         "expr": expr.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$model", ".*")}
        for i, expr in enumerate(e for board in _boards(prod) for e in expressions(board))
    ]
    path = promtool.write_rules(tmp_path, [{"name": "dashboards", "rules": rules}])
    result = promtool.run("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path):
    path = promtool.write_rules(tmp_path, [{"name": "broken", "rules": [{"alert": "Broken", "expr": "sum(rate(x[5m])"}]}])
    assert promtool.run("check", "rules", str(path), cwd=tmp_path).returncode != 0


def _without_annotations(groups):
    # promtool compares annotations verbatim after templating; the unit tests judge expr and for.
    groups = copy.deepcopy(groups)
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return groups


NS = 'namespace="llm-serving"'
LLAMA = f'model_name="llama-2-7b-chat",{NS}'
MISTRAL = f'model_name="mistral-7b-instruct",{NS}'


def _histogram(name: str, labels: str, per_minute: dict[str, int]) -> list[dict]:
    """Cumulative bucket series growing by the given counts each minute."""
    series, total = [], 0
    for le, count in per_minute.items():
        total += count
        series.append({"series": f'{name}_bucket{{{labels},le="{le}"}}', "values": f"0+{total}x40"})
    return series


def _tokens(kind: str, group: str) -> str:
    return f'gen_ai_client_token_usage_sum{{gen_ai_token_type="{kind}",llm_group="{group}"}}'


def _fires(name: str, at: str, *label_sets: dict) -> dict:
    return {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": labels} for labels in label_sets]}


UNIT_TESTS = [
    {   # p95 latency: llama's requests take 2.5-5 s, mistral's under 1 s.
        "interval": "1m",
        "input_series": _histogram("vllm:e2e_request_latency_seconds", LLAMA, {"1": 0, "2.5": 0, "5": 10, "+Inf": 0})
        + _histogram("vllm:e2e_request_latency_seconds", MISTRAL, {"1": 10, "2.5": 0, "5": 0, "+Inf": 0}),
        "alert_rule_test": [
            _fires("VllmHighP95Latency", "15m", {"model_name": "llama-2-7b-chat", "severity": "warning"}),
            _fires("VllmHighP95Latency", "3m"),
        ],
        "promql_expr_test": [{
            "expr": "model_name:vllm_e2e_latency_seconds:p50_5m",
            "eval_time": "10m",
            "exp_samples": [{"labels": 'model_name:vllm_e2e_latency_seconds:p50_5m{model_name="llama-2-7b-chat"}',
                             "value": 3.75},
                            {"labels": 'model_name:vllm_e2e_latency_seconds:p50_5m{model_name="mistral-7b-instruct"}',
                             "value": 0.5}],
        }],
    },
    {   # Queue: llama has 8 waiting per replica, mistral 1.
        "interval": "1m",
        "input_series": [
            {"series": f'vllm:num_requests_waiting{{{LLAMA},pod="l-0"}}', "values": "8x30"},
            {"series": f'vllm:num_requests_waiting{{{LLAMA},pod="l-1"}}', "values": "8x30"},
            {"series": f'vllm:num_requests_waiting{{{MISTRAL},pod="m-0"}}', "values": "1x30"},
        ],
        "alert_rule_test": [
            _fires("VllmQueueDepthHigh", "10m", {"model_name": "llama-2-7b-chat", "severity": "warning"}),
        ],
    },
    {   # KV cache: one pod at 95 %, one at 50 %.
        "interval": "1m",
        "input_series": [
            {"series": f'vllm:kv_cache_usage_perc{{{LLAMA},pod="l-0"}}', "values": "0.95x30"},
            {"series": f'vllm:kv_cache_usage_perc{{{MISTRAL},pod="m-0"}}', "values": "0.5x30"},
        ],
        "alert_rule_test": [
            _fires("VllmKvCacheNearlyFull", "15m", {"model_name": "llama-2-7b-chat", "pod": "l-0", "severity": "warning"}),
            _fires("VllmKvCacheNearlyFull", "5m"),
        ],
    },
    {   # Preemptions: llama's counter rises, mistral's stays.
        "interval": "1m",
        "input_series": [
            {"series": f'vllm:num_preemptions_total{{{LLAMA},pod="l-0"}}', "values": "0+5x30"},
            {"series": f'vllm:num_preemptions_total{{{MISTRAL},pod="m-0"}}', "values": "3x30"},
        ],
        "alert_rule_test": [
            _fires("VllmPreemptions", "20m", {"model_name": "llama-2-7b-chat", "severity": "warning"}),
        ],
    },
    {   # Targets: one down, one up; llama exports metrics, mistral has no replica at all.
        "interval": "1m",
        "input_series": [
            {"series": 'up{job="vllm",pod="l-0"}', "values": "0x30"},
            {"series": 'up{job="vllm",pod="l-1"}', "values": "1x30"},
            {"series": f'vllm:num_requests_running{{{LLAMA},pod="l-1"}}', "values": "3x30"},
        ],
        "alert_rule_test": [
            _fires("VllmTargetDown", "10m", {"job": "vllm", "pod": "l-0", "severity": "critical"}),
            _fires("VllmNoReadyReplica", "10m", {"model_name": "mistral-7b-instruct", "namespace": "llm-serving",
                                                 "severity": "critical"}),
            _fires("VllmNoReadyReplica", "3m"),
        ],
    },
    {   # Errors: half of llama's requests fail, none of mistral's.
        "interval": "1m",
        "input_series": [
            {"series": 'http_requests_total{job="vllm",service="llama-2-7b-chat-api",status="5xx"}', "values": "0+10x30"},
            {"series": 'http_requests_total{job="vllm",service="llama-2-7b-chat-api",status="2xx"}', "values": "0+10x30"},
            {"series": 'http_requests_total{job="vllm",service="mistral-7b-instruct-api",status="2xx"}', "values": "0+100x30"},
            {"series": 'http_requests_total{job="vllm",service="mistral-7b-instruct-api",status="5xx"}', "values": "0x30"},
        ],
        "alert_rule_test": [
            _fires("VllmHighErrorRate", "15m", {"service": "llama-2-7b-chat-api", "severity": "critical"}),
        ],
    },
    {   # GPUs: gpu 0 is full, hot, erroring and unlicensed; gpu 1 is healthy.
        "interval": "1m",
        "input_series": [
            {"series": 'DCGM_FI_DEV_FB_USED{gpu="0",Hostname="n0"}', "values": "79500x40"},
            {"series": 'DCGM_FI_DEV_FB_FREE{gpu="0",Hostname="n0"}', "values": "500x40"},
            {"series": 'DCGM_FI_DEV_FB_USED{gpu="1",Hostname="n1"}', "values": "72000x40"},
            {"series": 'DCGM_FI_DEV_FB_FREE{gpu="1",Hostname="n1"}', "values": "8000x40"},
            {"series": 'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="n0"}', "values": "91x40"},
            {"series": 'DCGM_FI_DEV_GPU_TEMP{gpu="1",Hostname="n1"}', "values": "60x40"},
            {"series": 'DCGM_FI_DEV_XID_ERRORS{gpu="0",Hostname="n0"}', "values": "0x10 79x30"},
            {"series": 'DCGM_FI_DEV_XID_ERRORS{gpu="1",Hostname="n1"}', "values": "0x40"},
            {"series": 'DCGM_FI_DEV_VGPU_LICENSE_STATUS{gpu="0",Hostname="n0"}', "values": "0x40"},
            {"series": 'DCGM_FI_DEV_VGPU_LICENSE_STATUS{gpu="1",Hostname="n1"}', "values": "1x40"},
        ],
        "alert_rule_test": [
            _fires("GpuMemoryNearlyFull", "15m", {"gpu": "0", "Hostname": "n0", "severity": "warning"}),
            _fires("GpuTemperatureHigh", "10m", {"gpu": "0", "Hostname": "n0", "severity": "warning"}),
            _fires("GpuXidError", "15m", {"gpu": "0", "Hostname": "n0", "severity": "critical"}),
            _fires("GpuXidError", "30m"),
            _fires("GpuVgpuUnlicensed", "20m", {"gpu": "0", "Hostname": "n0", "severity": "critical"}),
        ],
    },
    {   # Audit uploads: the apiserver output errors; the gateway output drops a chunk after its retries.
        "interval": "1m",
        "input_series": [
            {"series": 'fluentbit_output_errors_total{name="s3-apiserver",node="cp-0"}', "values": "0+2x40"},
            {"series": 'fluentbit_output_errors_total{name="s3-gateway",node="w-1"}', "values": "0x40"},
            {"series": 'fluentbit_output_retries_failed_total{name="s3-apiserver",node="cp-0"}', "values": "0x40"},
            {"series": 'fluentbit_output_retries_failed_total{name="s3-gateway",node="w-1"}', "values": "0x20 1x20"},
        ],
        "alert_rule_test": [
            _fires("AuditLogShippingErrors", "25m", {"name": "s3-apiserver", "node": "cp-0", "severity": "critical"},
                   {"name": "s3-gateway", "node": "w-1", "severity": "critical"}),
            _fires("AuditLogShippingErrors", "5m", {"name": "s3-apiserver", "node": "cp-0", "severity": "critical"}),
        ],
    },
    {   # Audit streams per node: cp-0 reads, cp-1 stopped reading, cp-2 has no shipper; a gateway proxy runs on
        # w-1 but no shipper anywhere reports the gateway stream.
        "interval": "1m",
        "input_series": [
            {"series": 'kube_node_role{node="cp-0",role="control-plane"}', "values": "1x60"},
            {"series": 'kube_node_role{node="cp-1",role="control-plane"}', "values": "1x60"},
            {"series": 'kube_node_role{node="cp-2",role="control-plane"}', "values": "1x60"},
            {"series": 'kube_node_role{node="w-1",role="worker"}', "values": "1x60"},
            {"series": 'kube_pod_info{namespace="api-gateway",pod="envoy-api-gateway-llm-gateway-1",node="w-1"}',
             "values": "1x60"},
            {"series": 'fluentbit_input_records_total{name="in-apiserver",node="cp-0"}', "values": "0+100x60"},
            {"series": 'fluentbit_input_records_total{name="in-apiserver",node="cp-1"}', "values": "0+100x10 1000x50"},
        ],
        "alert_rule_test": [
            _fires("AuditStreamAbsent", "15m", {"name": "in-gateway", "stream": "gateway", "severity": "critical"}),
            _fires("AuditShipperMissingOnNode", "15m",
                   {"node": "cp-2", "stream": "apiserver", "severity": "critical"},
                   {"node": "w-1", "stream": "gateway", "severity": "critical"}),
            _fires("AuditLogsStalled", "50m", {"node": "cp-1", "stream": "apiserver", "severity": "critical"}),
            _fires("AuditLogsStalled", "20m"),
        ],
    },
    {   # Every stream shipped from every node that writes it: nothing fires.
        "interval": "1m",
        "input_series": [
            {"series": 'kube_node_role{node="cp-0",role="control-plane"}', "values": "1x60"},
            {"series": 'kube_pod_info{namespace="api-gateway",pod="envoy-api-gateway-llm-gateway-1",node="w-1"}',
             "values": "1x60"},
            {"series": 'fluentbit_input_records_total{name="in-apiserver",node="cp-0"}', "values": "0+100x60"},
            {"series": 'fluentbit_input_records_total{name="in-gateway",node="w-1"}', "values": "0x60"},
        ],
        "alert_rule_test": [
            _fires("AuditStreamAbsent", "40m"), _fires("AuditShipperMissingOnNode", "40m"),
            _fires("AuditLogsStalled", "40m"),
        ],
    },
    {   # The daily seal: one Job failed; the CronJob last succeeded at t=0.
        "interval": "1h",
        "input_series": [
            {"series": 'kube_job_status_failed{namespace="audit-sealing",job_name="audit-manifest-29000000"}',
             "values": "0 0 1x30"},
            {"series": 'kube_cronjob_status_last_successful_time{namespace="audit-sealing",cronjob="audit-manifest"}',
             "values": "0x30"},
            {"series": 'kube_cronjob_created{namespace="audit-sealing",cronjob="audit-manifest"}', "values": "0x30"},
        ],
        "alert_rule_test": [
            _fires("AuditManifestJobFailed", "3h", {"namespace": "audit-sealing", "job_name": "audit-manifest-29000000",
                                                    "severity": "critical"}),
            _fires("AuditManifestJobFailed", "1h"),
            _fires("AuditManifestOverdue", "20h"),
            _fires("AuditManifestOverdue", "27h", {"severity": "critical"}),
        ],
    },
    {   # A CronJob created at t=0 that never succeeded is overdue after 26 hours, not before.
        "interval": "1h",
        "input_series": [
            {"series": 'kube_cronjob_created{namespace="audit-sealing",cronjob="audit-manifest"}', "values": "0x30"},
        ],
        "alert_rule_test": [
            _fires("AuditManifestOverdue", "25h"),
            _fires("AuditManifestOverdue", "27h", {"namespace": "audit-sealing", "cronjob": "audit-manifest",
                                                   "severity": "critical"}),
        ],
    },
    {   # Gateway quotas (prod: radiology 100M tokens a month, alert at 80 %): radiology uses 1M tokens an hour,
        # cardiology a thousand; cardiology's "total" series is huge but never counted twice.
        "interval": "1h",
        "input_series": [
            {"series": _tokens("input", "radiology"), "values": "0+600000x200"},
            {"series": _tokens("output", "radiology"), "values": "0+400000x200"},
            {"series": _tokens("input", "cardiology"), "values": "0+1000x200"},
            {"series": _tokens("total", "cardiology"), "values": "0+90000000x200"},
        ],
        "alert_rule_test": [
            _fires("LlmGroupQuotaNearlyUsed", "60h"),
            _fires("LlmGroupQuotaNearlyUsed", "90h", {"llm_group": "radiology", "severity": "warning"}),
            _fires("LlmGroupQuotaExhausted", "90h"),
            _fires("LlmGroupQuotaExhausted", "120h", {"llm_group": "radiology", "severity": "critical"}),
        ],
    },
    {   # Tokens per second per group and model: input plus output, never the "total" series on top.
        "interval": "1m",
        "input_series": [
            {"series": 'gen_ai_client_token_usage_sum{gen_ai_token_type="input",llm_group="radiology",'
                       'gen_ai_request_model="llama-2-7b-chat",pod="p0"}', "values": "0+120x30"},
            {"series": 'gen_ai_client_token_usage_sum{gen_ai_token_type="output",llm_group="radiology",'
                       'gen_ai_request_model="llama-2-7b-chat",pod="p1"}', "values": "0+60x30"},
            {"series": 'gen_ai_client_token_usage_sum{gen_ai_token_type="total",llm_group="radiology",'
                       'gen_ai_request_model="llama-2-7b-chat",pod="p0"}', "values": "0+180x30"},
        ],
        "promql_expr_test": [{
            "expr": "llm_group:gateway_tokens:rate5m",
            "eval_time": "20m",
            "exp_samples": [{"labels": 'llm_group:gateway_tokens:rate5m{gen_ai_request_model="llama-2-7b-chat",'
                                       'llm_group="radiology"}', "value": 3}],
        }],
    },
    {   # Backups: schedule a last succeeded at t=0, schedule b keeps succeeding; a also fails.
        "interval": "1m",
        "input_series": [
            {"series": 'velero_backup_last_successful_timestamp{schedule="a"}', "values": "0x100"},
            {"series": 'velero_backup_last_successful_timestamp{schedule="b"}', "values": "0+60x100"},
            {"series": 'velero_backup_failure_total{schedule="a"}', "values": "0+1x100"},
            {"series": 'velero_backup_failure_total{schedule="b"}', "values": "0x100"},
        ],
        "alert_rule_test": [
            _fires("BackupOlderThanRpo", "90m", {"schedule": "a", "severity": "critical"}),
            _fires("BackupOlderThanRpo", "30m"),
            _fires("BackupFailed", "30m", {"schedule": "a", "severity": "critical"}),
        ],
    },
]


def test_every_alert_fires_when_it_should_and_not_otherwise(prod, tmp_path):
    groups = _without_annotations(_groups(prod))
    tested = {t["alertname"] for case in UNIT_TESTS for t in case.get("alert_rule_test", [])}
    assert tested == set(_alerts(prod)), f"untested alerts: {set(_alerts(prod)) - tested}"
    files = promtool.write_unit_tests(tmp_path, groups, UNIT_TESTS, evaluation_interval="30s")
    result = promtool.run("test", "rules", *files, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(UNIT_TESTS), result.stdout


def test_promtool_unit_tests_bite(prod, tmp_path):
    """A threshold raised beyond the data makes the firing case fail: the tests are not vacuous."""
    groups = _without_annotations(_groups(prod))
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert") == "VllmHighP95Latency":
                rule["expr"] = rule["expr"].replace("> 2.0", "> 10")
    files = promtool.write_unit_tests(tmp_path, groups, UNIT_TESTS[:1], evaluation_interval="30s")
    assert promtool.run("test", "rules", *files, cwd=tmp_path).returncode != 0


def test_a_case_steps_at_its_groups_own_interval_and_never_between_steps(prod, tmp_path):
    """The quota alerts run every 5 minutes: their case steps so (promtool would step every group at 30 s), and an
    eval_time between two steps, which promtool would judge at the earlier one, is refused."""
    groups = _without_annotations(_groups(prod))
    (quota,) = [case for case in UNIT_TESTS if any(t["alertname"] == "LlmGroupQuotaExhausted"
                                                   for t in case.get("alert_rule_test", []))]
    (name,) = promtool.write_unit_tests(tmp_path, groups, [quota], evaluation_interval="30s")
    assert yaml.safe_load((tmp_path / name).read_text())["evaluation_interval"] == "5m"
    early = {**quota, "alert_rule_test": [_fires("LlmGroupQuotaNearlyUsed", "61m")]}
    with pytest.raises(AssertionError, match="between its rules' 5m steps"):
        promtool.write_unit_tests(tmp_path, groups, [early], evaluation_interval="30s")
