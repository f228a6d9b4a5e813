"""One stack per site: the standby needs nothing of the primary's site, and every DR mode previews.

The standby stack (Pulumi.prod-standby.yaml) reads the primary's `siteMirror` through a
StackReference, which the offline engine plays by evaluating Pulumi.prod.yaml, as the backend would
hand back the primary's last checkpoint; site A being down does not change that read.
"""

from __future__ import annotations

import copy
import json

import pulumi
import pytest

from components.config import SECRET_KEYS, ConfigError, parse_config
from components.config.site_mirror import digest
from offline.checks import preview as preview_checks
from offline.checks.policy import run_pack
from offline.plan import up
from offline.plan.update import plan
from offline.render import inventory
from offline.run import as_stack_reference, evaluate, platform_config, stack_config
from offline.world import FakeWorld, Mode, Unreachable
from tests.conftest import PRIMARY, seventy_b_config, seventy_b_standby_config
from tools.policy_config import policy_config

SITE_A = "vcenter-a.hospital.example"
# Names only site A has: its vCenter, its Supervisor, its registry and its cluster.
SITE_A_NAMES = (SITE_A, "domain-c2010", "harbor-a.hospital.example", "llm-prod", "gpu-cluster-a", "s3-audit.hospital")


def _world(primary, **extra) -> FakeWorld:
    return FakeWorld("prod-standby", stack_outputs={PRIMARY: as_stack_reference(primary)}, **extra)


# -- each stack its own site ----------------------------------------------------------------------


def test_the_standby_touches_nothing_of_the_primary_site(standby, prod):
    providers = [r for r in standby.graph if r.type.startswith("pulumi:providers:")]
    assert {r.type for r in providers} == {"pulumi:providers:vsphere", "pulumi:providers:kubernetes"}
    reference = [r for r in standby.graph if r.type == "pulumi:pulumi:StackReference"]
    assert [r.inputs["name"] for r in reference] == [PRIMARY]
    # Everything the standby registers or asks, but the reference to the primary's outputs, is of site B.
    for record in standby.graph:
        if record.type == "pulumi:pulumi:StackReference":
            continue
        text = json.dumps(record.inputs, default=str)
        assert not [name for name in SITE_A_NAMES if name in text], record.urn
    for invoke in standby.invokes:
        assert SITE_A not in json.dumps(invoke.args) and SITE_A not in invoke.provider
    assert {i.args.get("name") for i in standby.invokes if i.token.endswith("getComputeCluster")} == {"gpu-cluster-b"}
    # And the primary holds nothing of site B's.
    assert not [r for r in prod.graph if "vcenter-b" in json.dumps(r.inputs, default=str)]


def test_the_standby_mirrors_the_primary_models_at_standby_size_from_its_own_registry(standby, prod):
    for key in ("llama-2-7b-chat", "mistral-7b-instruct"):
        scaler = standby.graph.named(f"{key}-scaler").inputs["spec"]
        assert (scaler["minReplicaCount"], scaler["maxReplicaCount"]) == (1, 1)
    served = {m["servedModelName"] for m in standby.outputs["models"].values()}
    assert served == {m["servedModelName"] for m in prod.outputs["models"].values()}
    mirrored = {k: v for k, v in standby.outputs["mirroredPrimary"].items() if k != "source"}
    assert mirrored == prod.outputs["siteMirror"] and digest(mirrored) == mirrored["digest"], "what the standby used"
    assert standby.outputs["mirroredPrimary"]["source"].startswith(f"stack {PRIMARY}")
    assert (standby.outputs["siteRole"], standby.outputs["siteActive"]) == ("standby", False)
    assert standby.outputs["gpuCount"] == 2, "a warm standby keeps dr.standbyGpuNodes until failover"


def test_each_site_exports_its_gateway_address_once_programmed(prod, standby, previews):
    for evaluation in (prod, standby):
        gateway = evaluation.graph.named("gateway-gateway")
        assert gateway.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Programmed"
        assert evaluation.outputs["gatewayAddress"].startswith("192.0.2.")
    assert prod.outputs["gatewayAddress"] != standby.outputs["gatewayAddress"]
    assert prod.outputs["gatewayUrl"] == standby.outputs["gatewayUrl"], "one host name, two addresses"
    # A new stack's preview cannot know the address yet.
    assert type(previews["prod"].outputs["gatewayAddress"]).__name__ == "Unknown"


# -- a site that is down ------------------------------------------------------------------------


def test_with_site_a_down_the_standby_previews_comes_up_and_fails_over(prod, standby, chart_checks):
    raw = stack_config("prod-standby")
    down = frozenset({SITE_A})
    preview = evaluate("prod-standby", raw, world=_world(prod, unreachable=down), mode=Mode.PREVIEW)
    assert preview.graph.named("standby-cluster") is not None
    result = up.simulate(standby.graph, chart_checks["prod-standby"].releases, platform_config("prod-standby"))
    assert result.failures == []

    active = copy.deepcopy(raw)
    active["dr"]["active"] = True
    failover = evaluate("prod-standby", active, world=_world(prod, unreachable=down))
    steps = plan(inventory(standby), inventory(failover))
    assert steps.errors == []
    changed = {s.name: s for s in steps.changed}
    for key in ("llama-2-7b-chat", "mistral-7b-instruct"):
        scaler = changed[f"{key}-scaler"]
        assert scaler.op == "update" and "spec.maxReplicaCount" in scaler.diffs
        assert failover.graph.named(f"{key}-scaler").inputs["spec"]["maxReplicaCount"] == 2, "the primary's bounds"
    assert failover.outputs["siteActive"] is True and failover.outputs["gpuCount"] == 4
    assert {s.op for s in steps.changed} <= {"update", "create"}, "failover replaces and deletes nothing"
    failover_up = up.simulate(failover.graph, chart_checks["prod-standby"].releases,
                              platform_config("prod-standby", active))
    assert failover_up.failures == []


def test_the_primary_fails_naming_its_unreachable_vcenter():
    with pytest.raises(Unreachable, match=r"vcenter-a\.hospital\.example.*marked unreachable"):
        evaluate("prod", world=FakeWorld("prod", unreachable=frozenset({SITE_A})), mode=Mode.PREVIEW)


def test_an_unreachable_supervisor_fails_its_reads_as_the_kubernetes_provider_does():
    world = FakeWorld("prod", unreachable=frozenset({f"supervisor.{SITE_A}"}))
    with pytest.raises(Unreachable, match="configured Kubernetes cluster is unreachable"):
        evaluate("prod", world=world)


def test_the_primarys_outputs_from_a_file_are_used_and_the_preview_says_so(prod, tmp_path, monkeypatch):
    # Pulumi runs the program in the project's directory; the file is named relative to it.
    (tmp_path / "primary-outputs.json").write_text(json.dumps(
        {**prod.outputs["siteMirror"], "source": f"stack {PRIMARY}"}))
    monkeypatch.chdir(tmp_path)
    raw = stack_config("prod-standby")
    raw["site"] = {**raw["site"], "primaryOutputsFile": "primary-outputs.json"}
    evaluation = evaluate("prod-standby", raw, world=FakeWorld("prod-standby"))
    assert not [r for r in evaluation.graph if r.type == "pulumi:pulumi:StackReference"], "no reference is read"
    assert any("primaryOutputsFile" in w and "last known" in w for w in evaluation.warnings)
    assert evaluation.outputs["mirroredPrimary"]["digest"] == prod.outputs["siteMirror"]["digest"]
    assert evaluation.outputs["mirroredPrimary"]["source"].startswith("file primary-outputs.json")


def test_a_primary_that_exports_its_mirror_as_a_secret_is_refused_not_re_exported_in_the_clear(prod):
    reference = as_stack_reference(prod)
    reference["secretOutputNames"] = sorted({*reference["secretOutputNames"], "siteMirror"})
    world = FakeWorld("prod-standby", stack_outputs={PRIMARY: reference})
    with pytest.raises(pulumi.RunError, match=r"site\.primaryStack: .* exports siteMirror as a secret"):
        evaluate("prod-standby", world=world, mode=Mode.PREVIEW)


# -- upgrades and destroys, site by site -----------------------------------------------------------


def test_a_kubernetes_upgrade_plans_on_one_stack_and_leaves_the_other_site_alone(prod, standby):
    raw = stack_config("prod")
    raw["tanzu"] = {**raw["tanzu"], "tkr": "v1.33.1---vmware.1-fips-vkr.1", "kubernetesVersion": "1.33"}
    upgraded = evaluate("prod", raw)
    steps = plan(inventory(prod), inventory(upgraded))
    cluster = next(s for s in steps.changed if s.name == "primary-cluster")
    assert cluster.op == "update"
    assert all(s.urn.startswith("urn:pulumi:prod::") for s in steps.changed)
    # The standby, run against the upgraded primary's outputs, plans nothing: it upgrades in its own run.
    after = evaluate("prod-standby", world=_world(upgraded))
    assert plan(inventory(standby), inventory(after)).changed == []


def test_destroying_the_standby_keeps_what_recovery_needs_and_refuses_at_protected_state(standby):
    baseline = inventory(standby)
    destroy = plan(baseline, {**baseline, "resources": []})
    assert {s.op for s in destroy.steps} == {"delete"}
    refused = {s.name for s, _ in destroy.errors}
    assert {"standby-cluster", "dr-velero-standby-location", "llama-2-7b-chat-weights"} <= refused
    assert all("marked for protection" in error for _, error in destroy.errors)
    # The repository key is config (the site's vault), not state the destroy could take.
    assert not [r for r in standby.graph if r.type == "random:index/randomPassword:RandomPassword"
                and "repository" in r.name]


def test_a_retain_inside_a_namespace_the_same_destroy_deletes_is_an_error(standby):
    baseline = copy.deepcopy(inventory(standby))
    location = next(r for r in baseline["resources"] if r["name"] == "dr-velero-standby-location")
    location["options"] = {**location["options"], "protect": False, "retainOnDelete": True}
    destroy = plan(baseline, {**baseline, "resources": []})
    errors = [error for step, error in destroy.errors if step.name == "dr-velero-standby-location"]
    assert errors and "its Namespace 'velero' is deleted by the same run" in errors[0]


def test_a_retain_on_the_supervisor_outlives_the_workload_cluster_the_destroy_deletes(standby):
    """The Supervisor namespace's objects (the cluster CR among them) are not inside the workload cluster."""
    baseline = copy.deepcopy(inventory(standby))
    on_supervisor = [r for r in baseline["resources"] if r["type"].startswith("kubernetes:")
                     and "supervisor" in (r.get("provider") or "")]
    assert any(r["name"] == "standby-cluster" for r in on_supervisor)
    in_cluster = next(r for r in baseline["resources"] if r["name"] == "dr-velero-standby-location")
    for record in [*on_supervisor, in_cluster]:
        record["options"] = {**record["options"], "protect": False, "retainOnDelete": True}
    destroy = plan(baseline, {**baseline, "resources": []})
    errors = {step.name for step, _ in destroy.errors}
    assert not errors & {r["name"] for r in on_supervisor}, "kept: the Supervisor outlives the workload cluster"
    assert all(any("retained" in n for n in destroy.step(r["name"]).notes) for r in on_supervisor)
    assert "dr-velero-standby-location" in errors, "a retain inside the deleted cluster still cannot keep anything"


# -- every recovery pattern and install switch previews ------------------------------------------


def _pair(mode: str, primary_raw: dict | None = None, standby_raw: dict | None = None,
          active: bool = False) -> tuple[dict, dict]:
    primary = copy.deepcopy(primary_raw or stack_config("prod"))
    standby = copy.deepcopy(standby_raw or stack_config("prod-standby"))
    for raw in (primary, standby):
        raw["dr"] = {**raw["dr"], "mode": mode, **({"rtoMinutes": 120} if mode != "warm-standby" else {})}
    if mode != "warm-standby":
        standby["dr"].pop("standbyGpuNodes", None)
    if active:
        standby["dr"]["active"] = True
        if mode != "warm-standby":
            standby["dr"]["restoreFromSchedule"] = "platform-frequent"
    return primary, standby


def _non_production(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    raw["compliance"]["tier"] = "non-production"
    raw["observability"] = {"enabled": False}
    return raw


def _without_aria(raw: dict) -> dict:
    return {**copy.deepcopy(raw), "aria": {"enabled": False}}


DEV_PRIMARY = "organization/onprem-llm/dev"


def _minimal_pair() -> tuple[dict, dict]:
    """The smallest stacks that do DR: dev with backups, and a standby written with no optional key."""
    primary = copy.deepcopy(stack_config("dev"))
    primary["dr"] = {"enabled": True, "backupStorage": {"s3Url": "https://s3-b.hospital.example",
                                                        "bucket": "llm-lab-backups"}}
    primary["compliance"]["baselineNamespaces"] = {"velero": "data mover pods run as root"}
    dev = copy.deepcopy(stack_config("dev"))
    standby = {
        "site": {"role": "standby", "primaryStack": DEV_PRIMARY},
        "vsphere": {"server": "vcenter-b.hospital.example", "user": "svc-llm-platform-dr@vsphere.local",
                    "datacenter": "dc-b", "computeCluster": "gpu-cluster-b", "datastore": "vsan-b",
                    "workloadNetwork": "llm-workload-b", "storagePolicy": "llm-encrypted-b"},
        "tanzu": {"supervisorId": "domain-c3012", "supervisorNamespace": "llm-lab-dr", "clusterName": "llm-lab-dr",
                  "tkr": dev["tanzu"]["tkr"], "kubernetesVersion": dev["tanzu"]["kubernetesVersion"],
                  "controlPlane": {"replicas": 1},
                  "registry": {"server": "harbor-b.hospital.example", "username": "robot$llm-lab-dr"}},
        "gpuPool": {"gpuModel": "A100-80GB", "vgpuProfile": "grid_a100-80c", "nodes": 1},
        "addons": {"gpuOperator": {"driverRepository": "harbor-b.hospital.example/nvaie", "driverVersion": "570.158.01"}},
        "dr": {"enabled": True, "backupStorage": dict(primary["dr"]["backupStorage"])},
        "access": dev["access"],
        "compliance": {"tier": "non-production", "allowedRegistries": ["harbor-b.hospital.example"],
                       "baselineNamespaces": {"velero": "data mover pods run as root"}},
    }
    return primary, standby


VARIANTS = {
    "minimal config": _minimal_pair,
    "backup-restore": lambda: _pair("backup-restore"),
    "backup-restore, failed over": lambda: _pair("backup-restore", active=True),
    "pilot-light": lambda: _pair("pilot-light"),
    "pilot-light, failed over": lambda: _pair("pilot-light", active=True),
    "warm-standby, failed over": lambda: _pair("warm-standby", active=True),
    "observability off": lambda: _pair("warm-standby", _non_production(stack_config("prod")),
                                       _non_production(stack_config("prod-standby"))),
    "aria off": lambda: _pair("warm-standby", _without_aria(stack_config("prod"))),
    "a model across nodes": lambda: _pair("warm-standby", seventy_b_config(), seventy_b_standby_config()),
}


def _passes(stack: str, raw: dict, world: FakeWorld, chart_tools) -> tuple[object, list[str]]:
    """Everything `python -m offline preview` judges: config, program, charts, pack, the first `up`."""
    evaluation = evaluate(stack, raw, world=world)
    mirror = next((r["outputs"]["siteMirror"] for r in world.stack_outputs.values()), None)
    cfg = parse_config(raw, [s.key for s in SECRET_KEYS], primary=mirror, primary_source="test")
    checks = preview_checks.run(evaluation.graph, cfg.tanzu.kubernetes_version, list(cfg.compliance.allowed_registries),
                                *chart_tools)
    report = run_pack(inventory(evaluation), policy_config(cfg))
    problems = [f"check: {p}" for p in checks.problems] + [f"policy {v.policy}: {v.message}" for v in report.mandatory]
    problems += [f"up: {f}" for f in up.simulate(evaluation.graph, checks.releases, cfg).failures]
    return evaluation, problems


_PRIMARIES: dict[str, tuple[object, list[str]]] = {}
"""The primaries judged in this process, by stack and config: a recovery pattern and its failed-over variant
share one primary, which is judged once."""


def _primary_passes(name: str, raw: dict, chart_tools) -> tuple[object, list[str]]:
    key = json.dumps([name, raw], sort_keys=True)
    if key not in _PRIMARIES:
        _PRIMARIES[key] = _passes(name, raw, FakeWorld(name), chart_tools)
    return _PRIMARIES[key]


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_recovery_pattern_and_install_switch_previews_on_both_sites(variant, chart_tools):
    primary_raw, standby_raw = VARIANTS[variant]()
    name = "dev" if standby_raw["site"]["primaryStack"] == DEV_PRIMARY else "prod"
    primary, problems = _primary_passes(name, primary_raw, chart_tools)
    assert problems == [], f"primary: {problems}"
    world = FakeWorld("prod-standby", stack_outputs={standby_raw["site"]["primaryStack"]: as_stack_reference(primary)})
    standby, problems = _passes("prod-standby", standby_raw, world, chart_tools)
    assert problems == [], f"standby: {problems}"
    mode, active = standby_raw["dr"].get("mode", "warm-standby"), standby_raw["dr"].get("active", False)
    clusters = [r for r in standby.graph if r.type == "onprem:platform:TanzuCluster"]
    servers = [r for r in standby.graph if r.type == "onprem:platform:VllmService"]
    assert len(clusters) == (0 if mode == "backup-restore" and not active else 1)
    assert bool(servers) == (mode == "warm-standby" or active)
    restores = [r for r in standby.graph if r.type == "kubernetes:velero.io/v1:Restore"]
    assert len(restores) == (1 if active and mode != "warm-standby" else 0)


def test_a_backup_restore_standby_asks_only_for_what_it_uses():
    _, standby_raw = _pair("backup-restore")
    primary = evaluate("prod", _pair("backup-restore")[0])
    cfg = parse_config(standby_raw, [], primary=primary.outputs["siteMirror"], primary_source="test")
    assert [s.key for s in SECRET_KEYS if s.required_when(cfg)] == []
    _, active_raw = _pair("backup-restore", active=True)
    with pytest.raises(ConfigError) as refused:
        parse_config(active_raw, [], primary=primary.outputs["siteMirror"], primary_source="test")
    assert "vspherePassword" in str(refused.value) and "backupRepositoryPassword" in str(refused.value)
