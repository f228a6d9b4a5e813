"""A model larger than a node: one replica across several nodes as a LeaderWorkerSet group.

The stack is Pulumi.prod.yaml with Llama-2-70B in bf16 on one-A100-80GB nodes and its layout left to
`auto` (tests/conftest.py `seventy_b_config`); the sample stacks stay single-node.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from hipaa import RULES

from components import versions
from components.builders import lws, serving_tls
from components.config import SECRET_KEYS, parse_config
from components.config.site_mirror import mirror_of
from components.planning import capacity
from offline.checks import crds, pod_security
from offline.render import manifest
from tests import promtool
from tests.conftest import SEVENTY_B, offline_cli, seventy_b_config, seventy_b_standby_config, write_stack_file

LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


@pytest.fixture(scope="module")
def cfg():
    return parse_config(seventy_b_config(), [s.key for s in SECRET_KEYS])


@pytest.fixture(scope="module")
def layout(cfg):
    return capacity.layout_of(cfg, cfg.models[SEVENTY_B])


def _set(evaluation, name: str = SEVENTY_B):
    return evaluation.graph.named(f"{name}-server", LWS)


def _template(record, role: str) -> dict:
    return record.inputs["spec"]["leaderWorkerTemplate"][f"{role}Template"]


def _container(record, role: str) -> dict:
    return _template(record, role)["spec"]["containers"][0]


def _flags(args: list[str]) -> dict[str, str]:
    return {a: b for a, b in zip(args, args[1:], strict=False) if a.startswith("--")}


# -- config and layout ---------------------------------------------------------------------------


def test_auto_spreads_the_70b_over_one_gpu_nodes_as_a_pipeline(cfg, layout):
    model = cfg.models[SEVENTY_B]
    assert layout.nodes >= 2 and layout.gpus_per_node == 1
    assert (layout.tensor_parallel, layout.pipeline_parallel) == (1, layout.nodes)
    assert model.layout_requested == {"tensorParallelSize": "auto", "nodesPerReplica": "auto"}
    assert model.layout_note.startswith(f"auto chose {layout.describe()}, the fewest GPUs that carry the busiest hour")
    assert "1x1 does not hold the model" in model.layout_note
    # The single-node model keeps its fixed layout.
    assert capacity.layout_of(cfg, cfg.models["mistral-7b-instruct"]).nodes == 1


def test_auto_weighs_every_layout_by_the_gpus_the_load_needs():
    raw = seventy_b_config()
    # vLLM runs as many 300+150-token requests as the KV cache holds, not the worst case of maxModelLen each, so
    # two nodes carry the load with one replica; four times the load takes two replicas of two nodes (4 GPUs),
    # fewer GPUs than two of three nodes.
    chosen = parse_config(raw, [s.key for s in SECRET_KEYS]).models[SEVENTY_B]
    assert (chosen.tensor_parallel_size, chosen.nodes_per_replica) == (1, 2)
    assert "1 replica of 2 GPUs" in chosen.layout_note
    raw["cost"]["requestsPerMonth"] = 4_000_000
    heavy = parse_config(raw, [s.key for s in SECRET_KEYS]).models[SEVENTY_B]
    assert heavy.nodes_per_replica == 2
    assert "2 replicas of 2 GPUs; 3x1 needs 2 replicas (6 GPUs)" in heavy.layout_note


def test_tensor_parallel_auto_stays_within_one_node():
    raw = seventy_b_config()
    raw["gpuPool"].update(gpusPerNode=4, nodes=4, vgpuProfile="grid_a100-80c")
    chosen = parse_config(raw, [s.key for s in SECRET_KEYS]).models[SEVENTY_B]
    assert chosen.nodes_per_replica == 1 and chosen.tensor_parallel_size in (2, 4)


def _issues(raw) -> list:
    return _standby_issues(raw, None)


def _standby_issues(raw, mirror) -> list:
    from components.config import ConfigError

    try:
        parse_config(raw, [s.key for s in SECRET_KEYS], primary=mirror)
    except ConfigError as error:
        return list(error.issues)
    return []


def test_tensor_parallelism_across_nodes_is_refused_unless_the_fabric_carries_it():
    raw = seventy_b_config()
    raw["models"][SEVENTY_B].update(tensorParallelSize=2, nodesPerReplica=2)
    issue = next(i for i in _issues(raw) if i.path == f"models.{SEVENTY_B}.tensorParallelSize")
    assert issue.value == 2 and "spans 2 nodes and all-reduces twice per layer over the inter-node fabric" in issue.reason
    assert "at gpuPool.interNodeGbps 100" in issue.reason and "more than the 20% the fabric can carry" in issue.reason
    assert "tensorParallelSize 1, nodesPerReplica 2: 2 nodes x 1 GPU (pipeline 2, tensor 1)" in issue.reason
    # A GPU so slow that each step dwarfs the all-reduces: the same fabric carries it.
    raw["catalog"] = {"gpus": {"slow-80": {"memoryGib": 79.2, "bandwidthTbps": 0.1, "bf16Tflops": 50}}}
    raw["gpuPool"].update(gpuModel="slow-80", mode="passthrough", existingVmClass="slow-80-passthrough")
    raw["gpuPool"].pop("vgpuProfile")
    raw["cost"]["itlTargetSeconds"] = 2
    # Each step of a GPU that slow dwarfs the all-reduces: the fabric is no longer the limit.
    assert f"models.{SEVENTY_B}.tensorParallelSize" not in [i.path for i in _issues(raw)]


def test_a_replica_needs_as_many_nodes_as_its_pods_fill():
    raw = seventy_b_config()
    raw["models"] = {SEVENTY_B: raw["models"][SEVENTY_B]}
    raw["gateway"]["modelAccess"] = {SEVENTY_B: raw["gateway"]["modelAccess"][SEVENTY_B]}
    raw["models"][SEVENTY_B].update(tensorParallelSize=2, nodesPerReplica=3, replicas={"min": 1, "max": 1})
    raw["gpuPool"].update(gpusPerNode=3, nodes=2)
    # Six GPUs in the pool, but a pod of two GPUs per node: three nodes.
    issue = next(i for i in _issues(raw) if i.path == f"models.{SEVENTY_B}.nodesPerReplica")
    assert "3 pods of 2 GPU(s), which need 3 GPU nodes, but the pool has 2" in issue.reason
    raw["gpuPool"]["nodes"] = 3
    # The standby keeps a group of that model on the nodes it keeps until failover.
    mirror = mirror_of(parse_config(raw, [s.key for s in SECRET_KEYS]))
    standby = seventy_b_standby_config()
    standby["gpuPool"].update(gpusPerNode=3, nodes=3)
    standby["dr"]["standbyGpuNodes"] = 2
    issue = next(i for i in _standby_issues(standby, mirror) if i.path == "dr.standbyGpuNodes")
    assert "a standby replica of a model across nodes needs 3 GPU nodes" in issue.reason
    assert "set dr.standbyGpuNodes to at least 3" in issue.reason


# -- the workload ---------------------------------------------------------------------------------


def test_the_70b_is_a_leader_worker_set_of_a_group_per_replica(seventy_b, layout):
    record = _set(seventy_b)
    spec = record.inputs["spec"]
    assert spec["leaderWorkerTemplate"]["size"] == layout.nodes >= 2
    assert spec["leaderWorkerTemplate"]["restartPolicy"] == "RecreateGroupAfterStart"
    assert "replicas" not in spec, "KEDA owns the group count through the scale subresource"
    assert spec["rolloutStrategy"]["rollingUpdateConfiguration"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert record.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Available"
    for kind in ("Deployment", "StatefulSet"):
        assert not [r for r in seventy_b.graph.of_type(f"kubernetes:apps/v1:{kind}") if SEVENTY_B in r.name]


def test_leader_runs_vllm_serve_with_the_parallel_flags_after_the_ray_head(seventy_b, layout):
    leader = _container(_set(seventy_b), "leader")
    flags = _flags(leader["args"])
    assert flags["--tensor-parallel-size"] == str(layout.tensor_parallel)
    assert flags["--pipeline-parallel-size"] == str(layout.pipeline_parallel)
    assert flags["--distributed-executor-backend"] == "ray"
    shell, dash_c, script, zero = leader["command"]
    assert (shell, dash_c, zero) == ("/bin/bash", "-c", "vllm-leader")
    lines = script.splitlines()
    assert lines[1].startswith(f"ray start --head --port={lws.RAY_HEAD_PORT} ")
    assert any('-ge "$LWS_GROUP_SIZE"' in line for line in lines), "the leader waits for the whole group"
    assert lines[-1] == 'exec vllm serve "$@"'


def test_workers_join_the_leaders_ray_cluster_and_block(seventy_b):
    worker = _container(_set(seventy_b), "worker")
    script = worker["command"][2]
    assert script.startswith(f'until ray start --address="$LWS_LEADER_ADDRESS:{lws.RAY_HEAD_PORT}" ')
    assert "--block; do" in script and "--head" not in script
    assert "args" not in worker and "ports" not in worker


def test_every_pod_holds_its_nodes_gpus_with_shared_memory_and_nccl_settings(seventy_b, layout, cfg):
    record = _set(seventy_b)
    model = cfg.models[SEVENTY_B]
    for role in ("leader", "worker"):
        pod = _template(record, role)["spec"]
        container = pod["containers"][0]
        limits = container["resources"]["limits"]
        assert limits == container["resources"]["requests"]
        assert limits["nvidia.com/gpu"] == str(layout.gpus_per_node)
        shm = next(v for v in pod["volumes"] if v["name"] == "shm")["emptyDir"]
        assert shm["medium"] == "Memory"
        assert limits["memory"] == f"{model.resources.memory_gib + int(shm['sizeLimit'].removesuffix('Gi'))}Gi"
        env = {e["name"]: e for e in container["env"]}
        assert env["NCCL_SOCKET_IFNAME"]["value"] == env["GLOO_SOCKET_IFNAME"]["value"] == "eth0"
        assert env["NCCL_IB_DISABLE"]["value"] == "1" and env["RAY_USAGE_STATS_ENABLED"]["value"] == "0"
        assert env["VLLM_HOST_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        assert {"name": "net.ipv4.ip_local_port_range", "value": "20000 20999"} in pod["securityContext"]["sysctls"]


def test_probes_sit_on_the_leader_only(seventy_b):
    record = _set(seventy_b)
    leader, worker = _container(record, "leader"), _container(record, "worker")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        # prod serves HTTPS (gateway.upstreamTls): the leader's probes follow its scheme.
        assert leader[probe]["httpGet"] == {"path": "/health", "port": "http", "scheme": "HTTPS"}
        assert probe not in worker


def test_only_the_leader_serves_https_and_holds_the_serving_key(seventy_b):
    record = _set(seventy_b)
    leader, worker = _container(record, "leader"), _container(record, "worker")
    flags = _flags(leader["args"])
    assert flags["--ssl-certfile"] == serving_tls.CERTIFICATE_FILE and flags["--ssl-keyfile"] == serving_tls.KEY_FILE
    volumes = {role: {v["name"]: v for v in _template(record, role)["spec"]["volumes"]} for role in ("leader", "worker")}
    assert volumes["leader"][serving_tls.VOLUME]["secret"]["secretName"] == serving_tls.secret_name(SEVENTY_B)
    assert serving_tls.VOLUME not in volumes["worker"]
    assert serving_tls.VOLUME not in {m["name"] for m in worker["volumeMounts"]}


def test_the_service_selects_leaders_only_and_the_gateway_routes_to_it(seventy_b):
    service = seventy_b.graph.named(f"{SEVENTY_B}-api", "kubernetes:core/v1:Service")
    assert service.inputs["spec"]["selector"][lws.ROLE_LABEL] == lws.LEADER
    record = _set(seventy_b)
    assert _template(record, "leader")["metadata"]["labels"][lws.ROLE_LABEL] == lws.LEADER
    assert _template(record, "worker")["metadata"]["labels"][lws.ROLE_LABEL] == lws.WORKER
    backend = seventy_b.graph.named(f"gateway-{SEVENTY_B}-backend").inputs["spec"]
    assert backend["endpoints"] == [{"fqdn": {"hostname": f"{SEVENTY_B}-api.llm-serving.svc.cluster.local",
                                              "port": 8000}}], "the gateway routes to the model's <key>-api Service"


def test_autoscaling_scales_whole_groups_through_the_scale_subresource(seventy_b):
    scaler = seventy_b.graph.named(f"{SEVENTY_B}-scaler")
    assert scaler.inputs["spec"]["scaleTargetRef"] == {"apiVersion": lws.API_VERSION, "kind": "LeaderWorkerSet",
                                                       "name": SEVENTY_B}
    single = seventy_b.graph.named("mistral-7b-instruct-scaler")
    assert single.inputs["spec"]["scaleTargetRef"]["kind"] == "Deployment"


def test_the_disruption_budget_counts_groups_and_never_holds_a_drain(seventy_b):
    budget = seventy_b.graph.named(f"{SEVENTY_B}-pdb").inputs["spec"]
    assert budget["maxUnavailable"] == 1 and budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    labels = [_template(_set(seventy_b), role)["metadata"]["labels"] for role in ("leader", "worker")]
    assert all(all(lab.get(k) == v for k, v in budget["selector"]["matchLabels"].items()) for lab in labels), \
        "one budget over every pod of every group"


def test_network_policies_open_only_the_group_ports_between_the_models_own_pods(seventy_b):
    selector = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": SEVENTY_B}
    ingress = seventy_b.graph.named(f"{SEVENTY_B}-group-ingress", POLICY).inputs["spec"]
    egress = seventy_b.graph.named(f"{SEVENTY_B}-group-egress", POLICY).inputs["spec"]
    expected = [{"protocol": "TCP", "port": first, "endPort": last} for first, last in lws.GROUP_PORT_RANGES]
    assert ingress["ingress"] == [{"from": [{"podSelector": {"matchLabels": selector}}], "ports": expected}]
    assert egress["egress"] == [{"to": [{"podSelector": {"matchLabels": selector}}], "ports": expected}]
    assert not any(p["port"] <= 8000 <= p["endPort"] for p in expected), "the API port stays the gateway's"


def test_every_port_the_group_opens_lies_in_the_allowed_ranges(cfg, layout):
    model = cfg.models[SEVENTY_B]
    ports = [lws.RAY_HEAD_PORT] + [int(f.split("=")[1]) for f in lws.ray_start_flags(model, layout)
                                   if f.split("=")[0].endswith("-port") and "worker" not in f]
    ports += list(lws.RAY_WORKER_PORTS) + list(lws.EPHEMERAL_PORTS)
    for port in ports:
        assert any(first <= port <= last for first, last in lws.GROUP_PORT_RANGES), port


def test_weights_are_staged_once_and_mounted_read_only_by_every_pod(seventy_b):
    record = _set(seventy_b)
    job = next(r for r in seventy_b.graph.of_type("kubernetes:batch/v1:Job") if r.name == f"{SEVENTY_B}-download")
    assert job.urn in record.options["dependencies"], "no pod starts before the weights are staged"
    for role in ("leader", "worker"):
        pod = _template(record, role)["spec"]
        claim = next(v for v in pod["volumes"] if v["name"] == "weights")["persistentVolumeClaim"]
        assert claim == {"claimName": f"{SEVENTY_B}-weights", "readOnly": True}
        assert "initContainers" not in pod


def test_the_controller_is_a_pinned_release_from_the_mirror_and_the_set_waits_for_it(seventy_b):
    release = seventy_b.graph.named("primary-lws", RELEASE)
    assert release.inputs["chart"] == "oci://harbor-a.hospital.example/charts/lws@sha256:" + "2" * 64
    assert release.inputs["version"] == versions.LWS.version == "v0.10.0"
    assert release.inputs["namespace"] == "lws-system"
    assert release.inputs["values"]["image"]["manager"]["repository"] == "harbor-a.hospital.example/lws/lws"
    assert release.urn in _set(seventy_b).options["dependencies"], "the custom resource never races its CRD"


def test_sample_stacks_install_no_controller(evaluations):
    for evaluation in evaluations.values():
        assert not evaluation.graph.of_type(LWS)
        assert not [r for r in evaluation.graph.of_type(RELEASE) if r.name.endswith("-lws")]


def test_the_dr_standby_runs_the_group_with_its_own_weights_and_controller(seventy_b_standby):
    standby = seventy_b_standby.graph.named(f"{SEVENTY_B}-server", LWS)
    template = standby.inputs["spec"]["leaderWorkerTemplate"]
    assert template["size"] >= 2, "the standby's own node shape still needs a group across nodes"
    # Its weights: one shared claim of the standby's own ReadWriteMany class, filled by a download Job.
    claim = seventy_b_standby.graph.named(f"{SEVENTY_B}-weights").inputs["spec"]
    assert claim["storageClassName"] == "vsan-file-services-b" and claim["accessModes"] == ["ReadWriteMany"]
    assert "volumeClaimTemplates" not in template
    release = seventy_b_standby.graph.named("standby-lws", RELEASE)
    assert release.inputs["chart"] == "oci://harbor-b.hospital.example/charts/lws@sha256:" + "2" * 64
    assert release.urn in standby.options["dependencies"]
    scaler = seventy_b_standby.graph.named(f"{SEVENTY_B}-scaler").inputs["spec"]
    assert scaler["minReplicaCount"] == scaler["maxReplicaCount"] == 1


# -- monitoring -----------------------------------------------------------------------------------


def test_each_leaders_series_carry_its_group(seventy_b):
    monitor = seventy_b.graph.named(f"{SEVENTY_B}-monitor")
    relabel = monitor.inputs["spec"]["endpoints"][0]["relabelings"]
    group = {"sourceLabels": ["__meta_kubernetes_pod_label_leaderworkerset_sigs_k8s_io_group_index"],
             "targetLabel": "group", "action": "replace"}
    assert group in relabel
    single = seventy_b.graph.named("mistral-7b-instruct-monitor")
    assert group not in single.inputs["spec"]["endpoints"][0]["relabelings"]


def _groups(evaluation):
    return evaluation.graph.named("observability-rules", "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
                                  ).inputs["spec"]["groups"]


def _without_annotations(groups):
    groups = copy.deepcopy(groups)
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return groups


GROUP_UNIT_TESTS = [
    {   # Group 0's leader is down, group 1's is up; a single-node replica is up.
        "interval": "1m",
        "input_series": [
            {"series": 'up{job="vllm",group="0",pod="llama-2-70b-chat-0",service="llama-2-70b-chat-api"}',
             "values": "0x30"},
            {"series": 'up{job="vllm",group="1",pod="llama-2-70b-chat-1",service="llama-2-70b-chat-api"}',
             "values": "1x30"},
            {"series": 'up{job="vllm",pod="m-0"}', "values": "1x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "VllmGroupDown", "exp_alerts": [{"exp_labels": {
                "job": "vllm", "group": "0", "pod": "llama-2-70b-chat-0", "service": "llama-2-70b-chat-api",
                "severity": "critical"}}]},
            {"eval_time": "10m", "alertname": "VllmTargetDown", "exp_alerts": []},
        ],
    },
    {   # Group 0 decodes at 0.5-1 s per token, group 1 under 0.1 s.
        "interval": "1m",
        "input_series": [
            *({"series": f'vllm:inter_token_latency_seconds_bucket{{model_name="llama-2-70b-chat",group="0",le="{le}"}}',
               "values": f"0+{n}x40"} for le, n in (("0.1", 0), ("0.5", 0), ("1", 10), ("+Inf", 10))),
            *({"series": f'vllm:inter_token_latency_seconds_bucket{{model_name="llama-2-70b-chat",group="1",le="{le}"}}',
               "values": f"0+{n}x40"} for le, n in (("0.1", 10), ("0.5", 10), ("1", 10), ("+Inf", 10))),
        ],
        "alert_rule_test": [
            {"eval_time": "25m", "alertname": "VllmGroupSlowDecode", "exp_alerts": [{"exp_labels": {
                "model_name": "llama-2-70b-chat", "group": "0", "severity": "warning"}}]},
            {"eval_time": "5m", "alertname": "VllmGroupSlowDecode", "exp_alerts": []},
        ],
    },
]


def test_group_alerts_fire_for_the_group_and_not_otherwise(seventy_b, tmp_path):
    groups = _groups(seventy_b)
    assert {g["name"] for g in groups} >= {"vllm.groups.recording", "vllm.groups.alerts"}
    promtool.write_rules(tmp_path, _without_annotations(groups))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": GROUP_UNIT_TESTS}, sort_keys=False))
    result = promtool.run("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_group_alert_tests_bite(seventy_b, tmp_path):
    """Without the group split, the single-node alert fires on a group's leader: the unit test above fails."""
    groups = _without_annotations(_groups(seventy_b))
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert") == "VllmTargetDown":
                rule["expr"] = 'up{job="vllm"} == 0'
    promtool.write_rules(tmp_path, groups)
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": GROUP_UNIT_TESTS[:1]}, sort_keys=False))
    assert promtool.run("test", "rules", "tests.yaml", cwd=tmp_path).returncode != 0


def test_group_rules_pass_promtool_check(seventy_b, tmp_path):
    path = promtool.write_rules(tmp_path, _groups(seventy_b))
    result = promtool.run("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sample_stacks_have_no_group_rules(evaluations):
    for evaluation in evaluations.values():
        assert not [g for g in _groups(evaluation) if g["name"].startswith("vllm.groups")]


# -- capacity -------------------------------------------------------------------------------------


def test_capacity_table_shows_the_layout_tokens_per_second_and_the_fabric(cfg, layout):
    plan = capacity.plan(cfg)
    text = capacity.table(plan)
    row = next(line for line in text.splitlines() if line.startswith(SEVENTY_B))
    p = plan.models[SEVENTY_B]
    assert f" {layout.short} " in row and f" {round(p.decode_tokens_per_second)} " in row
    assert p.decode_tokens_per_second > 0 and 0 < p.fabric_share < 0.01
    assert f"{p.fabric_share:.1%}" in row
    for stage in p.fit.stages:
        assert f"stage {stage.index} (node {stage.index}): layers {stage.first_layer}-" in text
    assert f"{SEVENTY_B}: auto chose {layout.describe()}" in text
    assumptions = next(line for line in text.splitlines() if line.startswith("Assumptions: "))
    assert "cost.itlTargetSeconds 0.15 s" in assumptions and "gpuPool.interNodeGbps 100 Gbit/s" in assumptions
    exported = p.to_dict()
    assert (exported["nodesPerReplica"], exported["gpusPerNode"]) == (layout.nodes, 1)
    assert exported["pipelineParallelSize"] == layout.pipeline_parallel and len(exported["stages"]) == layout.nodes


def test_a_slower_fabric_takes_a_larger_share():
    raw = seventy_b_config()
    fast = capacity.plan(parse_config(raw, [s.key for s in SECRET_KEYS])).models[SEVENTY_B]
    raw["gpuPool"]["interNodeGbps"] = 1
    slow = capacity.plan(parse_config(raw, [s.key for s in SECRET_KEYS])).models[SEVENTY_B]
    # Within the same latency target, the slower fabric leaves room for fewer sequences.
    assert slow.fabric_share > fast.fabric_share and slow.capacity.batch < fast.capacity.batch


# -- the offline checks: CRD, Pod Security, images, mirror ------------------------------------------


def test_the_leader_worker_sets_validate_against_the_lws_crd(seventy_b_checks):
    report = seventy_b_checks.crd_report
    assert report.errors == [] and "leaderworkerset.x-k8s.io/v1/LeaderWorkerSet" not in report.unvalidated
    schemas = crds.schemas_from([o for r in seventy_b_checks.releases if r.chart.name == "lws" for o in r.objects])
    assert ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet") in schemas, "the schema comes from the pinned chart"
    assert seventy_b_checks.render_errors == [] and seventy_b_checks.ignored_values == []
    assert seventy_b_checks.pod_security == [] and seventy_b_checks.images == []


def test_a_misspelt_field_of_the_set_fails_its_crd(seventy_b, seventy_b_checks):
    schemas = crds.schemas_from([o for r in seventy_b_checks.releases if r.chart.name == "lws" for o in r.objects])
    document = manifest(_set(seventy_b))
    assert crds.validate(document, schemas) == []
    document["spec"]["leaderWorkerTemplate"]["groupSize"] = 3
    assert [e.path for e in crds.validate(document, schemas)] == ["spec.leaderWorkerTemplate.groupSize"]


def test_offline_pod_security_reads_both_templates_of_a_set(seventy_b):
    document = manifest(_set(seventy_b))
    levels = {"llm-serving": "restricted"}
    assert pod_security.violations([document], levels, "default") == []
    worker = document["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    worker["securityContext"]["capabilities"]["add"] = ["IPC_LOCK"]
    found = pod_security.violations([document], levels, "default")
    assert found and "spec.leaderWorkerTemplate.workerTemplate" in found[0] and "capabilities.add" in found[0]


def test_the_mirror_list_holds_the_controller_chart_and_image(seventy_b_checks, chart_tools):
    from offline.charts import mirror

    artifacts_dir, helm_bin = chart_tools
    charts = mirror.charts_to_mirror(seventy_b_checks.releases)
    assert any(c.name == "lws" and c.destination == "oci://harbor-a.hospital.example/charts/lws"
               and c.source == "oci://registry.k8s.io/lws/charts/lws" for c in charts)
    images = mirror.images_to_mirror(seventy_b_checks.image_uses, seventy_b_checks.releases, artifacts_dir, helm_bin,
                                     "1.32")
    pinned = "v0.10.0@sha256:" + "1" * 64
    controller = next(i for i in images if i.destination == f"harbor-a.hospital.example/lws/lws:{pinned}")
    assert controller.source == f"registry.k8s.io/lws/lws:{pinned}"


def test_the_offline_preview_of_the_generated_stack_passes(tmp_path, chart_tools):
    path = write_stack_file(seventy_b_config(), tmp_path / "Pulumi.prod-70b.yaml")
    result = offline_cli("preview", "--stack", "prod", "--stand-in-secrets", "--config", str(path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"LeaderWorkerSet::{SEVENTY_B}" in result.stdout or f"{SEVENTY_B}-server" in result.stdout
    assert "custom resources against their CRDs:" in result.stdout and ", 0 error(s); no schema: none" in result.stdout
    assert f"Policies: {len(RULES)} run, 0 violation(s)" in result.stdout


# -- updates --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed_70b(seventy_b):
    from offline.render import inventory

    return inventory(seventy_b)


def _plan(deployed_70b, edit):
    from offline.plan.update import plan
    from offline.render import inventory
    from offline.run import evaluate

    raw = seventy_b_config()
    edit(raw)
    return plan(deployed_70b, inventory(evaluate("prod", raw)), "test")


def test_a_new_revision_restages_once_and_rolls_the_groups(deployed_70b):
    def edit(raw):
        raw["models"][SEVENTY_B]["revision"] = "89abcdef0123456789abcdef0123456789abcdef"
    result = _plan(deployed_70b, edit)
    assert {(s.name, s.op) for s in result.changed} == {
        (f"{SEVENTY_B}-download", "replace"), (f"{SEVENTY_B}-server", "update")}
    diffs = result.step(f"{SEVENTY_B}-server").diffs
    # Workers load what the leader's engine names from the shared volume; the controller still replaces whole groups.
    assert diffs == ["spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0].args[0]"]
    assert not result.errors


def test_a_new_layout_updates_the_group_size_in_place(deployed_70b, layout):
    def edit(raw):
        raw["models"][SEVENTY_B].update(tensorParallelSize=1, nodesPerReplica=layout.nodes + 1)
        raw["gpuPool"]["nodes"] = 10
    result = _plan(deployed_70b, edit)
    step = result.step(f"{SEVENTY_B}-server")
    assert step.op == "update" and "spec.leaderWorkerTemplate.size" in step.diffs
    assert not result.errors
