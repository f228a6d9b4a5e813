from hipaa.no_open_network import RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_good_02_clients_may_reach_the_gateway_from_anywhere(stack_resources, settings):
    resources = stack_resources()
    clients = next(r for r in resources if r.name == "gateway-allow-clients")
    clients.props["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert RULE.check(resources, settings(RULE)) == []


def test_bad_01_egress_to_anywhere(stack_resources, settings):
    resources = stack_resources()
    policy = next(r for r in resources if r.name == "observability-allow-alert-delivery")
    policy.props["spec"]["egress"][0]["to"] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [policy.urn]


def test_bad_02_webhook_ingress_from_anywhere(stack_resources, settings):
    resources = stack_resources()
    policy = next(r for r in resources if r.name == "observability-allow-webhook-ingress")
    policy.props["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "::/0"}})
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [policy.urn]


def test_bad_03_one_of_several_download_blocks(stack_resources, settings):
    resources = stack_resources("prod-standby")
    policy = next(r for r in resources if r.name == "llama-2-7b-chat-download-egress")
    policy.props["spec"]["egress"][0]["to"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})
    assert [urn for urn, _ in RULE.check(resources, settings(RULE, "prod-standby"))] == [policy.urn]


def test_non_production_stacks_are_not_held_to_it(stack_resources, settings):
    resources = stack_resources("dev")
    assert settings(RULE, "dev")["production"] is False
    policy = next(r for r in resources if r.name == "observability-allow-alert-delivery")
    assert any(p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for p in policy.props["spec"]["egress"][0]["to"])
