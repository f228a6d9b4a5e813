from hipaa.gateway_authentication import RULE


def _find(resources, name):
    return next(r for r in resources if r.name == name)


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_authentication_removed(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "gateway-authentication"]
    urns = [urn for urn, _ in RULE.check(resources, settings(RULE))]
    # The standby site's routes keep their own SecurityPolicy.
    assert sorted(urns) == sorted(r.urn for r in resources if r.type.endswith(":HTTPRoute") and not r.name.startswith("dr-"))


def test_bad_02_optional_jwt_does_not_count(stack_resources, settings):
    resources = stack_resources()
    _find(resources, "gateway-authentication").props["spec"]["jwt"]["optional"] = True
    routes = [r.urn for r in resources if r.type.endswith(":HTTPRoute") and not r.name.startswith("dr-")]
    assert routes and sorted(urn for urn, _ in RULE.check(resources, settings(RULE))) == sorted(routes)


def test_bad_03_plain_http_listener(stack_resources, settings):
    resources = stack_resources()
    listener = _find(resources, "gateway-gateway").props["spec"]["listeners"][0]
    listener["protocol"] = "HTTP"
    assert any("must be HTTPS" in m for _, m in RULE.check(resources, settings(RULE)))


def test_bad_04_metrics_routed(stack_resources, settings):
    resources = stack_resources()
    route = _find(resources, "gateway-models-route-0")
    route.props["spec"]["rules"][0]["matches"][0]["path"] = {"type": "PathPrefix", "value": "/"}
    assert any("only exact OpenAI API paths" in m for _, m in RULE.check(resources, settings(RULE)))
