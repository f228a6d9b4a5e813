"""The program under mocks: components, wiring, providers, options and secrets in the recorded graph."""

from __future__ import annotations

import pytest

from offline.record import OfflineMocks, RecordingMonitor, Secret
from offline.run import ROOT, evaluate
from offline.world import FakeWorld, LookupFailed, Mode

COMPONENTS = {
    "onprem:platform:GpuHostPool", "onprem:platform:TanzuCluster", "onprem:platform:VllmService",
    "onprem:platform:ObservabilityStack", "onprem:platform:DrSite", "onprem:platform:Velero",
    "onprem:platform:AriaIntegration", "onprem:platform:ModelGateway", "onprem:platform:ClusterAccess",
    "onprem:platform:AuditShipping", "onprem:platform:GatewayControllerNetwork",
}


def _top_level(evaluation, type_):
    """Components of the primary site: parented to the stack itself."""
    return [r for r in evaluation.graph.of_type(type_) if r.parent.split("::")[2] == "pulumi:pulumi:Stack"]


def _component_types(evaluation):
    return {r.type for r in evaluation.graph if r.type in COMPONENTS}


def test_dev_builds_every_component_but_the_dr_site(dev):
    assert _component_types(dev) == COMPONENTS - {
        "onprem:platform:DrSite", "onprem:platform:Velero", "onprem:platform:AriaIntegration",
        "onprem:platform:AuditShipping",
    }
    assert len(dev.graph.of_type("onprem:platform:VllmService")) == 1


def test_prod_builds_every_component_and_one_service_per_model(prod):
    assert _component_types(prod) == COMPONENTS
    services = {r.name for r in _top_level(prod, "onprem:platform:VllmService")}
    assert services == {"llama-2-7b-chat", "mistral-7b-instruct"}


def test_every_resource_is_parented_to_a_component(prod):
    for record in prod.graph:
        if record.type in COMPONENTS:
            continue
        parent_type = record.parent.split("::")[2].split("$")[-1]
        assert parent_type in COMPONENTS, f"{record.urn} is not inside a component"


def test_vsphere_provider_is_explicit_with_tls_verification_and_secret_password(prod):
    provider = prod.graph.named("primary-vsphere", "pulumi:providers:vsphere")
    assert isinstance(provider.inputs["password"], Secret)
    # Bridged providers receive their config as JSON strings.
    assert provider.inputs["allowUnverifiedSsl"] == "false"
    for record in prod.graph:
        if record.type.startswith("vsphere:"):
            assert record.provider_urn.endswith(("::primary-vsphere", "::dr-pool-vsphere")), record.urn


def test_vsphere_lookups_go_through_the_explicit_provider(prod):
    tokens = {i.token for i in prod.invokes}
    assert "vsphere:index/getDatacenter:getDatacenter" in tokens
    assert all(i.provider for i in prod.invokes)


def test_workload_objects_use_the_provider_built_from_the_read_kubeconfig(prod):
    workload = prod.graph.named("primary-workload", "pulumi:providers:kubernetes")
    kubeconfig_read = prod.graph.named("primary-kubeconfig")
    assert kubeconfig_read.read and kubeconfig_read.id == "llm-platform-prod/llm-prod-kubeconfig"
    assert isinstance(workload.inputs["kubeconfig"], Secret)
    assert kubeconfig_read.urn in workload.options["dependencies"]
    namespace = prod.graph.named("primary-ns-serving")
    assert namespace.provider_urn == workload.urn


def test_kubeconfig_read_waits_for_the_cluster(prod):
    cluster = prod.graph.named("primary-cluster")
    assert cluster.urn in prod.graph.named("primary-kubeconfig").options["dependencies"]
    assert cluster.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"


def test_each_site_uses_only_its_own_providers(prod, standby):
    for evaluation, site, vcenter in ((prod, "primary", "vcenter-a.hospital.example"),
                                      (standby, "standby", "vcenter-b.hospital.example")):
        providers = {r.urn for r in evaluation.graph if r.type.startswith("pulumi:providers:")}
        # Aria Automation, where enabled, is the primary's own management plane.
        assert {u.rsplit("::", 1)[1] for u in providers} - {"aria-vra"} == {
            f"{site}-vsphere", f"{site}-supervisor", f"{site}-workload"}
        assert evaluation.graph.named(f"{site}-vsphere").inputs["vsphereServer"] == vcenter
        for record in evaluation.graph:
            if record.custom and not record.type.startswith("pulumi:providers:") and record.provider:
                assert record.provider_urn in providers, f"{record.urn} uses {record.provider_urn}"


def test_options_are_recorded(prod):
    record = prod.graph.named("primary-serving-default-deny")
    assert set(record.options) >= {
        "protect", "retainOnDelete", "ignoreChanges", "dependencies", "additionalSecretOutputs",
    }
    assert prod.graph.named("primary-ns-serving").urn in record.options["dependencies"]


def test_integers_are_restored_from_the_wire_floats(prod):
    gpu_class = prod.graph.named("primary-gpu-class")
    assert gpu_class.inputs["memoryReservation"] == 100 and isinstance(gpu_class.inputs["memoryReservation"], int)
    cluster = prod.graph.named("primary-cluster")
    assert cluster.inputs["spec"]["topology"]["controlPlane"]["replicas"] == 3


def test_secret_outputs_stay_secret(prod):
    assert isinstance(prod.outputs["kubeconfig"], Secret)
    assert isinstance(prod.outputs["grafanaAdminPassword"], Secret)
    assert "apiKeys" not in prod.outputs, "consumers call the gateway with their own tokens, never a shared key"
    assert prod.outputs["gpuCount"] == 4


def test_api_key_reaches_its_kubernetes_secret_only_as_a_pulumi_secret(prod):
    secret = prod.graph.named("llama-2-7b-chat-api-key", "kubernetes:core/v1:Secret")
    assert isinstance(secret.inputs["stringData"], Secret)


def test_unknown_datacenter_fails_with_the_name(raw_config):
    """Against the site's inventory file (the default site is derived from the stack's own names)."""
    from offline import site

    path = ROOT / "tests" / "data" / "site-dev.yaml"
    raw = raw_config("dev")
    raw["vsphere"]["datacenter"] = "dc-nowhere"
    world = FakeWorld("dev", inventory=site.load(path), inventory_source=site.source(path))
    with pytest.raises(LookupFailed, match="datacenter 'dc-nowhere' not found"):
        evaluate("dev", raw, world=world)


def test_invalid_config_registers_no_resource(raw_config):
    raw = raw_config("prod")
    raw["models"]["llama-2-7b-chat"]["tensorParallelSize"] = 8
    world = FakeWorld("prod")
    monitor = RecordingMonitor(OfflineMocks(world))
    with pytest.raises(Exception, match="tensorParallelSize: 8"):
        evaluate("prod", raw, world=world, monitor=monitor)
    assert monitor.records == [] and monitor.invokes == []


def test_stack_references_read_the_fake_worlds_outputs():
    world = FakeWorld("consumer", stack_outputs={"organization/onprem-llm/prod": {
        "outputs": {"clusterName": "llm-prod", "kubeconfig": "apiVersion: v1"}, "secretOutputNames": ["kubeconfig"],
    }})
    result = evaluate("dev", world=world, program=ROOT / "tests" / "programs" / "stack_reference.py")
    reference = result.graph.of_type("pulumi:pulumi:StackReference")
    assert [r.id for r in reference] == ["organization/onprem-llm/prod"]
    assert result.outputs["clusterName"] == "llm-prod"
    assert isinstance(result.outputs["kubeconfig"], Secret), "secret stack outputs stay secret in the consumer"


def test_preview_mode_registers_the_same_resources(prod):
    """In preview, outputs the fake world does not compute stay unknown; the program's shape must not change."""
    preview = evaluate("prod", mode=Mode.EXISTING)
    assert [(r.type, r.name) for r in preview.graph] == [(r.type, r.name) for r in prod.graph]
