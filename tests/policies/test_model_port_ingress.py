from hipaa.model_port_ingress import RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def _policy(resources, name="llama-2-7b-chat-api-ingress"):
    return next(r for r in resources if r.name == name)


def test_bad_01_every_pod_of_the_gateway_namespace(stack_resources, settings):
    resources = stack_resources()
    policy = _policy(resources)
    del policy.props["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [policy.urn]


def test_bad_02_a_consumer_namespace(stack_resources, settings):
    resources = stack_resources()
    policy = _policy(resources, "mistral-7b-instruct-api-ingress")
    policy.props["spec"]["ingress"][0]["from"].append(
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "clinical-notes"}}})
    (violation,) = RULE.check(resources, settings(RULE))
    assert "clinical-notes" in violation[1]


def test_bad_03_proxy_labels_in_another_namespace(stack_resources, settings):
    resources = stack_resources()
    policy = _policy(resources)
    policy.props["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = \
        "clinical-notes"
    assert RULE.check(resources, settings(RULE))


def test_bad_04_any_source_or_an_address_block(stack_resources, settings):
    for peers in ([], [{"ipBlock": {"cidr": "10.0.0.0/8"}}], [{"podSelector": {}}],
                  [{"namespaceSelector": {}, "podSelector": {}}]):
        resources = stack_resources()
        policy = _policy(resources)
        policy.props["spec"]["ingress"][0]["from"] = peers
        assert RULE.check(resources, settings(RULE)), peers


def test_bad_05_a_second_policy_on_the_serving_namespace(stack_resources, settings):
    resources = stack_resources()
    policy = _policy(resources)
    import copy
    extra = copy.deepcopy(policy)
    object.__setattr__(extra, "urn", "urn:extra")
    extra.props["spec"]["podSelector"] = {}
    extra.props["spec"]["ingress"] = [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]}]
    resources.append(extra)
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == ["urn:extra"]


def test_bad_06_the_standby_site_is_checked_too(stack_resources, settings):
    resources = stack_resources("prod-standby")
    assert RULE.check(resources, settings(RULE, "prod-standby")) == []
    policy = _policy(resources, "llama-2-7b-chat-api-ingress")
    policy.props["spec"]["ingress"][0]["from"][1]["podSelector"] = {}
    assert [urn for urn, _ in RULE.check(resources, settings(RULE, "prod-standby"))] == [policy.urn]


def test_good_02_other_ports_between_the_model_pods(stack_resources, settings):
    """Ray and NCCL ports between the pods of one model are not its API."""
    resources = stack_resources()
    policy = _policy(resources)
    policy.props["spec"]["ingress"].append({"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "vllm"}}}],
                                            "ports": [{"protocol": "TCP", "port": 6379, "endPort": 6385},
                                                      {"protocol": "TCP", "port": 20000, "endPort": 20999}]})
    assert RULE.check(resources, settings(RULE)) == []


def test_bad_07_a_range_or_a_named_port_that_reaches_the_model_port(stack_resources, settings):
    for ports in ([{"protocol": "TCP", "port": 6379, "endPort": 9000}], [{"port": "http"}], [{"protocol": "TCP"}]):
        resources = stack_resources()
        policy = _policy(resources)
        policy.props["spec"]["ingress"].append({"from": [{"podSelector": {}}], "ports": ports})
        assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [policy.urn], ports
