from hipaa.no_external_services import RULE


def test_good_01_cluster_ip(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-api", type_suffix="Service"), settings(RULE)) == []


def test_bad_01_load_balancer(resource, settings):
    service = resource("llama-2-7b-chat-api", type_suffix="Service")
    service.props["spec"]["type"] = "LoadBalancer"
    assert "allowedExternalServices" in RULE.check(service, settings(RULE))[0]


def test_bad_02_allowed_load_balancer_without_source_ranges(resource, settings):
    service = resource("llama-2-7b-chat-api", type_suffix="Service")
    service.props["spec"]["type"] = "LoadBalancer"
    config = {**settings(RULE), "allowedExternalServices": ["llm-serving/llama-2-7b-chat-api"]}
    assert "loadBalancerSourceRanges" in RULE.check(service, config)[0]
    service.props["spec"]["loadBalancerSourceRanges"] = ["10.1.0.0/16"]
    assert RULE.check(service, config) == []


def test_bad_03_node_port(resource, settings):
    service = resource("llama-2-7b-chat-api", type_suffix="Service")
    service.props["spec"]["type"] = "NodePort"
    assert RULE.check(service, settings(RULE))
