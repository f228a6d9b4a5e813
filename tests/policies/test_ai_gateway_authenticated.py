from hipaa.ai_gateway_authenticated import RULE


def _find(resources, name):
    return next(r for r in resources if r.name == name)


def _policy(resources):
    return _find(resources, "gateway-authentication").props["spec"]


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_no_security_policy(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "gateway-authentication"]
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [_find(resources, "gateway-route").urn]


def test_bad_02_token_also_read_from_the_query(stack_resources, settings):
    resources = stack_resources()
    del _policy(resources)["jwt"]["providers"][0]["extractFrom"]
    assert any("?access_token=" in m for _, m in RULE.check(resources, settings(RULE)))
    resources = stack_resources()
    _policy(resources)["jwt"]["providers"][0]["extractFrom"]["params"] = ["access_token"]
    assert any("headers only" in m for _, m in RULE.check(resources, settings(RULE)))


def test_bad_03_optional_jwt(stack_resources, settings):
    resources = stack_resources("dev")
    _policy(resources)["jwt"]["optional"] = True
    assert any("must require a token" in m for _, m in RULE.check(resources, settings(RULE, "dev")))


def test_bad_04_authorization_allows_by_default(stack_resources, settings):
    resources = stack_resources()
    _policy(resources)["authorization"]["defaultAction"] = "Allow"
    assert any("deny by default" in m for _, m in RULE.check(resources, settings(RULE)))


def test_bad_05_a_rule_opens_a_path_prefix_of_vllm(stack_resources, settings):
    resources = stack_resources()
    rule = _policy(resources)["authorization"]["rules"][1]
    rule["operation"]["path"] = {"type": "PathPrefix", "value": "/"}
    assert any(f"rule {rule['name']} must allow one exact OpenAI path" in m for _, m in RULE.check(resources, settings(RULE)))


def test_bad_06_tokens_without_exp_or_with_a_query_admitted(stack_resources, settings):
    resources = stack_resources()
    rules = _policy(resources)["authorization"]["rules"]
    rules[0]["cel"] = "request.query == ''"
    rules[2]["cel"] = "'x-llm-token-expiry' in request.headers"
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert any(f"{rules[0]['name']} must require a token with exp" in m for m in messages)
    assert any(f"{rules[2]['name']} must require no query string" in m for m in messages)
