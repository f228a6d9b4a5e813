from hipaa.ai_gateway_token_limited import RULE


def _find(resources, name):
    return next(r for r in resources if r.name == name)


def _rules(resources):
    return _find(resources, "gateway-token-limits").props["spec"]["rateLimit"]["global"]["rules"]


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_no_traffic_policy(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "gateway-token-limits"]
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [_find(resources, "gateway-route").urn]


def test_bad_02_route_records_no_tokens(stack_resources, settings):
    resources = stack_resources("dev")
    del _find(resources, "gateway-route").props["spec"]["llmRequestCosts"]
    assert any("records no token usage" in m for _, m in RULE.check(resources, settings(RULE, "dev")))


def test_bad_03_only_request_counting_left(stack_resources, settings):
    resources = stack_resources()
    rules = _rules(resources)
    rules[:] = [r for r in rules if "cost" not in r]
    assert len(RULE.check(resources, settings(RULE))) == 1


def test_bad_04_tokens_charged_to_a_header_nobody_authenticated(stack_resources, settings):
    resources = stack_resources()
    for rule in _rules(resources):
        for selector in rule["clientSelectors"]:
            for header in selector["headers"]:
                if header["name"] in ("x-llm-user", "x-llm-group"):
                    header["name"] = "x-client-id"
    assert len(RULE.check(resources, settings(RULE))) == 1


def test_bad_05_local_limits_do_not_count(stack_resources, settings):
    resources = stack_resources()
    spec = _find(resources, "gateway-token-limits").props["spec"]
    spec["rateLimit"] = {"local": spec["rateLimit"]["global"]}
    assert len(RULE.check(resources, settings(RULE))) == 1
