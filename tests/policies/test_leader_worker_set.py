"""The pack judges a LeaderWorkerSet as the StatefulSets its controller makes of its leader and worker templates."""

from __future__ import annotations

import copy
import json

import hipaa
import pytest
from hipaa import gateway_only_exposure, pod_security_restricted, stateful_protected, vllm_hardening
from hipaa._rule import Resource

from offline.checks.policy import run_pack
from offline.render import inventory
from tests.conftest import SEVENTY_B
from tools.policy_config import CONFIG_DIR

LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"


@pytest.fixture(scope="module")
def entries(seventy_b):
    return [r for r in inventory(seventy_b)["resources"] if not r["read"]]


@pytest.fixture(scope="module")
def config():
    return json.loads((CONFIG_DIR / "prod.json").read_text())


def _resource(entry) -> Resource:
    return Resource(entry["type"], entry["name"], entry["urn"], copy.deepcopy(entry["inputs"]),
                    bool(entry["options"].get("protect")), entry["provider"])


@pytest.fixture
def leader_worker_set(entries):
    return _resource(next(e for e in entries if e["type"] == LWS and e["name"] == f"{SEVENTY_B}-server"))


def _settings(rule, config):
    entry = config.get(rule.name)
    return rule.settings(entry if isinstance(entry, dict) else None)


def _template(resource, role):
    return resource.props["spec"]["leaderWorkerTemplate"][f"{role}Template"]["spec"]


def test_good_01_the_rendered_set_passes_every_resource_policy(leader_worker_set, config):
    for rule in hipaa.RULES:
        if not rule.stack:
            assert rule.evaluate(leader_worker_set, _settings(rule, config)) == [], rule.name


def test_good_02_the_whole_70b_stack_passes_the_pack(entries, seventy_b, config):
    report = run_pack(inventory(seventy_b), config)
    assert report.violations == []
    assert report.checked["pod-security-restricted"] == len(entries)


def test_bad_01_a_worker_asking_for_ipc_lock_is_refused(leader_worker_set, config):
    """GPUDirect RDMA needs IPC_LOCK, which Pod Security restricted (and baseline) refuse: the platform has no RDMA."""
    container = _template(leader_worker_set, "worker")["containers"][0]
    container["securityContext"]["capabilities"]["add"] = ["IPC_LOCK"]
    messages = pod_security_restricted.RULE.evaluate(leader_worker_set, _settings(pod_security_restricted.RULE, config))
    assert messages == ["spec.leaderWorkerTemplate.workerTemplate (a StatefulSet of the controller): "
                        "containers[0](vllm-worker).securityContext.capabilities.add may only hold NET_BIND_SERVICE"]


def test_bad_02_an_unsafe_sysctl_on_the_leader_is_refused(leader_worker_set, config):
    _template(leader_worker_set, "leader")["securityContext"]["sysctls"].append({"name": "net.core.somaxconn", "value": "4096"})
    messages = pod_security_restricted.RULE.evaluate(leader_worker_set, _settings(pod_security_restricted.RULE, config))
    assert messages == ["spec.leaderWorkerTemplate.leaderTemplate (a StatefulSet of the controller): sysctl "
                        "'net.core.somaxconn' is not in the safe set"]


def test_bad_03_a_worker_reporting_ray_usage_is_refused(leader_worker_set):
    container = _template(leader_worker_set, "worker")["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "RAY_USAGE_STATS_ENABLED"]
    messages = vllm_hardening.RULE.evaluate(leader_worker_set, {})
    assert len(messages) == 1 and "workerTemplate" in messages[0] and "RAY_USAGE_STATS_ENABLED" in messages[0]


def test_bad_04_a_leader_without_its_health_probe_is_refused_but_workers_need_none(leader_worker_set):
    assert "readinessProbe" not in _template(leader_worker_set, "worker")["containers"][0]
    del _template(leader_worker_set, "leader")["containers"][0]["readinessProbe"]
    messages = vllm_hardening.RULE.evaluate(leader_worker_set, {})
    assert messages == ["spec.leaderWorkerTemplate.leaderTemplate (a StatefulSet of the controller): "
                        "containers[0](vllm).readinessProbe must GET /health"]


def test_bad_05_per_pod_weights_must_outlive_the_set(seventy_b_staged_in_pods):
    staged = inventory(seventy_b_staged_in_pods)["resources"]
    standby = _resource(next(e for e in staged if e["type"] == LWS and e["name"] == f"{SEVENTY_B}-server"))
    assert stateful_protected.RULE.evaluate(standby, {}) == []
    standby.props["spec"]["leaderWorkerTemplate"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = "Delete"
    assert len(stateful_protected.RULE.evaluate(standby, {})) == 2, "both templates' StatefulSets drop the volumes"


def test_bad_06_ray_ports_open_to_another_namespace_are_refused(entries, config):
    resources = [_resource(e) for e in entries]
    rule = gateway_only_exposure.RULE
    assert rule.evaluate_stack(resources, _settings(rule, config)) == []
    group = next(r for r in resources if r.name == f"{SEVENTY_B}-group-ingress")
    group.props["spec"]["ingress"][0]["from"].append(
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "clinical-notes"}}})
    found = rule.evaluate_stack(resources, _settings(rule, config))
    assert [urn for urn, _ in found] == [group.urn]
    assert "ports beside the endpoint" in found[0][1]


def test_the_pack_process_judges_the_set_as_the_in_process_run_does(seventy_b, leader_worker_set, config):
    """Over the engine's protocol the props arrive as a proxy with float numbers; the verdicts must not change."""
    from offline.checks.analyzer import run_pack_process

    document = inventory(seventy_b)
    process, _ = run_pack_process(document, config)
    assert process.violations == run_pack(document, config).violations == []
    broken = copy.deepcopy(document)
    entry = next(r for r in broken["resources"] if r["urn"] == leader_worker_set.urn)
    worker = entry["inputs"]["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    worker["securityContext"]["capabilities"]["add"] = ["IPC_LOCK"]
    process, _ = run_pack_process(broken, config)
    assert process.violations == run_pack(broken, config).violations
    assert [(v.policy, v.urn) for v in process.violations] == [("pod-security-restricted", leader_worker_set.urn)]
