import json

from hipaa.ai_gateway_token_reservation import RULE


def _find(resources, name):
    return next(r for r in resources if r.name == name)


def _rules(resources):
    return _find(resources, "gateway-token-limits").props["spec"]["rateLimit"]["global"]["rules"]


def _reservations(resources):
    return [r for r in _rules(resources) if "response" not in r.get("cost", {"response": None})]


def _server_args(resources, name="mistral-7b-instruct-server"):
    return next(c for c in _find(resources, name).props["spec"]["template"]["spec"]["containers"]
                if c["name"] == "vllm")["args"]


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_good_02_outside_production_nothing_is_required(stack_resources, settings):
    resources = stack_resources("dev")
    _rules(resources)[:] = [r for r in _rules(resources) if r not in _reservations(resources)]
    assert settings(RULE, "dev")["requireReservation"] is False
    assert RULE.check(resources, settings(RULE, "dev")) == []


def test_bad_01_no_reservation_rules(stack_resources, settings):
    resources = stack_resources()
    _rules(resources)[:] = [r for r in _rules(resources) if r not in _reservations(resources)]
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert len(messages) == 2 and all("has no reservation" in m for m in messages)


def test_bad_02_one_model_of_many_unreserved(stack_resources, settings):
    resources = stack_resources()
    _rules(resources).remove(next(r for r in _reservations(resources)
                                  if r["clientSelectors"][0]["headers"][1]["value"] == "mistral-7b-instruct"))
    (message,) = [m for _, m in RULE.check(resources, settings(RULE))]
    assert "model mistral-7b-instruct has no reservation" in message


def test_bad_03_charged_on_the_response_is_no_reservation(stack_resources, settings):
    resources = stack_resources()
    for rule in _reservations(resources):
        rule["cost"]["response"] = {"from": "Metadata", "metadata": {"namespace": "io.envoy.ai_gateway",
                                                                     "key": "llm_total_token"}}
    assert len(RULE.check(resources, settings(RULE))) == 2


def test_bad_04_reservation_below_what_the_server_may_generate(stack_resources, settings):
    resources = stack_resources()
    args = _server_args(resources)
    index = args.index("--override-generation-config") + 1
    args[index] = json.dumps({"max_new_tokens": 4096})
    (message,) = [m for _, m in RULE.check(resources, settings(RULE))]
    assert "reserves 1536 tokens per request, less than the 4096" in message


def test_bad_05_server_without_a_ceiling(stack_resources, settings):
    resources = stack_resources()
    args = _server_args(resources)
    index = args.index("--override-generation-config")
    del args[index:index + 2]
    (message,) = [m for _, m in RULE.check(resources, settings(RULE))]
    assert "serves mistral-7b-instruct with no max_tokens ceiling" in message


def test_bad_06_reserved_per_a_header_nobody_authenticated(stack_resources, settings):
    resources = stack_resources()
    for rule in _reservations(resources):
        rule["clientSelectors"][0]["headers"][0]["name"] = "x-client-id"
    assert len(RULE.check(resources, settings(RULE))) == 2


def test_bad_07_many_choices_per_request(stack_resources, settings):
    resources = stack_resources()
    route = next(r for r in resources if r.type.endswith(":AIGatewayRoute"))
    del route.props["spec"]["rules"][0]["backendRefs"][0]["bodyMutation"]
    (message,) = [m for _, m in RULE.check(resources, settings(RULE))]
    assert "does not set the body's n to 1" in message
