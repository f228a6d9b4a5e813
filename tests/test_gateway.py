"""ModelGateway: one OpenAI endpoint for every model, identity from the IdP only, token limits, usage."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.builders import ai_gateway as ai
from components.builders.gateway_pods import GATEWAY_PROXY_SELECTOR, RATE_LIMIT_SELECTOR
from components.config import SECRET_KEYS, ConfigError, parse_config
from components.resources.gateway import API_PATHS
from offline.record import Secret
from offline.render import manifest
from offline.run import stack_config

HELM = "kubernetes:helm.sh/v3:Release"
AI_KINDS = ("AIGatewayRoute", "AIServiceBackend", "BackendSecurityPolicy", "GatewayConfig")
EG_KINDS = ("EnvoyProxy", "Backend", "SecurityPolicy", "ClientTrafficPolicy", "BackendTrafficPolicy", "HTTPRouteFilter")


def _spec(evaluation, name):
    return evaluation.graph.named(name).inputs["spec"]


def _depends_on(evaluation, name, dependency):
    return evaluation.graph.named(dependency).urn in evaluation.graph.named(name).options["dependencies"]


def _of_kind(evaluation, kind):
    return [r for r in evaluation.graph if r.type.endswith(f":{kind}")]


def _parse(raw):
    return parse_config(raw, [s.key for s in SECRET_KEYS])


# -- one endpoint ----------------------------------------------------------------------------------


def test_one_ai_route_covers_every_served_model(prod, standby):
    # The standby stack's gateway routes the same served names (tests/test_isolation.py).
    assert {r.name for r in _of_kind(prod, "AIGatewayRoute")} == {"gateway-route"}
    assert _spec(standby, "gateway-route")["rules"] == _spec(prod, "gateway-route")["rules"]
    spec = _spec(prod, "gateway-route")
    assert spec["parentRefs"] == [{**ai.gateway_ref("llm-gateway"), "sectionName": "https"}]
    routed = {rule["matches"][0]["headers"][0]["value"]: rule["backendRefs"] for rule in spec["rules"]}
    one = {"set": [{"path": "n", "value": "1"}]}
    assert routed == {"llama-2-7b-chat": [{"name": "llama-2-7b-chat", "bodyMutation": one}],
                      "mistral-7b-instruct": [{"name": "mistral-7b-instruct", "bodyMutation": one}]}
    for rule in spec["rules"]:
        assert rule["matches"][0]["headers"][0] == {"type": "Exact", "name": "x-ai-eg-model",
                                                    "value": rule["matches"][0]["headers"][0]["value"]}
        assert rule["timeouts"] == {"request": "300s"}
    assert {c["metadataKey"]: c["type"] for c in spec["llmRequestCosts"]} == {
        "llm_input_token": "InputToken", "llm_output_token": "OutputToken", "llm_total_token": "TotalToken"}


def test_each_model_is_a_backend_of_its_service_with_its_key_from_a_secret(prod):
    for key in ("llama-2-7b-chat", "mistral-7b-instruct"):
        assert _spec(prod, f"gateway-{key}-backend") == {
            "endpoints": [{"fqdn": {"hostname": f"{key}-api.llm-serving.svc.cluster.local", "port": 8000}}]}
        assert _spec(prod, f"gateway-{key}-ai-backend") == {
            "schema": {"name": "OpenAI", "prefix": "/v1"},
            "backendRef": {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": key}}
        policy = _spec(prod, f"gateway-{key}-upstream-key")
        assert policy["type"] == "APIKey"
        assert policy["targetRefs"] == [{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend", "name": key}]
        secret = prod.graph.named(f"gateway-{key}-credential")
        assert policy["apiKey"]["secretRef"]["name"] == secret.inputs["metadata"]["name"]
        assert set(secret.inputs["stringData"].value) == {"apiKey"}
        assert isinstance(secret.inputs["stringData"], Secret)
    assert not _of_kind(prod, "ReferenceGrant"), "Backends name the Services by DNS; no grant into the serving namespace"
    assert not [r for r in _of_kind(prod, "HTTPRouteFilter") if "credentialInjection" in r.inputs["spec"]]


def test_no_api_key_appears_in_any_object_or_output(prod):
    keys = [secret.value["apiKey"] for secret in (prod.graph.named(f"gateway-{k}-credential").inputs["stringData"]
                                                  for k in ("llama-2-7b-chat", "mistral-7b-instruct"))]
    for record in prod.graph.kubernetes_objects():
        if record.type.endswith(":Secret"):
            continue
        text = json.dumps(manifest(record))
        assert not any(key in text for key in keys), record.urn
    assert "apiKeys" not in prod.outputs and not any(key in json.dumps(prod.outputs, default=str) for key in keys)


def test_outputs_give_one_base_url_and_no_per_model_urls(prod, dev):
    assert prod.outputs["gatewayBaseUrl"] == "https://llm.hospital.example/v1"
    assert dev.outputs["gatewayBaseUrl"] == "https://llm-lab.hospital.example/v1"
    assert "gatewayModelUrls" not in prod.outputs
    mistral = dict(prod.outputs["models"]["mistral-7b-instruct"])
    assert mistral.pop("weightsManifest").startswith("sha256:")
    assert mistral.pop("candidateWeightsManifest") is None
    assert mistral.pop("weightsSigner") == "unsigned"
    assert mistral == {
        "servedModelName": "mistral-7b-instruct", "endpoints": ["/v1/chat/completions", "/v1/completions"],
        "groups": ["clinical-informatics"]}
    clients = prod.outputs["gatewayClients"]
    assert clients == {"namespaces": ["clinical-notes"], "proxyNamespace": "api-gateway",
                       "proxyPodLabels": GATEWAY_PROXY_SELECTOR, "proxyPort": 10443}
    assert prod.outputs["oidc"]["groupClaim"] == "department"


# -- identity and authorization ----------------------------------------------------------------------


def test_tokens_come_from_the_authorization_header_only(prod):
    policy = _spec(prod, "gateway-authentication")
    (provider,) = policy["jwt"]["providers"]
    assert provider["extractFrom"] == {"headers": [{"name": "Authorization", "valuePrefix": "Bearer "}]}
    assert "optional" not in policy["jwt"] and "failOpen" not in policy["jwt"]
    assert provider["claimToHeaders"] == [{"claim": "sub", "header": "x-llm-user"},
                                          {"claim": "department", "header": "x-llm-group"},
                                          {"claim": "exp", "header": "x-llm-token-expiry"}]


def test_identity_headers_are_stripped_before_any_filter(prod):
    headers = _spec(prod, "gateway-strip-identity-headers")["headers"]["earlyRequestHeaders"]
    set_by_gateway = [c["header"] for c in _spec(prod, "gateway-authentication")["jwt"]["providers"][0]["claimToHeaders"]]
    for header in [*set_by_gateway, "x-ai-eg-model", "x-envoy-original-path"]:
        assert header in headers["remove"]
    assert {"type": "Prefix", "value": "x-llm-"} in headers["removeOnMatch"]
    assert {"type": "Prefix", "value": "x-ai-eg-"} in headers["removeOnMatch"]
    assert _spec(prod, "gateway-strip-identity-headers")["targetRefs"] == [ai.gateway_ref("llm-gateway")]


def test_authorization_denies_by_default_and_allows_only_exact_openai_paths(prod):
    authorization = _spec(prod, "gateway-authentication")["authorization"]
    assert authorization["defaultAction"] == "Deny"
    for rule in authorization["rules"]:
        assert rule["action"] == "Allow"
        path = rule["operation"]["path"]
        assert path["type"] == "Exact" and path["value"] in API_PATHS, rule["name"]
        # No query string (no token or prompt in a URL), and only tokens with an expiry.
        assert rule["cel"].startswith("request.query == '' && 'x-llm-token-expiry' in request.headers"), rule["name"]


def test_per_model_access_comes_from_the_group_claim_in_config(prod):
    rules = {r["name"]: r for r in _spec(prod, "gateway-authentication")["authorization"]["rules"]}
    mistral = rules["mistral-7b-instruct-chat"]["principal"]
    assert mistral["jwt"] == {"provider": "site-idp", "claims": [
        {"name": "department", "valueType": "String", "values": ["clinical-informatics"]}]}
    assert mistral["headers"] == [{"name": "x-ai-eg-model", "values": ["mistral-7b-instruct"]}]
    llama = rules["llama-2-7b-chat-completions"]["principal"]["jwt"]["claims"][0]["values"]
    assert llama == ["clinical-informatics", "radiology", "cardiology"]
    assert "mistral-7b-instruct-embeddings" not in rules, "a chat model serves no embeddings"
    unknown = rules["unknown-model-chat"]["cel"]
    assert unknown.endswith('!(request.headers[\'x-ai-eg-model\'] in ["llama-2-7b-chat", "mistral-7b-instruct"])')


def test_errors_envoy_generates_carry_openai_style_bodies(prod):
    overrides = {o["match"]["statusCodes"][0]["value"]: o for o in _spec(prod, "gateway-token-limits")["responseOverride"]}
    assert set(overrides) == {401, 403, 404, 429}
    codes = {401: "invalid_api_key", 403: "model_not_permitted", 404: "model_not_found", 429: "rate_limit_exceeded"}
    for status, override in overrides.items():
        assert override["source"] == "Local", "responses of the models themselves are left alone"
        body = json.loads(override["response"]["body"]["inline"])
        assert body["error"]["code"] == codes[status] and body["error"]["message"]
        assert override["response"]["contentType"] == "application/json"


# -- token accounting --------------------------------------------------------------------------------


def test_limits_count_tokens_per_user_and_group_on_each_model_across_replicas(prod):
    rules = _spec(prod, "gateway-token-limits")["rateLimit"]["global"]["rules"]
    assert "type" not in _spec(prod, "gateway-token-limits")["rateLimit"], "the deprecated type field is not used"
    by_selector = {}
    for rule in rules:
        headers = rule["clientSelectors"][0]["headers"]
        by_selector.setdefault(tuple((h["name"], h["type"], h.get("value")) for h in headers), []).append(rule)
    per_user = by_selector[(("x-llm-user", "Distinct", None), ("x-ai-eg-model", "Distinct", None))]
    assert [r["limit"] for r in per_user] == [{"requests": 20000, "unit": "Minute"}, {"requests": 500000, "unit": "Day"}]
    per_group = by_selector[(("x-llm-group", "Distinct", None), ("x-ai-eg-model", "Distinct", None))]
    assert [r["limit"] for r in per_group] == [{"requests": 200000, "unit": "Minute"}]
    for rule in per_user + per_group:
        assert rule["cost"] == {
            "request": {"from": "Number", "number": 0},
            "response": {"from": "Metadata", "metadata": {"namespace": "io.envoy.ai_gateway", "key": "llm_total_token"}}}
        assert rule["shared"] is True
    assert by_selector[(("x-llm-user", "Distinct", None),)][0]["limit"] == {"requests": 60, "unit": "Minute"}


def test_monthly_quotas_are_per_group_across_models(prod):
    rules = _spec(prod, "gateway-token-limits")["rateLimit"]["global"]["rules"]
    quotas = {r["clientSelectors"][0]["headers"][0]["value"]: r["limit"] for r in rules
              if r["clientSelectors"][0]["headers"][0]["type"] == "Exact"}
    assert quotas == {"cardiology": {"requests": 50_000_000, "unit": "Month"},
                      "clinical-informatics": {"requests": 200_000_000, "unit": "Month"},
                      "radiology": {"requests": 100_000_000, "unit": "Month"}}


def _server_ceiling(evaluation, key):
    args = next(c for c in evaluation.graph.named(f"{key}-server").inputs["spec"]["template"]["spec"]["containers"]
                if c["name"] == "vllm")["args"]
    return json.loads(args[args.index("--override-generation-config") + 1])["max_new_tokens"]


def test_each_request_reserves_its_models_ceiling_for_its_user_when_admitted(prod):
    """The reservation is the very ceiling vLLM enforces, charged on arrival and never again on the response."""
    rules = _spec(prod, "gateway-token-limits")["rateLimit"]["global"]["rules"]
    reserved = {r["clientSelectors"][0]["headers"][1]["value"]: r for r in rules
                if r["clientSelectors"][0]["headers"][1:2] and r["clientSelectors"][0]["headers"][1]["type"] == "Exact"}
    assert sorted(reserved) == ["llama-2-7b-chat", "mistral-7b-instruct"]
    for served, rule in reserved.items():
        assert rule["clientSelectors"] == [{"headers": [{"name": "x-llm-user", "type": "Distinct"},
                                                        {"name": "x-ai-eg-model", "type": "Exact", "value": served}]}]
        assert rule["limit"] == {"requests": 20000, "unit": "Minute"} and rule["shared"] is True
        assert rule["cost"] == {"request": {"from": "Number", "number": _server_ceiling(prod, served)}}
    assert [reserved[m]["cost"]["request"]["number"] for m in ("llama-2-7b-chat", "mistral-7b-instruct")] == [1024, 1536]


def test_every_choice_is_one_so_a_request_generates_at_most_its_reservation(prod):
    for spec in [r.inputs["spec"] for r in _of_kind(prod, "AIGatewayRoute")]:
        for rule in spec["rules"]:
            assert all(ref["bodyMutation"] == {"set": [{"path": "n", "value": "1"}]} for ref in rule["backendRefs"])


def test_reservations_follow_the_completion_charged_rules_and_move_none_of_their_counters(prod):
    """Envoy Gateway keys a rule's counters by its position: every earlier rule keeps the one it had without them."""
    cfg = _parse(stack_config("prod"))
    rules = _spec(prod, "gateway-token-limits")["rateLimit"]["global"]["rules"]
    without = ai.rate_limit_rules(cfg.gateway)
    assert rules[:len(without)] == without
    tail = rules[len(without):]
    assert len(tail) == len(cfg.models) * len(cfg.gateway.token_limits.reserved_per_user) == 2
    assert all("response" not in r["cost"] for r in tail)
    assert all(r["cost"]["request"]["number"] == 0 for r in without if "cost" in r), "completion-charged rules only check"


def test_a_stack_without_reservations_keeps_only_the_completion_charged_rules(raw_config):
    raw = raw_config("dev")
    raw["gateway"].setdefault("tokenLimits", {})["reservedPerUser"] = []
    cfg = _parse(raw)
    models = [ai.GatewayModel("m", "m", "m-api", "llm-serving", 8000, ("g",), ("chat",), max_tokens=512)]
    assert ai.rate_limit_rules(cfg.gateway, models) == ai.rate_limit_rules(cfg.gateway)


def test_envoy_gateway_runs_the_ai_extension_and_a_redis_backed_rate_limit(prod):
    values = prod.graph.named("gateway-envoy-gateway", HELM).inputs["values"]
    config = values["config"]["envoyGateway"]
    assert config["provider"]["kubernetes"]["deploy"] == {"type": "GatewayNamespace"}
    assert config["extensionApis"] == {"enableBackend": True}
    assert config["extensionManager"]["service"]["fqdn"] == {
        "hostname": "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local", "port": 1063}
    assert config["rateLimit"]["backend"] == {"type": "Redis",
                                              "redis": {"url": "redis.gateway-redis.svc.cluster.local:6379"}}
    digest = stack_config("prod")["tanzu"]["registry"]["imageDigests"]["envoyproxy/ratelimit:17b1956c"]
    assert values["global"]["images"]["ratelimit"]["image"] == f"harbor-a.hospital.example/envoyproxy/ratelimit:17b1956c@{digest}"


def test_ai_gateway_images_come_from_the_private_registry_as_the_lock_pins_them(prod):
    values = prod.graph.named("gateway-ai-gateway", HELM).inputs["values"]
    registry = stack_config("prod")["tanzu"]["registry"]
    digests = registry["imageDigests"]
    controller, extproc = versions.AI_GATEWAY_CONTROLLER, versions.AI_GATEWAY_EXTPROC
    assert values["controller"]["image"] == {"repository": "harbor-a.hospital.example/envoyproxy/ai-gateway-controller",
                                             "tag": f"{controller.tag}@{digests[controller.key]}"}
    assert values["extProc"]["image"] == {"repository": "harbor-a.hospital.example/envoyproxy/ai-gateway-extproc",
                                          "tag": f"{extproc.tag}@{digests[extproc.key]}"}
    assert values["controller"]["metricsRequestHeaderAttributes"] == "x-llm-user:llm.user,x-llm-group:llm.group"
    for name, chart in (("gateway-ai-gateway", versions.AI_GATEWAY), ("gateway-ai-gateway-crds", versions.AI_GATEWAY_CRDS)):
        release = prod.graph.named(name, HELM).inputs
        assert release["chart"] == f"oci://harbor-a.hospital.example/charts/{chart.name}@{registry['chartDigests'][chart.name]}"
        assert release["version"] == chart.version


# -- /v1/models --------------------------------------------------------------------------------------


def test_models_lists_what_the_callers_group_may_use(prod):
    (route,) = [r for r in _of_kind(prod, "HTTPRoute") if r.name.startswith("gateway-models-route")]
    filters = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in _of_kind(prod, "HTTPRouteFilter")}
    listed = {}
    for rule in route.inputs["spec"]["rules"]:
        (match,) = rule["matches"]
        assert match["path"] == {"type": "Exact", "value": "/v1/models"} and match["method"] == "GET"
        group = match["headers"][0]["value"] if "headers" in match else None
        body = json.loads(filters[rule["filters"][0]["extensionRef"]["name"]]["directResponse"]["body"]["inline"])
        listed[group] = sorted(m["id"] for m in body["data"])
    assert listed == {None: [], "cardiology": ["llama-2-7b-chat"], "radiology": ["llama-2-7b-chat"],
                      "clinical-informatics": ["llama-2-7b-chat", "mistral-7b-instruct"]}


def test_models_routes_split_at_the_gateway_api_rule_limit():
    models = [ai.GatewayModel(f"m{i}", f"m{i}", "m-api", "llm-serving", 8000, (f"g{i}",), ("chat",)) for i in range(20)]
    routes = ai.models_list_routes(models, ai.gateway_ref("llm-gateway"))
    assert [len(r["rules"]) for r in routes] == [16, 5]


# -- the access log ----------------------------------------------------------------------------------


def test_access_log_records_who_which_model_tokens_and_status_never_bodies(prod):
    log = _spec(prod, "gateway-proxy-config")["telemetry"]["accessLog"]["settings"][0]["format"]["json"]
    assert {"user", "group", "model", "input_tokens", "output_tokens", "total_tokens", "status", "start_time"} <= set(log)
    assert log["user"] == "%REQ(x-llm-user)%" and log["model"] == "%REQ(x-ai-eg-model)%"
    assert log["path"] == "%PATH(NQ:ORIG_OR_PATH)%", "never the query string"
    assert not any("BODY" in value.upper() or "QUERY" in value.upper() for value in log.values())


# -- first deploy --------------------------------------------------------------------------------------


def test_every_custom_resource_waits_for_the_release_that_installs_its_crd(prod):
    for record in prod.graph:
        if not record.name.startswith("gateway-") or "apiextensions" in record.type:
            continue
        kind = record.type.rsplit(":", 1)[-1]
        if record.type.startswith("kubernetes:aigateway.envoyproxy.io/"):
            assert _depends_on(prod, record.name, "gateway-ai-gateway-crds"), record.urn
        elif record.type.startswith("kubernetes:gateway.envoyproxy.io/") or kind in ("HTTPRoute", "Gateway", "GatewayClass"):
            assert _depends_on(prod, record.name, "gateway-envoy-gateway"), record.urn
    assert _depends_on(prod, "gateway-monitor", "observability-kube-prometheus-stack")


def test_install_order_controller_after_crds_proxies_after_controller(prod):
    assert _depends_on(prod, "gateway-ai-gateway", "gateway-ai-gateway-crds")
    assert _depends_on(prod, "gateway-ai-gateway", "gateway-envoy-gateway")
    assert _depends_on(prod, "gateway-gateway", "gateway-ai-gateway"), "the webhook must be up before proxy pods"
    assert _depends_on(prod, "gateway-envoy-gateway", "gateway-redis")
    gateway = prod.graph.named("gateway-gateway").inputs["metadata"]
    # `up` waits until Envoy Gateway has programmed the proxies (the address the DNS record needs).
    assert gateway["annotations"] == {"aigateway.envoyproxy.io/gateway-config": "llm-gateway-extproc",
                                      "pulumi.com/waitFor": "condition=Programmed"}


# -- the rate-limit store ------------------------------------------------------------------------------


def test_redis_keeps_only_counters_on_its_volume_and_admits_only_the_rate_limit_service(prod):
    deployment = prod.graph.named("gateway-redis", "kubernetes:apps/v1:Deployment").inputs
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == ("harbor-a.hospital.example/library/redis:8.2.4-alpine3.22@"
                                  f"{versions.REDIS.digest}")
    args = container["args"]
    # No snapshot; an append-only file on the counters' own volume (tests/test_quota_store.py restarts a real Redis).
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "yes"
    # The counters' claim is its only writable volume; the other is its password's read-only configuration file.
    assert [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v] == [
        "rate-limit-counters"]
    assert [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v] == ["rate-limit-redis-auth"]
    assert [m["readOnly"] for m in container["volumeMounts"] if m["name"] == "auth"] == [True]
    # A rewrite of the append-only file forks; copy-on-write may double the data set before it finishes.
    maxmemory = int(args[args.index("--maxmemory") + 1].removesuffix("mb")) * 1_000_000
    limit = int(container["resources"]["limits"]["memory"].removesuffix("Mi")) * 2**20
    assert limit >= 2 * maxmemory and container["resources"]["requests"]["memory"] == container["resources"]["limits"]["memory"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    namespace = prod.graph.named("gateway-ns-redis").inputs["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    (ingress,) = _spec(prod, "gateway-redis-allow-rate-limit")["ingress"]
    assert ingress["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}},
                                "podSelector": {"matchLabels": RATE_LIMIT_SELECTOR}}]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert _spec(prod, "gateway-redis-default-deny")["policyTypes"] == ["Ingress", "Egress"]


def test_the_external_processor_container_meets_pod_security_restricted(prod):
    from hipaa._rule import Resource
    from hipaa.pod_security_restricted import RULE as RESTRICTED

    container = _spec(prod, "gateway-extproc-config")["extProc"]["kubernetes"]
    pod = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
           "containers": [{"name": "ai-gateway-extproc", "image": "x/y:1", "securityContext": container["securityContext"]}]}
    resource = Resource("kubernetes:core/v1:Pod", "extproc", "urn:extproc", {"metadata": {"namespace": "api-gateway"},
                                                                             "spec": pod})
    assert RESTRICTED.check(resource, RESTRICTED.settings({})) == []
    assert {"name": "DISABLE_PPROF", "value": "true"} in container["env"]


def test_network_policies_admit_clients_and_monitoring_to_the_proxies_only(prod):
    clients = _spec(prod, "gateway-allow-clients")
    assert clients["podSelector"] == {"matchLabels": GATEWAY_PROXY_SELECTOR}
    (ingress,) = clients["ingress"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "clinical-notes"}}} in ingress["from"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 10443}]
    scrape = _spec(prod, "gateway-allow-metrics-scrape")["ingress"][0]["ports"]
    assert {p["port"] for p in scrape} == {19001, 1064}
    egress = _spec(prod, "gateway-allow-upstreams")["egress"]
    rate_limit = next(rule for rule in egress if rule["ports"] == [{"protocol": "TCP", "port": 8081}])
    assert rate_limit["to"][0]["podSelector"] == {"matchLabels": RATE_LIMIT_SELECTOR}


def test_token_metrics_are_scraped_from_the_proxies(prod):
    monitor = prod.graph.named("gateway-monitor").inputs
    assert monitor["metadata"]["labels"]["onprem-llm.io/monitor"] == "platform"
    assert monitor["spec"]["selector"] == {"matchLabels": GATEWAY_PROXY_SELECTOR}
    assert {e["portNumber"] for e in monitor["spec"]["podMetricsEndpoints"]} == {1064, 19001}


def test_chargeback_prices_groups_at_the_cost_per_million_tokens(prod):
    charge = prod.outputs["chargeback"]
    rate = prod.outputs["cost"]["costPerMillionTokensUsd"]
    assert charge["ratePerMillionTokensUsd"] == pytest.approx(rate, rel=1e-3)
    assert charge["plannedTokensPerMonth"] == 1_000_000 * (300 + 150)
    assert charge["groups"]["radiology"]["monthlyCostAtQuotaUsd"] == pytest.approx(100 * rate, rel=1e-3)
    assert set(charge["groups"]) == {"cardiology", "clinical-informatics", "radiology"}


# -- config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "path", "reason"), [
    (lambda g: g["modelAccess"].pop("mistral-7b-instruct"), "gateway.modelAccess.mistral-7b-instruct",
     "every model needs the groups"),
    (lambda g: g["modelAccess"].update({"mistral-7b": {"groups": ["x"]}}), "gateway.modelAccess.mistral-7b",
     "did you mean 'mistral-7b-instruct'"),
    (lambda g: g["monthlyTokenQuotas"].append({"group": "oncology", "tokens": 1000}), "gateway.monthlyTokenQuotas.oncology",
     "may use no model"),
    (lambda g: g["clientNamespaces"].append("monitoring"), "gateway.clientNamespaces", "platform namespaces"),
    (lambda g: g["modelAccess"]["llama-2-7b-chat"]["groups"].append('rad"iology'), "gateway.modelAccess",
     "cannot carry quotes"),
    (lambda g: g["tokenLimits"]["perUser"].append({"tokens": 5, "per": "Day"}), "gateway.tokenLimits.perUser",
     "more than once"),
    (lambda g: g["oidc"].pop("groupClaim"), "gateway.oidc.groupClaim", ""),
    (lambda g: g["tokenLimits"].update({"reservedPerUser": [{"tokens": 1200, "per": "Minute"}]}),
     "gateway.tokenLimits.reservedPerUser[0].tokens", "cannot hold one request of ['mistral-7b-instruct'] (maxTokens 1536)"),
    (lambda g: g["tokenLimits"].update({"reservedPerUser": []}), "gateway.tokenLimits.reservedPerUser",
     "production reserves tokens when a request is admitted"),
    (lambda g: g["tokenLimits"]["reservedPerUser"].append({"tokens": 9, "per": "Minute"}),
     "gateway.tokenLimits.reservedPerUser", "more than once"),
])
def test_gateway_config_is_checked(change, path, reason):
    raw = stack_config("prod")
    change(raw["gateway"])
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert any(i.path.startswith(path) and reason in i.reason for i in caught.value.issues), caught.value


@pytest.mark.parametrize(("max_tokens", "reason"), [
    (8192, "is not below the model's context length (maxModelLen 8192)"),
    (20000, "is not below the model's context length (maxModelLen 8192)"),
    (0, "must be at least 1 (tokens)"),
])
def test_a_ceiling_the_context_cannot_hold_is_refused(max_tokens, reason):
    raw = stack_config("prod")
    raw["models"]["mistral-7b-instruct"]["maxTokens"] = max_tokens
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert any(i.path == "models.mistral-7b-instruct.maxTokens" and i.value == max_tokens and reason in i.reason
               for i in caught.value.issues), caught.value


def test_the_default_ceiling_is_a_quarter_of_the_context_and_fits_the_default_reservation(raw_config):
    cfg = _parse(raw_config("dev"))
    for model in cfg.models.values():
        assert model.max_tokens is None and model.max_tokens_ceiling == model.max_model_len // 4
        assert cfg.gateway.token_limits.reserved_per_user[0].tokens >= model.max_tokens_ceiling


def test_more_models_than_a_route_holds_get_a_second_route(raw_config, chart_tools):
    """An AIGatewayRoute holds 15 rules; twenty models take two routes, each model routed once, all valid."""
    from offline.checks import preview
    from offline.run import evaluate

    raw = raw_config("dev")
    base, access = raw["models"], raw["gateway"]["modelAccess"]
    raw["models"] = {f"{key}-{i:02d}": {**model, "servedModelName": f"{key}-{i:02d}"}
                     for i in range(-(-20 // len(base))) for key, model in base.items()}
    raw["gateway"]["modelAccess"] = {name: access[name.rsplit("-", 1)[0]] for name in raw["models"]}
    raw["gpuPool"]["nodes"] = 40
    grown = evaluate("dev", raw_config=raw)
    routes = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in _of_kind(grown, "AIGatewayRoute")}
    assert sorted(routes) == ["openai", "openai-1"] and len(routes["openai"]["rules"]) == ai.AI_ROUTE_RULES
    routed = [rule["matches"][0]["headers"][0]["value"] for spec in routes.values() for rule in spec["rules"]]
    assert sorted(routed) == sorted(raw["models"])
    checks = preview.run(grown.graph, "1.32", raw["compliance"]["allowedRegistries"], *chart_tools)
    assert checks.charts_rendered and checks.crd_report.errors == []


def test_fixed_namespaces_match_what_the_gateway_creates():
    from components.config.rules import FIXED_NAMESPACES

    assert {ai.AI_GATEWAY_NAMESPACE, ai.REDIS_NAMESPACE, "envoy-gateway-system"} <= set(FIXED_NAMESPACES)


# -- through a drain ---------------------------------------------------------------------------------


def test_the_front_door_stays_up_through_a_node_drain(prod, chart_checks):
    """Two of every gateway part, spread over nodes, each with a disruption budget (a drain evicts one at a time)."""
    proxy = _spec(prod, "gateway-proxy-config")["provider"]["kubernetes"]
    assert proxy["envoyDeployment"]["replicas"] == 2 and proxy["envoyPDB"] == {"minAvailable": 1}
    assert proxy["envoyDeployment"]["pod"]["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    for release in ("gateway-envoy-gateway", "gateway-ai-gateway"):
        objects = next(r for r in chart_checks["prod"].releases if r.record.name == release).objects
        (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
        assert deployment["spec"]["replicas"] == 2, release
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        (budget,) = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
        assert budget["spec"]["minAvailable"] == 1, release
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(), release
        (spread,) = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert spread["labelSelector"]["matchLabels"].items() <= pod_labels.items(), "the spread must select its pods"
    limits = next(r for r in prod.graph.of_type("kubernetes:helm.sh/v3:Release") if r.name == "gateway-envoy-gateway")
    rate_limit = limits.inputs["values"]["config"]["envoyGateway"]["provider"]["kubernetes"]["rateLimitDeployment"]
    assert rate_limit["replicas"] == 2


def test_production_refuses_a_single_gateway_replica():
    raw = stack_config("prod")
    raw["gateway"]["replicas"] = 1
    with pytest.raises(ConfigError, match="gateway.replicas: 1: production keeps the only way to the models up"):
        _parse(raw)
