"""The consumer example under mocks, with the StackReference answered as the engine would."""

from __future__ import annotations

import copy

import pytest

from offline.record import Secret
from offline.render import manifest


@pytest.fixture(scope="module")
def consumer(platform_prod, consumer_config, run_consumer):
    return run_consumer(consumer_config)


def test_reads_the_platform_stack_by_reference(consumer):
    (reference,) = consumer.graph.of_type("pulumi:pulumi:StackReference")
    assert reference.id == "organization/onprem-llm/prod"
    assert consumer.outputs["modelBaseUrl"] == "http://llama-2-7b-chat-api.llm-serving.svc.cluster.local:8000/v1"


def test_api_key_stays_secret_and_reaches_only_the_secret(consumer, platform_prod):
    secret = consumer.graph.named("model-credentials")
    assert isinstance(secret.inputs["stringData"], Secret)
    key = platform_prod.outputs["apiKeys"].value["llama-2-7b-chat"]
    for record in consumer.graph:
        assert key not in str(manifest(record)), record.urn


def test_network_policy_lets_the_app_reach_the_model_port_only(consumer, platform_prod):
    model = platform_prod.outputs["models"]["llama-2-7b-chat"]
    egress = consumer.graph.named("allow-model").inputs["spec"]["egress"]
    to_model = egress[0]
    assert to_model["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": model["namespace"]}
    assert to_model["ports"] == [{"protocol": "TCP", "port": model["port"]}]
    assert consumer.graph.named("default-deny").inputs["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_platform_admits_the_consumer_namespace(platform_prod, consumer_config):
    """The handshake: the platform's gateway namespaces, and so its endpoint NetworkPolicies, include the app."""
    namespace = consumer_config["appNamespace"]
    assert namespace in platform_prod.outputs["gatewayNamespaces"]
    policy = platform_prod.graph.named("llama-2-7b-chat-api-ingress").inputs["spec"]
    assert namespace in policy["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]


def test_unadmitted_namespace_is_refused_before_anything_is_created(consumer_config, run_consumer):
    raw = {**consumer_config, "appNamespace": "marketing"}
    with pytest.raises(Exception, match="not in the platform's gatewayNamespaces"):
        run_consumer(raw)


def test_unknown_contract_major_is_refused(platform_prod, consumer_config, run_consumer):
    from offline.run import as_stack_reference

    reference = copy.deepcopy(as_stack_reference(platform_prod))
    reference["outputs"]["contractVersion"] = "2.0.0"
    with pytest.raises(Exception, match="is not major 1"):
        run_consumer(consumer_config, reference)
