"""Network isolation of the add-ons, the standby site's controls, and backups without Secrets."""

from __future__ import annotations

from offline.record import Secret

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _policies(evaluation, namespace, provider_suffix="::primary-workload"):
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in evaluation.graph.of_type(NETWORK_POLICY)
            if r.inputs["metadata"]["namespace"] == namespace and r.provider_urn.endswith(provider_suffix)}


def _cidrs(rule, key):
    return [p["ipBlock"]["cidr"] for p in rule[key] if "ipBlock" in p]


def test_add_on_namespaces_deny_by_default_and_open_each_flow(prod):
    api_server = ["10.40.0.0/24", "10.41.0.0/24"]
    gpu = _policies(prod, "gpu-operator")
    assert {"default-deny", "allow-dns-egress", "allow-api-server-and-licensing", "allow-metrics-scrape"} == set(gpu)
    api, licensing = gpu["allow-api-server-and-licensing"]["egress"]
    assert _cidrs(api, "to") == api_server and _cidrs(licensing, "to") == ["10.60.0.10/32", "10.61.0.10/32"]
    assert licensing["ports"] == [{"protocol": "TCP", "port": 443}]
    keda = _policies(prod, "keda")
    calls = keda["allow-api-server-calls"]["ingress"][0]
    assert _cidrs(calls, "from") == api_server and [p["port"] for p in calls["ports"]] == [6443, 9443]
    prometheus = keda["allow-api-server-and-prometheus"]["egress"][1]["to"][0]
    assert prometheus["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "prometheus"
    controller = _policies(prod, "envoy-gateway-system")
    assert "default-deny" in controller
    xds = controller["allow-proxy-xds"]["ingress"][0]
    assert xds["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "api-gateway"}
    assert xds["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "envoy"
    assert [p["port"] for p in xds["ports"]] == [18000, 18002]
    assert _cidrs(controller["allow-webhook-ingress"]["ingress"][0], "from") == api_server


def test_webhook_and_metrics_ingress_come_only_from_the_api_server_and_prometheus(prod):
    webhook = _policies(prod, "monitoring")["allow-webhook-ingress"]["ingress"][0]
    assert _cidrs(webhook, "from") == ["10.40.0.0/24", "10.41.0.0/24"]
    for namespace in ("logging", "velero", "gpu-operator", "envoy-gateway-system"):
        scrape = _policies(prod, namespace)["allow-metrics-scrape"]["ingress"][0]["from"][0]
        assert scrape["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus",
                                                        "onprem-llm.io/role": "metrics-scraper"}, namespace


def _route_models(evaluation, route):
    spec = evaluation.graph.named(route).inputs["spec"]
    return {rule["matches"][0]["headers"][0]["value"] for rule in spec["rules"]}


def test_the_standby_serves_only_behind_its_own_gateway(standby):
    backend = standby.graph.named("gateway-llama-2-7b-chat-backend").inputs["spec"]
    assert backend["endpoints"][0]["fqdn"]["hostname"] == "llama-2-7b-chat-api.llm-serving.svc.cluster.local"
    assert standby.graph.named("gateway-authentication").inputs["spec"]["jwt"]["providers"][0]["issuer"] == \
        "https://sso.hospital.example/realms/clinical"
    ingress = _policies(standby, "llm-serving", "::standby-workload")["llama-2-7b-chat-api-ingress"]["ingress"][0]
    assert ingress["from"][0]["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-name"] == "llm-gateway"
    assert "default-deny" in _policies(standby, "envoy-gateway-system", "::standby-workload")
    # Token usage at the standby is scraped by its own Prometheus.
    assert standby.graph.named("gateway-monitor").provider_urn.endswith("::standby-workload")


def test_clients_name_the_same_models_at_the_standby(raw_config):
    from offline.run import as_stack_reference, evaluate
    from offline.world import FakeWorld
    from tests.conftest import PRIMARY

    raw = raw_config("prod")
    raw["models"]["llama-2-7b-chat"]["servedModelName"] = "meta-llama/Llama-2-7b-chat-hf"
    renamed = evaluate("prod", raw_config=raw)
    assert "meta-llama/Llama-2-7b-chat-hf" in _route_models(renamed, "gateway-route")
    standby = evaluate("prod-standby", world=FakeWorld("prod-standby", stack_outputs={
        PRIMARY: as_stack_reference(renamed)}))
    assert _route_models(standby, "gateway-route") == _route_models(renamed, "gateway-route")


def test_the_rate_limit_service_reaches_redis_and_its_configuration_and_nothing_else(prod, standby):
    for evaluation, suffix in ((prod, "::primary-workload"), (standby, "::standby-workload")):
        controller = _policies(evaluation, "envoy-gateway-system", suffix)
        rate_limit = controller["allow-rate-limit"]
        assert rate_limit["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "envoy-ratelimit"
        (calls,) = rate_limit["ingress"]
        assert calls["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "proxy"
        assert [p["port"] for p in calls["ports"]] == [8081]
        configuration, redis = rate_limit["egress"]
        assert configuration["to"][0]["podSelector"]["matchLabels"] == {"control-plane": "envoy-gateway"}
        assert [p["port"] for p in configuration["ports"]] == [18001]
        assert redis["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "gateway-redis"}
        assert [p["port"] for p in redis["ports"]] == [6379]
        xds = controller["allow-proxy-xds"]
        assert xds["podSelector"]["matchLabels"] == {"control-plane": "envoy-gateway"}
        assert [p["port"] for p in xds["ingress"][1]["ports"]] == [18001]
        extension = controller["allow-ai-extension-egress"]["egress"][0]
        assert extension["to"][0]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "envoy-ai-gateway-system"}
        assert [p["port"] for p in extension["ports"]] == [1063]
        store = _policies(evaluation, "gateway-redis", suffix)
        assert "default-deny" in store
        (admitted,) = store["allow-rate-limit-service"]["ingress"]
        assert admitted["from"][0]["podSelector"]["matchLabels"] == rate_limit["podSelector"]["matchLabels"]


def test_the_standby_download_reaches_only_the_named_networks(standby):
    policies = _policies(standby, "llm-serving", "::standby-workload")
    egress = policies["llama-2-7b-chat-download-egress"]["egress"]
    assert [p["ipBlock"]["cidr"] for rule in egress for p in rule["to"]] == ["10.70.0.0/24"]
    # As at the primary, only the download Job gets that opening, never the serving pods.
    selector = policies["llama-2-7b-chat-download-egress"]["podSelector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "model-download"
    assert standby.graph.named("llama-2-7b-chat-server").type == "kubernetes:apps/v1:Deployment"


def test_the_read_only_velero_holds_read_only_keys(prod, standby):
    primary = prod.graph.named("dr-velero-primary-credentials").inputs["stringData"]
    secondary = standby.graph.named("dr-velero-standby-credentials").inputs["stringData"]
    assert isinstance(primary, Secret) and isinstance(secondary, Secret)
    assert "backupS3ReadOnlyAccessKeyId" in str(secondary.value) and "backupS3AccessKeyId" not in str(secondary.value)
    assert "backupS3AccessKeyId" in str(primary.value)
    location = standby.graph.named("dr-velero-standby-location").inputs["spec"]
    assert location["accessMode"] == "ReadOnly"


def test_backups_are_encrypted_and_hold_no_secret(prod, standby):
    assert prod.graph.named("dr-velero-primary-location").inputs["spec"]["config"]["serverSideEncryption"] == "AES256"
    assert standby.graph.named("dr-velero-standby-location").inputs["spec"]["config"]["serverSideEncryption"] == "AES256"
    for schedule in prod.graph.of_type("kubernetes:velero.io/v1:Schedule"):
        assert schedule.inputs["spec"]["template"]["excludedResources"] == ["secrets"]
    primary = prod.graph.named("dr-velero-primary-repository")
    assert primary.inputs["metadata"]["name"] == "velero-repo-credentials"
    velero = prod.graph.named("dr-velero-primary-release")
    assert primary.urn in velero.options["dependencies"], "the key exists before Velero creates a repository"


def test_an_unencrypted_shared_class_at_the_standby_is_refused(raw_config, prod):
    import pytest

    from components.config import SECRET_KEYS, ConfigError, parse_config

    raw = raw_config("prod-standby")
    raw["site"]["weightsStorageClass"] = "plain-nfs"
    with pytest.raises(ConfigError, match="site.weightsStorageClass: 'plain-nfs': not known to be encrypted"):
        parse_config(raw, [s.key for s in SECRET_KEYS], primary=prod.outputs["siteMirror"])


def test_a_production_standby_without_a_shared_class_is_refused_serving_pod_egress(raw_config, prod):
    import pytest

    from components.config import SECRET_KEYS, ConfigError, parse_config

    raw = raw_config("prod-standby")
    del raw["site"]["weightsStorageClass"]
    with pytest.raises(ConfigError, match="site.weightsStorageClass: <missing>: the primary stages llama-2-7b-chat's"):
        parse_config(raw, [s.key for s in SECRET_KEYS], primary=prod.outputs["siteMirror"])


def test_a_production_standby_shipping_to_the_primarys_audit_store_is_refused(raw_config, prod):
    import pytest

    from components.config import SECRET_KEYS, ConfigError, parse_config

    raw = raw_config("prod-standby")
    raw["audit"] = {**raw["audit"], "s3Url": "https://s3-audit.hospital.example", "bucket": "llm-platform-audit"}
    with pytest.raises(ConfigError, match="audit.bucket: 'llm-platform-audit': is the primary's audit store"):
        parse_config(raw, [s.key for s in SECRET_KEYS], primary=prod.outputs["siteMirror"])
