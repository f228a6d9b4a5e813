import copy

from hipaa.rate_limit_store_isolated import RULE


def _allow(resources):
    return next(r for r in resources if r.name == "gateway-redis-allow-rate-limit")


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        resources = stack_resources(stack)
        assert any(r.props.get("metadata", {}).get("namespace") == "gateway-redis" for r in resources)
        assert RULE.check(resources, settings(RULE, stack)) == []


def test_bad_01_another_namespace_reaches_the_store(stack_resources, settings):
    resources = stack_resources()
    peer = _allow(resources).props["spec"]["ingress"][0]["from"][0]
    peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "llm-serving"}}
    [(urn, message)] = RULE.check(resources, settings(RULE))
    assert urn == _allow(resources).urn and "admits pods other than the rate-limit service" in message


def test_bad_02_any_pod_of_the_controller_namespace(stack_resources, settings):
    resources = stack_resources()
    del _allow(resources).props["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert any("other than the rate-limit service" in m for _, m in RULE.check(resources, settings(RULE)))


def test_bad_03_addresses_or_every_source(stack_resources, settings):
    resources = stack_resources()
    rules = _allow(resources).props["spec"]["ingress"]
    rules.append({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]})
    rules.append(copy.deepcopy(rules[0]) | {"from": []})
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert any("admits addresses 10.0.0.0/8" in m for m in messages)
    assert any("ingress[2] admits every source" in m for m in messages)


def test_bad_04_no_default_deny(stack_resources, settings):
    resources = [r for r in stack_resources() if not (
        r.type.endswith(":NetworkPolicy") and r.props["metadata"].get("namespace") == "gateway-redis"
        and not r.props["spec"].get("podSelector", {}).get("matchLabels"))]
    assert any("no default-deny ingress" in m for _, m in RULE.check(resources, settings(RULE)))
