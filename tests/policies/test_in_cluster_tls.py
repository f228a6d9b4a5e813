from hipaa.in_cluster_tls import RULE

MODEL = "llama-2-7b-chat"


def _find(resources, name, type_suffix=""):
    return next(r for r in resources if r.name == name and r.type.endswith(type_suffix))


def _eg_values(resources):
    return _find(resources, "gateway-envoy-gateway").props["values"]["config"]["envoyGateway"]["extensionManager"]


def _server(resources):
    return _find(resources, f"{MODEL}-server").props["spec"]["template"]["spec"]["containers"][0]


def _messages(resources, settings, stack="prod"):
    return [m for _, m in RULE.check(resources, settings(RULE, stack))]


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod", "prod-standby"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == [], stack


def test_good_02_extension_feed_over_tls_may_carry_secrets(stack_resources, settings):
    resources = stack_resources()
    manager = _eg_values(resources)
    del manager["hooks"]["xdsTranslator"]["translation"]["secret"]
    manager["service"]["tls"] = {"certificateRef": {"name": "extension-server-ca"}}
    assert _messages(resources, settings) == []


def test_good_03_outside_production_plain_http_to_vllm_is_only_advised_against(stack_resources, settings):
    assert settings(RULE, "dev")["requireUpstreamTls"] is False
    assert settings(RULE, "prod")["requireUpstreamTls"] is True


def test_bad_01_extension_feed_sends_secrets_by_default(stack_resources, settings):
    for stack in ("dev", "prod"):
        resources = stack_resources(stack)
        del _eg_values(resources)["hooks"]["xdsTranslator"]["translation"]["secret"]
        release = _find(resources, "gateway-envoy-gateway")
        violations = RULE.check(resources, settings(RULE, stack))
        assert [urn for urn, _ in violations] == [release.urn], stack
        assert "secret.includeAll: false" in violations[0][1]


def test_bad_02_extension_feed_includes_secrets_explicitly(stack_resources, settings):
    resources = stack_resources()
    _eg_values(resources)["hooks"]["xdsTranslator"]["translation"]["secret"] = {"includeAll": True}
    assert any("plain gRPC" in m for m in _messages(resources, settings))


def test_bad_03_a_model_backend_without_tls_policy(stack_resources, settings):
    resources = [r for r in stack_resources()
                 if not (r.type.endswith(":BackendTLSPolicy") and r.name == f"gateway-{MODEL}-upstream-tls")]
    violations = RULE.check(resources, settings(RULE))
    backend = _find(resources, f"gateway-{MODEL}-backend")
    assert [urn for urn, _ in violations] == [backend.urn]
    assert "plain HTTP" in violations[0][1]


def test_bad_04_tls_policy_without_ca_or_for_another_name(stack_resources, settings):
    resources = stack_resources()
    validation = _find(resources, f"gateway-{MODEL}-upstream-tls").props["spec"]["validation"]
    del validation["caCertificateRefs"]
    validation["hostname"] = "example.org"
    messages = _messages(resources, settings)
    assert any("verifies against no CA" in m for m in messages)
    assert any("'example.org', not the endpoint" in m for m in messages)


def test_bad_05_vllm_serves_plain_http(stack_resources, settings):
    resources = stack_resources()
    container = _server(resources)
    container["args"] = [a for a in container["args"] if not a.startswith("--ssl-") and "serving-tls" not in a]
    messages = _messages(resources, settings)
    assert len(messages) == 1 and "serves plain HTTP (no --ssl-certfile, --ssl-keyfile)" in messages[0], messages


def test_bad_06_one_probe_left_on_http(stack_resources, settings):
    resources = stack_resources()
    _server(resources)["readinessProbe"]["httpGet"]["scheme"] = "HTTP"
    assert [m for m in _messages(resources, settings) if "readinessProbe.httpGet.scheme is HTTP" in m]
