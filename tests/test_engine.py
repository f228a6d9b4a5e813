"""The offline engine plays the real engine's preview of a new stack, `pulumi up`, and an existing stack."""

from __future__ import annotations

import pulumi
import pytest

from offline.record import OfflineMocks, RecordingMonitor, Secret, is_unknown
from offline.run import ROOT, evaluate, stack_config
from offline.world import FakeWorld, LookupFailed, Mode, ReadFailed
from tests.conftest import STACKS

PROGRAMS = ROOT / "tests" / "programs"
CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"


def _run(program: str, mode: Mode, **config):
    return evaluate("dev", raw_config=config, program=PROGRAMS / program, project="enginetest", mode=mode)


@pytest.mark.parametrize("stack", STACKS)
def test_the_new_stack_preview_of_each_stack_registers_what_up_creates(stack, previews, evaluations):
    assert [(r.type, r.name) for r in previews[stack].graph] == [(r.type, r.name) for r in evaluations[stack].graph]


@pytest.mark.parametrize("stack", STACKS)
def test_resources_being_created_have_unknown_ids_in_preview_but_echo_their_inputs(stack, previews):
    preview = previews[stack]
    created = [r for r in preview.graph if r.custom and not r.read]
    assert created and all(r.id == "" for r in created)
    cluster = next(r for r in preview.graph.of_type(CLUSTER))
    # pulumi-kubernetes previews return the inputs: the name is known, the id is not.
    assert cluster.inputs["metadata"]["name"] == stack_config(stack)["tanzu"]["clusterName"]
    # A random password is computed by its provider: unknown in preview.
    api_key_secret = preview.graph.named("llama-2-7b-chat-api-key", "kubernetes:core/v1:Secret")
    assert isinstance(api_key_secret.inputs["stringData"], Secret)
    assert is_unknown(api_key_secret.inputs["stringData"].value)


def test_the_kubeconfig_read_is_skipped_in_preview_and_runs_after_the_cluster_in_up(previews, prod):
    read = previews["prod"].graph.named("primary-kubeconfig")
    assert read.read and read.id == ""  # the id comes from an apply on the Cluster's unknown id: not run
    workload = previews["prod"].graph.named("primary-workload", "pulumi:providers:kubernetes")
    assert is_unknown(workload.inputs["kubeconfig"].value)
    assert prod.graph.named("primary-kubeconfig").id == "llm-platform-prod/llm-prod-kubeconfig"
    order = [r.urn for r in prod.graph.topological_order()]
    assert order.index(prod.graph.named("primary-cluster").urn) < order.index(prod.graph.named("primary-kubeconfig").urn)


def test_invokes_on_unknown_inputs_are_skipped_in_preview(previews, prod):
    """As the Python SDK does (pulumi/pulumi#18141): the Aria region lookup waits for the account's id."""
    region = "vra:region/getRegion:getRegion"
    assert [i.token for i in prod.invokes].count(region) == 1
    assert region not in {i.token for i in previews["prod"].invokes}
    # Lookups whose inputs are known run in preview: the vCenter inventory exists beforehand.
    assert {i.token for i in previews["prod"].invokes} >= {"vsphere:index/getDatacenter:getDatacenter",
                                                            "vsphere:index/getComputeCluster:getComputeCluster"}


def test_preview_outputs_that_depend_on_created_resources_are_unknown(previews):
    outputs = previews["prod"].outputs
    assert isinstance(outputs["kubeconfig"], Secret) and is_unknown(outputs["kubeconfig"].value)
    assert is_unknown(outputs["ariaZoneId"])
    assert outputs["clusterName"] == "llm-prod"


def test_a_program_that_reads_an_object_it_creates_fails_the_new_stack_preview():
    with pytest.raises(ReadFailed) as caught:
        _run("read_own_object.py", Mode.PREVIEW, pattern="fixed")
    assert str(caught.value) == "resource 'default/demo' does not exist"


@pytest.mark.parametrize("mode", [Mode.UP, Mode.EXISTING])
def test_the_same_read_succeeds_once_the_object_exists(mode):
    assert _run("read_own_object.py", mode, pattern="fixed").outputs == {"readName": "demo"}


def test_a_read_whose_id_comes_from_the_object_is_skipped_in_preview_and_runs_in_up():
    preview = _run("read_own_object.py", Mode.PREVIEW, pattern="output")
    assert preview.graph.named("read").id == "" and is_unknown(preview.outputs["readName"])
    assert _run("read_own_object.py", Mode.UP, pattern="output").outputs == {"readName": "demo"}


def test_a_read_of_an_object_that_existed_before_runs_in_preview():
    preview = _run("read_own_object.py", Mode.PREVIEW, pattern="builtin")
    assert preview.graph.named("read").id == "kube-system"
    assert preview.outputs == {"readName": "kube-system"}


def test_regression_the_fixed_id_kubeconfig_read_fails_the_new_stack_preview():
    """TanzuCluster's old pattern: Secret.get("<ns>/<cluster>-kubeconfig", depends_on=[cluster])."""
    with pytest.raises(ReadFailed, match=r"^resource 'llm-platform-dev/llm-dev-kubeconfig' does not exist$"):
        _run("fixed_id_kubeconfig.py", Mode.PREVIEW)
    assert _run("fixed_id_kubeconfig.py", Mode.UP).outputs == {"kubeconfigKeys": ["value"]}


class _EmptyKubeconfigSecret(FakeWorld):
    def _kubeconfig_secret(self, namespace, secret_name, cluster, resource_id):
        return {**super()._kubeconfig_secret(namespace, secret_name, cluster, resource_id), "data": {"value": ""}}


class _EmptySupervisorKubeconfig(FakeWorld):
    def stand_in_secret(self, key):
        return "" if key == "supervisorKubeconfig" else super().stand_in_secret(key)


def test_an_empty_workload_kubeconfig_is_refused_not_replaced_by_the_ambient_one():
    with pytest.raises(pulumi.RunError, match="Secret llm-platform-dev/llm-dev-kubeconfig is empty; refusing it"):
        evaluate("dev", world=_EmptyKubeconfigSecret("dev"))


def test_an_empty_supervisor_kubeconfig_is_refused_already_in_preview():
    """Config validation refuses the empty secret before any resource, naming the command that sets it."""
    with pytest.raises(pulumi.RunError, match="supervisorKubeconfig: <secret, not shown>: secret is set but empty"):
        evaluate("dev", world=_EmptySupervisorKubeconfig("dev"), mode=Mode.PREVIEW)


def test_existing_stack_preview_knows_ids_and_reads_the_stacks_own_objects():
    existing = evaluate("dev", mode=Mode.EXISTING)
    assert existing.graph.named("primary-kubeconfig").id == "llm-platform-dev/llm-dev-kubeconfig"
    assert existing.graph.named("primary-cluster").id == "llm-platform-dev/llm-dev"
    assert isinstance(existing.outputs["kubeconfig"], Secret) and isinstance(existing.outputs["kubeconfig"].value, str)


def test_kubernetes_objects_get_the_providers_namespace_slash_name_ids(prod):
    assert prod.graph.named("primary-ns-serving").id == "llm-serving"
    assert prod.graph.named("llama-2-7b-chat-server").id == "llm-serving/llama-2-7b-chat"
    assert prod.graph.named("primary-keda", "kubernetes:helm.sh/v3:Release").id == "keda/keda"


def test_the_fake_aria_does_not_know_a_pool_created_in_the_same_deployment(prod):
    with pytest.raises(LookupFailed, match="only after Aria's next data collection"):
        prod.world.call("vra:fabric/getCompute:getCompute", {"filter": "name eq 'primary-llm-gpu'"}, "")


def test_a_failed_read_registers_nothing_after_it():
    world = FakeWorld("dev")
    monitor = RecordingMonitor(OfflineMocks(world))
    with pytest.raises(ReadFailed):
        evaluate("dev", raw_config={"pattern": "fixed"}, program=PROGRAMS / "read_own_object.py",
                 project="enginetest", monitor=monitor, mode=Mode.PREVIEW)
    assert not [r for r in monitor.records if r.read]


def test_the_stack_trace_capture_the_offline_run_skips_is_the_sdks_and_is_restored(dev):
    """Skipping it must not outlive an evaluation, and must break loudly if the SDK renames it."""
    import inspect

    from pulumi.runtime import resource as sdk

    from offline.run import _no_stack_trace

    assert sdk._get_stack_trace is not _no_stack_trace
    assert "traceback.extract_stack" in inspect.getsource(sdk._get_stack_trace)
    assert "_get_stack_trace()" in inspect.getsource(sdk.register_resource)
    assert isinstance(_no_stack_trace(), type(sdk._get_stack_trace()))
