"""The consumer example under mocks, with the StackReference answered as the engine would."""

from __future__ import annotations

import copy

import pytest

from components.builders.gateway_pods import GATEWAY_PROXY_SELECTOR


@pytest.fixture(scope="module")
def consumer(platform_prod, consumer_config, run_consumer):
    return run_consumer(consumer_config)


def test_reads_the_platform_stack_by_reference(consumer):
    (reference,) = consumer.graph.of_type("pulumi:pulumi:StackReference")
    assert reference.id == "organization/onprem-llm/prod"
    assert consumer.outputs["baseUrl"] == "https://llm.hospital.example/v1"
    assert consumer.outputs["model"] == "llama-2-7b-chat"


def test_the_app_gets_the_one_base_url_and_no_shared_key(consumer):
    data = consumer.graph.named("llm-client").inputs["data"]
    assert data == {"base-url": "https://llm.hospital.example/v1", "model": "llama-2-7b-chat",
                    "token-issuer": "https://sso.hospital.example/realms/clinical", "token-audience": "llm-gateway"}
    assert not consumer.graph.of_type("kubernetes:core/v1:Secret"), "the app uses its own IdP token, not a platform key"


def test_network_policy_reaches_the_gateway_proxies_and_never_the_model_servers(consumer, platform_prod):
    egress = consumer.graph.named("allow-gateway").inputs["spec"]["egress"]
    to_gateway = egress[0]
    assert to_gateway["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "api-gateway"}},
                                 "podSelector": {"matchLabels": GATEWAY_PROXY_SELECTOR}}]
    assert to_gateway["ports"] == [{"protocol": "TCP", "port": 10443}]
    serving = platform_prod.outputs["servingNamespace"]
    for rule in egress:
        for peer in rule["to"]:
            assert (peer.get("namespaceSelector") or {}).get("matchLabels") != {"kubernetes.io/metadata.name": serving}
        assert {"protocol": "TCP", "port": 8000} not in rule["ports"]
    assert egress[1]["to"] == [{"ipBlock": {"cidr": "10.10.0.0/16"}}]
    assert consumer.graph.named("default-deny").inputs["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_platform_admits_the_consumer_namespace_at_its_gateway(platform_prod, consumer_config):
    """The handshake: the gateway's NetworkPolicy admits the app's namespace on the proxy port."""
    namespace = consumer_config["appNamespace"]
    assert namespace in platform_prod.outputs["gatewayClients"]["namespaces"]
    ingress = platform_prod.graph.named("gateway-allow-clients").inputs["spec"]["ingress"][0]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}} in ingress["from"]


def test_unadmitted_namespace_is_refused_before_anything_is_created(consumer_config, run_consumer):
    raw = {**consumer_config, "appNamespace": "marketing"}
    with pytest.raises(Exception, match="not in the platform's gatewayClients.namespaces"):
        run_consumer(raw)


def test_a_group_the_model_does_not_admit_is_refused(consumer_config, run_consumer):
    raw = {**consumer_config, "model": "mistral-7b-instruct", "appGroup": "radiology"}
    with pytest.raises(Exception, match="may not use 'mistral-7b-instruct'"):
        run_consumer(raw)


def test_unknown_contract_major_is_refused(platform_prod, consumer_config, run_consumer):
    from offline.run import as_stack_reference

    reference = copy.deepcopy(as_stack_reference(platform_prod))
    reference["outputs"]["contractVersion"] = "1.2.0"
    with pytest.raises(Exception, match="is not major 3"):
        run_consumer(consumer_config, reference)
