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


def test_bad_07_tokens_of_any_audience_or_keys_over_plain_http(stack_resources, settings):
    resources = stack_resources()
    provider = _policy(resources)["jwt"]["providers"][0]
    provider["audiences"] = []
    provider["remoteJWKS"]["uri"] = "http://sso.hospital.example/certs"
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert any("audiences is empty" in m for m in messages)
    assert any("remoteJWKS.uri 'http://sso.hospital.example/certs' is not https://" in m for m in messages)


def test_good_02_inline_keys_need_no_fetch(stack_resources, settings):
    resources = stack_resources()
    provider = _policy(resources)["jwt"]["providers"][0]
    del provider["remoteJWKS"]
    provider["localJWKS"] = {"type": "Inline", "inline": "{\"keys\": []}"}
    assert RULE.check(resources, settings(RULE)) == []


def test_bad_08_a_rule_admits_tokens_without_the_user_claim(stack_resources, settings):
    resources = stack_resources()
    rules = _policy(resources)["authorization"]["rules"]
    rules[1]["cel"] = "request.query == '' && 'x-llm-token-expiry' in request.headers"
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert [m for m in messages if "user claim 'sub'" in m] == [
        f"require-jwt: authorization rule {rules[1]['name']} must require the user claim 'sub' (require its header in "
        "the rule's cel): without it a token with no user shares one anonymous limit and its calls are attributed to "
        "nobody"]


def test_bad_09_no_header_carries_the_user_claim(stack_resources, settings):
    resources = stack_resources()
    provider = _policy(resources)["jwt"]["providers"][0]
    provider["claimToHeaders"] = [c for c in provider["claimToHeaders"] if c["claim"] != "sub"]
    assert any("copies the user claim 'sub'" in m for _, m in RULE.check(resources, settings(RULE)))
