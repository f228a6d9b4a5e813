"""The update plan: each routine change produces the steps docs/updates.md documents."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys

import pytest

from offline.plan.update import BaselineError, inventory_at_revision, load_baseline, plan, render
from offline.render import inventory
from offline.run import ROOT, evaluate
from tests.conftest import offline_cli

LLAMA = "llama-2-7b-chat"
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def deployed(evaluations):
    """Each stack's inventory as a finished `pulumi up` left it: the baseline of the next update."""
    return {stack: inventory(evaluation) for stack, evaluation in evaluations.items()}


def _update(deployed, raw_config, stack, edit):
    raw = raw_config(stack)
    edit(raw)
    return plan(deployed[stack], inventory(evaluate(stack, raw)), "test")


def _steps(result):
    return {(s.name, s.op, s.delete_before_replace) for s in result.changed}


def test_a_second_run_against_the_first_ones_output_has_no_changes(rendered, prod):
    baseline, _ = load_baseline(str(rendered["prod"]), "prod", ROOT)
    result = plan(baseline, inventory(evaluate("prod")))
    assert result.changed == [] and not result.errors
    assert result.counts()["same"] == len(prod.graph)
    assert "no changes." in render(result)


def test_model_revision_restages_the_weights_and_rolls_the_servers(deployed, raw_config):
    def edit(raw):
        raw["models"][LLAMA]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    result = _update(deployed, raw_config, "prod", edit)
    assert _steps(result) == {
        (f"{LLAMA}-download", "replace", False),  # the Job's name carries the revision: created before the old goes
        (f"{LLAMA}-server", "update", False),     # Deployment: rolling update to the new model directory
    }
    job = result.step(f"{LLAMA}-download")
    assert "metadata.name" in job.replace_reasons
    assert result.step(f"{LLAMA}-server").diffs == ["spec.template.spec.containers[0].args[0]"]
    assert not result.errors


def test_vllm_image_tag_replaces_the_download_job_and_rolls_the_servers(deployed, raw_config):
    def edit(raw):
        raw["models"][LLAMA]["image"].update(tag="v0.34.0-cu129", digest="sha256:" + "1" * 64)
    result = _update(deployed, raw_config, "prod", edit)
    assert _steps(result) == {
        (f"{LLAMA}-download", "replace", True),
        (f"{LLAMA}-server", "update", False),
    }
    # prod's llama is signed: its Job stages in the init container (the vLLM image) and verifies the signature in
    # its container (the verifier image, unchanged).
    assert result.step(f"{LLAMA}-download").replace_reasons == ("spec.template.spec.initContainers[0].image",)
    # Where each pod stages its own weights (dev), the init container moves to the new image with the server.
    staged = _update(deployed, raw_config, "dev", edit)
    assert staged.step(f"{LLAMA}-server").diffs == ["spec.template.spec.containers[0].image",
                                                    "spec.template.spec.initContainers[0].image"]


def test_chart_version_is_an_upgrade_of_that_release(deployed, prod):
    """Built from a modified copy of the baseline, so it holds wherever the versions are pinned."""
    baseline = copy.deepcopy(deployed["prod"])
    release = next(r for r in baseline["resources"] if r["name"] == "primary-keda" and r["type"] == RELEASE)
    current_version = release["inputs"]["version"]
    release["inputs"]["version"] = "2.0.0"
    result = plan(baseline, deployed["prod"])
    assert _steps(result) == {("primary-keda", "update", False)}
    (change,) = result.step("primary-keda").changes
    assert (change.old, change.new) == ("2.0.0", current_version)


def test_chart_values_are_an_upgrade_too(deployed):
    baseline = copy.deepcopy(deployed["prod"])
    release = next(r for r in baseline["resources"] if r["name"] == "primary-gpu-operator")
    release["inputs"]["values"]["driver"]["version"] = "550.0.0"
    assert _steps(plan(baseline, deployed["prod"])) == {("primary-gpu-operator", "update", False)}


def test_bigger_weights_expand_the_shared_claim_and_replace_per_replica_volumes(deployed, raw_config):
    def edit(raw):
        raw["models"][LLAMA]["weights"]["sizeGib"] = 60
    result = _update(deployed, raw_config, "prod", edit)
    assert _steps(result) == {
        (f"{LLAMA}-weights", "update", False),        # PVC: storage request grows in place
        (f"{LLAMA}-download", "update", False),       # Job: longer activeDeadlineSeconds
    }
    assert result.step(f"{LLAMA}-weights").diffs == ["spec.resources.requests.storage"]
    assert any("volume expansion" in n for n in result.step(f"{LLAMA}-weights").notes)
    assert not result.errors
    dev = _update(deployed, raw_config, "dev", edit)
    assert _steps(dev) == {(f"{LLAMA}-server", "replace", True)}   # StatefulSet: volumeClaimTemplates are immutable
    assert any("resize each PersistentVolumeClaim" in n for n in dev.step(f"{LLAMA}-server").notes)


def test_smaller_weights_are_refused_by_the_api_server(deployed, raw_config):
    def edit(raw):
        raw["models"][LLAMA]["weights"]["sizeGib"] = 30
    result = _update(deployed, raw_config, "prod", edit)
    (error,) = [e for s, e in result.errors if s.name == f"{LLAMA}-weights"]
    assert "spec.resources.requests.storage: Forbidden: field can not be less than previous value" in error


def test_replicas_change_the_autoscaler_and_the_disruption_budget_in_place(deployed, raw_config):
    def edit(raw):
        raw["models"][LLAMA]["replicas"]["min"] = 2
    result = _update(deployed, raw_config, "prod", edit)
    assert _steps(result) == {(f"{LLAMA}-scaler", "update", False), (f"{LLAMA}-pdb", "update", False)}
    assert result.step(f"{LLAMA}-pdb").diffs == ["spec.maxUnavailable", "spec.minAvailable"]


def test_gpu_node_count_updates_the_cluster_in_place(deployed, raw_config):
    def edit(raw):
        raw["gpuPool"]["nodes"] += 1
    result = _update(deployed, raw_config, "prod", edit)
    assert _steps(result) == {("primary-cluster", "update", False)}
    assert result.step("primary-cluster").diffs == ["spec.topology.workers.machineDeployments[0].replicas"]


def test_kubernetes_version_updates_the_cluster_and_the_pod_security_versions(deployed, raw_config):
    def edit(raw):
        raw["tanzu"].update(kubernetesVersion="1.33", tkr="v1.33.1---vmware.1-fips-vkr.1")
    result = _update(deployed, raw_config, "dev", edit)
    steps = _steps(result)
    assert ("primary-cluster", "update", False) in steps
    assert all(op == "update" for _, op, _ in steps)
    namespaces = [s for s in result.changed if s.type == "kubernetes:core/v1:Namespace"]
    # The CRD upgrade Job's kubectl is tagged with the cluster's version: v1.33.0 is another image, whose digest
    # (tanzu.registry.imageDigests) the stack does not name yet, so the release's values change with it.
    assert ("observability-kube-prometheus-stack", "update", False) in steps
    assert result.step("observability-kube-prometheus-stack").diffs == ["values.crds.upgradeJob.image.kubectl.sha"]
    assert len(namespaces) == len(steps) - 2 == 8
    assert result.step("primary-cluster").diffs == ["spec.topology.version"]


def test_renaming_the_cluster_is_refused_because_the_cluster_is_protected(deployed, raw_config):
    def edit(raw):
        raw["tanzu"]["clusterName"] = "llm-prod-b"
    result = _update(deployed, raw_config, "prod", edit)
    cluster = result.step("primary-cluster")
    # A renamed Cluster would be created beside the old one (a new name), were it not protected.
    assert cluster.op == "replace" and not cluster.delete_before_replace
    assert any("unable to replace resource" in e and "marked for protection" in e for e in cluster.errors)
    # The workload provider's identity changes, so everything on it is replaced with it.
    workload = result.step("primary-workload")
    assert workload.op == "replace" and workload.replace_reasons == ("clusterIdentifier",)
    on_workload = [r for r in deployed["prod"]["resources"] if r["provider"] == workload.urn]
    assert {result.step(r["name"], r["type"]).op for r in on_workload} == {"replace"}


def test_deleting_a_protected_resource_is_an_error_and_retained_ones_are_noted(deployed, raw_config):
    def edit(raw):
        del raw["models"]["mistral-7b-instruct"]
        del raw["gateway"]["modelAccess"]["mistral-7b-instruct"]
    result = _update(deployed, raw_config, "prod", edit)
    weights = result.step("mistral-7b-instruct-weights")
    assert weights.op == "delete"
    assert weights.errors and weights.errors[0].startswith('unable to delete resource "urn:pulumi:prod::onprem-llm::')
    # Not retained: the namespace it lives in would take it anyway; the protect makes the removal deliberate.
    assert not any("retained" in n for n in weights.notes)
    ops = [s.op for s in result.steps]
    assert ops.index("delete") > max(i for i, op in enumerate(ops) if op != "delete"), "deletes run last"


def test_a_baseline_with_the_old_urns_compares_by_resource(deployed, raw_config):
    """Inventories written before the engine URNs (only the immediate parent's type) still compare."""
    from tests.test_urns import _legacy

    result = plan(_legacy(deployed["prod"]), deployed["prod"])
    assert result.changed == []


def test_an_unusable_baseline_is_a_clear_error(tmp_path):
    with pytest.raises(BaselineError, match="holds no inventory.json"):
        load_baseline(str(tmp_path), "prod", ROOT)
    with pytest.raises(BaselineError, match="neither a directory, an inventory file nor a git revision"):
        load_baseline("no-such-revision-or-dir", "prod", ROOT)


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
                   cwd=repo, check=True, capture_output=True)


def test_a_git_revision_baseline_runs_the_program_and_stack_file_of_that_revision(tmp_path, deployed):
    """A repository of the working tree, then a commit that changes the stack file: HEAD~1 is the baseline."""
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "deployed")
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("tag: v0.34.0 ", "tag: v0.34.0-cu129 "))
    _git(repo, "commit", "-q", "-am", "bump")
    baseline = inventory_at_revision("HEAD~1", "dev", repo)
    assert json.dumps(baseline, sort_keys=True) == json.dumps(deployed["dev"], sort_keys=True, default=str)
    with pytest.raises(BaselineError, match="has no Pulumi.staging.yaml"):
        inventory_at_revision("HEAD", "staging", repo)


def test_cli_plan_writes_plan_json_and_fails_on_errors(tmp_path, rendered):
    """The command as a process (exit status, plan.json), then a refused plan from its main in this process."""
    def run(*args):
        return subprocess.run([sys.executable, "-m", "offline", "plan", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    same = run("--stack", "prod", "--baseline", str(rendered["prod"]), "--out", str(tmp_path))
    assert same.returncode == 0, same.stderr
    assert "no changes." in same.stdout
    document = json.loads((tmp_path / "plan.json").read_text())
    assert document["steps"] == [] and document["summary"]["same"] > 150
    baseline = json.loads((rendered["prod"] / "inventory.json").read_text())
    claim = next(r for r in baseline["resources"] if r["name"] == f"{LLAMA}-weights")
    claim["inputs"]["spec"]["resources"]["requests"]["storage"] = "80Gi"
    (tmp_path / "shrunk.json").write_text(json.dumps(baseline))
    refused = offline_cli("plan", "--stack", "prod", "--baseline", str(tmp_path / "shrunk.json"))
    assert refused.returncode == 1
    assert "~  kubernetes:core/v1:PersistentVolumeClaim: (update)" in refused.stdout
    assert 'spec.resources.requests.storage: "80Gi" => "40Gi"' in refused.stdout
    assert "error: spec.resources.requests.storage: Forbidden" in refused.stdout


def test_an_update_a_crd_transition_rule_refuses_is_an_error_of_its_step(deployed, prod, chart_tools):
    """GatewayClass.spec.controllerName carries `self == oldSelf`: the API server refuses to change it."""
    from offline.checks import preview

    schemas = preview.crd_schemas(prod.graph, "1.32", *chart_tools)
    baseline = copy.deepcopy(deployed["prod"])
    (old,) = [r for r in baseline["resources"] if r["name"] == "gateway-class"]
    old["inputs"]["spec"]["controllerName"] = "example.com/another-controller"
    result = plan(baseline, deployed["prod"], "test", schemas)
    step = result.step("gateway-class")
    assert step.op == "update" and step.diffs == ["spec.controllerName"]
    assert step.errors == ("spec.controllerName: Invalid value: Value is immutable",)
    # Rules that are not transition rules stay the preview's: an unchanged object passes.
    assert [s for s, _ in result.errors] == [step]
    assert not plan(deployed["prod"], deployed["prod"], "test", schemas).errors
    # Without the CRDs the plan says what it did not check.
    unchecked = plan(baseline, deployed["prod"], "test", not_evaluated=("CRD transition rules: no artifacts",))
    assert not unchecked.errors and "not evaluated: CRD transition rules: no artifacts" in render(unchecked)


def test_a_second_up_of_an_unchanged_stack_takes_no_vcenter_permission(deployed, prod):
    """The operator grant is on the stack's own resource pool: what the provider reads back is only that grant."""
    grant = next(r for r in deployed["prod"]["resources"] if r["name"] == "access-operator-permissions")
    assert grant["inputs"]["entityType"] == "ResourcePool"
    assert [p["userOrGroup"] for p in grant["state"]["permissions"]] == ["HOSPITAL.EXAMPLE\\llm-operators"]
    assert plan(deployed["prod"], inventory(prod)).changed == []


def test_a_grant_on_the_shared_cluster_would_take_every_other_principals_permission(deployed, prod):
    """The earlier program granted on the site's compute cluster: its state holds the administrators' grants too."""
    cluster_id = next(i.args for i in prod.invokes if i.token.endswith("getComputeCluster"))
    shared_id = prod.world.call("vsphere:index/getComputeCluster:getComputeCluster", cluster_id,
                                prod.graph.named("primary-vsphere").urn + "::id")["id"]

    def on_the_cluster(document):
        document = copy.deepcopy(document)
        grant = next(r for r in document["resources"] if r["name"] == "access-operator-permissions")
        grant["inputs"].update(entityType="ClusterComputeResource", entityId=shared_id)
        # What the provider keeps after create: every direct permission of that entity.
        grant["state"] = {**grant["inputs"], "permissions": prod.world.entity_permissions(grant["inputs"])}
        return document

    baseline, current = on_the_cluster(deployed["prod"]), on_the_cluster(inventory(prod))
    step = plan(baseline, current).step("access-operator-permissions")
    assert step.op == "update", "the provider diffs its read-back state, so an unchanged program updates"
    (error,) = step.errors
    assert "removes the permissions of SITE\\vsphere-admins, VSPHERE.LOCAL\\Administrators" in error
    destroy = plan(baseline, {**baseline, "resources": []}).step("access-operator-permissions")
    assert "VSPHERE.LOCAL\\Administrators" in destroy.notes[0], "a destroy removes every permission it holds"


def test_a_renamed_object_is_created_before_the_old_one_is_deleted(deployed):
    """pulumi-kubernetes deletes first only when the name stays; a new name frees it from that."""
    baseline = copy.deepcopy(deployed["prod"])
    job = next(r for r in baseline["resources"] if r["name"] == f"{LLAMA}-download")
    job["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = "harbor-a.hospital.example/old:1"
    same_name = plan(baseline, deployed["prod"]).step(f"{LLAMA}-download")
    assert same_name.op == "replace" and same_name.delete_before_replace
    job["inputs"]["metadata"]["name"] = f"{LLAMA}-download-00000000"
    renamed = plan(baseline, deployed["prod"]).step(f"{LLAMA}-download")
    assert renamed.op == "replace" and not renamed.delete_before_replace


def test_renaming_the_vsphere_namespace_is_an_update_the_supervisor_refuses(deployed, raw_config):
    def edit(raw):
        raw["tanzu"]["supervisorNamespace"] = "llm-platform-prod-2"
    result = _update(deployed, raw_config, "prod", edit)
    step = result.step("primary-vsphere-namespace")
    assert step.op == "update"
    assert any("cannot be renamed" in e for e in step.errors)


def test_the_sites_own_administrators_are_what_a_grant_on_their_cluster_would_take(tmp_path):
    """The site inventory names the grants vCenter holds; the world reads them back as the provider would."""
    from offline.site import load
    from offline.world import FakeWorld

    (tmp_path / "site.yaml").write_text(
        "vcenters:\n  vcenter-a.hospital.example:\n    permissions:\n"
        "      - principal: HOSPITAL\\vi-admins\n      - principal: HOSPITAL\\backup-svc\n        group: false\n")
    world = FakeWorld("prod", inventory=load(tmp_path / "site.yaml"), site="vcenter-a.hospital.example")
    grant = {"entityId": "domain-c1", "entityType": "ClusterComputeResource",
             "permissions": [{"userOrGroup": "HOSPITAL.EXAMPLE\\llm-operators", "isGroup": True}]}
    held = [p["userOrGroup"] for p in world.entity_permissions(grant)]
    assert held == ["HOSPITAL.EXAMPLE\\llm-operators", "HOSPITAL\\vi-admins", "HOSPITAL\\backup-svc"]
