from hipaa._rule import Resource
from hipaa.gateway_only_exposure import INGRESS, RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_policy_admits_another_namespace(stack_resources, settings):
    resources = stack_resources()
    policy = next(r for r in resources if r.name == "llama-2-7b-chat-api-ingress")
    policy.props["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = \
        "marketing"
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [policy.urn]


def test_bad_02_policy_admits_any_source(stack_resources, settings):
    resources = stack_resources()
    policy = next(r for r in resources if r.name == "mistral-7b-instruct-api-ingress")
    policy.props["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert RULE.check(resources, settings(RULE))


def test_bad_03_ingress_around_the_gateway(stack_resources, settings):
    resources = stack_resources()
    service = next(r for r in resources if r.name == "llama-2-7b-chat-api" and r.type.endswith("Service"))
    resources.append(Resource(INGRESS, "direct", "urn:direct", {
        "metadata": {"name": "direct", "namespace": "llm-serving"},
        "spec": {"rules": [{"host": "x", "http": {"paths": [{"backend": {"service": {"name": "llama-2-7b-chat-api"}}}]}}]},
    }, provider=service.provider))
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == ["urn:direct"]
