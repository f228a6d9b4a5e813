from hipaa.gateway_identity_headers import RULE


def _find(resources, name):
    return next(r for r in resources if r.name == name)


def _early(resources):
    return _find(resources, "gateway-strip-identity-headers").props["spec"]["headers"]["earlyRequestHeaders"]


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_good_02_a_prefix_match_strips_the_header(stack_resources, settings):
    resources = stack_resources()
    early = _early(resources)
    early["remove"] = [h for h in early["remove"] if h != "x-llm-user"]
    assert RULE.check(resources, settings(RULE)) == [], "removeOnMatch x-llm- still strips it"


def test_bad_01_header_policy_missing(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "gateway-strip-identity-headers"]
    ((urn, message),) = RULE.check(resources, settings(RULE))
    assert urn == _find(resources, "gateway-authentication").urn
    assert "x-llm-user" in message and "x-llm-group" in message and "x-ai-eg-model" in message


def test_bad_02_user_header_not_stripped(stack_resources, settings):
    resources = stack_resources()
    early = _early(resources)
    early["remove"] = [h for h in early["remove"] if h != "x-llm-user"]
    early["removeOnMatch"] = [m for m in early["removeOnMatch"] if m["value"] != "x-llm-"]
    ((_, message),) = RULE.check(resources, settings(RULE))
    assert "['x-llm-user']" in message


def test_bad_03_model_header_of_the_ai_route_not_stripped(stack_resources, settings):
    resources = stack_resources("dev")
    early = _early(resources)
    early["remove"] = [h for h in early["remove"] if h != "x-ai-eg-model"]
    early["removeOnMatch"] = [m for m in early["removeOnMatch"] if m["value"] != "x-ai-eg-"]
    ((_, message),) = RULE.check(resources, settings(RULE, "dev"))
    assert "['x-ai-eg-model']" in message


def test_bad_04_a_new_claim_header_without_stripping(stack_resources, settings):
    resources = stack_resources()
    provider = _find(resources, "gateway-authentication").props["spec"]["jwt"]["providers"][0]
    provider["claimToHeaders"].append({"claim": "email", "header": "x-user-email"})
    ((_, message),) = RULE.check(resources, settings(RULE))
    assert "x-user-email" in message
