"""Changing a model: a candidate beside the current revision, weighted at the gateway, compared, promoted or rolled back.

The prod stack with a candidate of llama-2-7b-chat (a new revision, its own manifest, 10 % of requests) is
evaluated once; the promotion and the rollback are planned against it as deployed.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import re
import subprocess

import pytest
import yaml

from components.builders import ai_gateway as ai
from components.config import SECRET_KEYS, ConfigError, parse_config
from components.config.site_mirror import mirror_of
from components.jobs import evaluate_model
from components.jobs.evaluate_model import canonical_digest
from components.jobs.stage_weights import manifest_digest
from offline.plan.effects import assess
from offline.plan.update import plan
from offline.render import inventory
from offline.run import ROOT, evaluate, platform_config, stack_config
from tests import promtool
from tests.conftest import offline_cli

LLAMA, MISTRAL = "llama-2-7b-chat", "mistral-7b-instruct"
CANDIDATE = f"{LLAMA}-candidate"
NEW_REVISION = "0ce83c3d0d1b1f2f8e0a7f6e0d6a6b0d3c7e9a11"
NEW_MANIFEST = {name: hashlib.sha256(f"new {name}".encode()).hexdigest() for name in (
    "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
    "model.safetensors.index.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json")}
ALL_SECRETS = [s.key for s in SECRET_KEYS]
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"


QUESTIONS = "examples/evaluation/questions.json"
QUESTION_SET = canonical_digest(json.loads((ROOT / QUESTIONS).read_text()))
NEW_IDENTITY = manifest_digest(NEW_MANIFEST)
RECORD = {"score": 0.95, "weightsManifest": NEW_IDENTITY, "questionSet": QUESTION_SET,
          "resultDigest": "sha256:" + "ab" * 32}


def with_candidate(raw: dict, weight: int = 10, spare: bool = True) -> dict:
    """prod with a canary of a new llama revision; llama's replicas.max lowered by one to make room for it and, with
    ``spare``, mistral's too, so the pool keeps the GPU the promotion's surge replica needs."""
    raw = copy.deepcopy(raw)
    model = raw["models"][LLAMA]
    model["replicas"]["max"] = 1
    if spare:
        raw["models"][MISTRAL]["replicas"]["max"] = 1
    model["candidate"] = {"revision": NEW_REVISION, "weightsManifest": NEW_MANIFEST, "weight": weight}
    raw["evaluation"] = {"enabled": True, "questionSet": QUESTIONS, "passScore": 0.9}
    return raw


def evaluated(raw: dict) -> dict:
    """The canary with the record its evaluation Job printed, copied into config."""
    raw = copy.deepcopy(raw)
    raw["models"][LLAMA]["candidate"]["evaluation"] = dict(RECORD)
    return raw


def promoted(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    model = raw["models"][LLAMA]
    candidate = model.pop("candidate")
    model.update(revision=candidate["revision"], weightsManifest=candidate["weightsManifest"])
    if "evaluation" in candidate:
        model["evaluation"] = candidate["evaluation"]
    return raw


def rolled_back(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    raw["models"][LLAMA].pop("candidate")
    return raw


@pytest.fixture(scope="module")
def canary_raw():
    return evaluated(with_candidate(stack_config("prod")))


@pytest.fixture(scope="module")
def canary(canary_raw):
    return evaluate("prod", canary_raw)


def _spec(evaluation, name):
    return evaluation.graph.named(name).inputs["spec"]


# -- the candidate beside the current revision ---------------------------------------------------


def test_a_candidate_runs_as_a_second_workload_with_its_own_weights_directory(canary):
    current, candidate = _spec(canary, f"{LLAMA}-server"), _spec(canary, f"{CANDIDATE}-server")
    assert current["template"]["spec"]["containers"][0]["args"][0].endswith("/f5db02db724555f92da89c216ac04704f23d4590")
    assert candidate["template"]["spec"]["containers"][0]["args"][0] == \
        f"/models/meta-llama--Llama-2-7b-chat-hf/{NEW_REVISION}"
    # Same served name, so clients see one model; separate selectors, so each Service reaches its own pods.
    assert "--served-model-name" in candidate["template"]["spec"]["containers"][0]["args"]
    assert current["selector"] != candidate["selector"]
    # The candidate stages its revision into the current one's shared volume: its own Job, no claim of its own.
    job = canary.graph.named(f"{CANDIDATE}-download")
    pod = job.inputs["spec"]["template"]["spec"]
    stage = next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "stage-weights")
    env = {e["name"]: e.get("value") for e in stage["env"]}
    # Signed by the model's signer: the verifier follows the staging for the candidate's revision too.
    assert [c["name"] for c in pod["containers"]] == ["verify-signature"]
    assert env["MODEL_REVISION"] == NEW_REVISION and yaml.safe_load(env["WEIGHTS_MANIFEST"]) == NEW_MANIFEST
    claims = [v["persistentVolumeClaim"]["claimName"] for v in job.inputs["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims == [f"{LLAMA}-weights"]
    assert not [r for r in canary.graph.records if r.name == f"{CANDIDATE}-weights"]
    identity = candidate["template"]["metadata"]["annotations"]["onprem-llm.io/weights-manifest"]
    assert identity == NEW_IDENTITY != current["template"]["metadata"]["annotations"]["onprem-llm.io/weights-manifest"]
    assert canary.outputs["models"][LLAMA]["candidateWeightsManifest"] == NEW_IDENTITY
    assert canary.outputs["models"][MISTRAL]["candidateWeightsManifest"] is None
    # Its replica count is fixed; its scaler reads only its own series.
    scaler = _spec(canary, f"{CANDIDATE}-scaler")
    assert scaler["minReplicaCount"] == scaler["maxReplicaCount"] == 1
    assert 'revision_role="candidate"' in scaler["triggers"][0]["metadata"]["query"]
    assert 'revision_role!="candidate"' in _spec(canary, f"{LLAMA}-scaler")["triggers"][0]["metadata"]["query"]


def test_one_route_splits_the_model_between_the_two_revisions_by_weight(canary):
    rules = {r["name"]: r for r in _spec(canary, "gateway-route")["rules"]}
    assert rules[LLAMA]["backendRefs"] == [{"name": LLAMA, "weight": 90, "bodyMutation": ai.ONE_CHOICE},
                                           {"name": CANDIDATE, "weight": 10, "bodyMutation": ai.ONE_CHOICE}]
    assert rules[MISTRAL]["backendRefs"] == [{"name": MISTRAL, "bodyMutation": ai.ONE_CHOICE}]
    backend = _spec(canary, f"gateway-{CANDIDATE}-backend")
    assert backend["endpoints"][0]["fqdn"]["hostname"] == f"{CANDIDATE}-api.llm-serving.svc.cluster.local"
    policy = _spec(canary, f"gateway-{CANDIDATE}-upstream-key")
    assert policy["apiKey"]["secretRef"]["name"] == f"{CANDIDATE}-upstream-key"
    assert policy["targetRefs"][0]["name"] == CANDIDATE


def test_every_series_says_which_revision_it_comes_from(canary):
    for name, role in ((LLAMA, "current"), (CANDIDATE, "candidate")):
        relabel = _spec(canary, f"{name}-monitor")["endpoints"][0]["relabelings"]
        assert {"targetLabel": "revision_role", "replacement": role, "action": "replace"} in relabel


def test_the_preview_with_a_candidate_passes_every_check_and_the_pack(canary_raw, tmp_path):
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["onprem-llm:models"] = canary_raw["models"]
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document))
    result = offline_cli("preview", "--stack", "prod", "--stand-in-secrets", "--config", str(path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "custom resources against their CRDs" in result.stdout and "0 mandatory" in result.stdout
    assert "GPUs: 3 needed at replicas.max (candidates 1), 4 in the pool" in result.stdout


def test_the_standby_serves_the_current_revision_only(canary_raw):
    mirror = mirror_of(parse_config(canary_raw, ALL_SECRETS))
    assert mirror["models"][LLAMA]["candidate"]["weight"] == 10  # the mirror carries it as the primary runs it
    standby = parse_config(stack_config("prod-standby"), ALL_SECRETS, primary=mirror)
    assert standby.models[LLAMA].candidate is None


# -- comparison alerts -----------------------------------------------------------------------------


def _canary_groups(evaluation):
    groups = evaluation.graph.named("observability-rules", RULE).inputs["spec"]["groups"]
    return [g for g in groups if g["name"] in ("vllm.revisions.recording", "vllm.canary.alerts")]


def _http(service: str, role: str, ok_per_min: int, failed_per_min: int) -> list[dict]:
    labels = f'job="vllm",namespace="llm-serving",service="{service}",revision_role="{role}"'
    return [{"series": f'http_requests_total{{{labels},status="2xx"}}', "values": f"0+{ok_per_min}x40"},
            {"series": f'http_requests_total{{{labels},status="5xx"}}', "values": f"0+{failed_per_min}x40"}]


def _latency(role: str, fast: int, slow: int) -> list[dict]:
    labels = f'job="vllm",model_name="{LLAMA}",revision_role="{role}"'
    buckets = {"1": fast, "5": fast + slow, "+Inf": fast + slow}
    return [{"series": f'vllm:e2e_request_latency_seconds_bucket{{{labels},le="{le}"}}', "values": f"0+{n}x40"}
            for le, n in buckets.items()]


def _alerts_at(name: str, *labels: dict) -> dict:
    return {"eval_time": "25m", "alertname": name, "exp_alerts": [{"exp_labels": x} for x in labels]}


def _canary_tests(candidate_failures: int, candidate_slow: int) -> list[dict]:
    fires = {"model_name": LLAMA, "severity": "warning"}
    return [{
        "interval": "1m",
        "input_series": _http(f"{LLAMA}-api", "current", 99, 1) + _http(f"{CANDIDATE}-api", "candidate", 100 - candidate_failures,
                                                                       candidate_failures)
        + _latency("current", 10, 0) + _latency("candidate", 10 - candidate_slow, candidate_slow),
        "alert_rule_test": [
            _alerts_at("VllmCandidateErrorRateWorse", *([fires] if candidate_failures >= 5 else [])),
            _alerts_at("VllmCandidateSlower", *([fires] if candidate_slow >= 8 else [])),
        ],
    }]


def _promtool_test(groups, tests, tmp_path) -> subprocess.CompletedProcess:
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    promtool.write_rules(tmp_path, groups)
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": tests}, sort_keys=False))
    return promtool.run("test", "rules", "tests.yaml", cwd=tmp_path)


def test_the_comparison_rules_pass_promtool_check(canary, prod, tmp_path):
    groups = _canary_groups(canary)
    assert [g["name"] for g in groups] == ["vllm.revisions.recording", "vllm.canary.alerts"]
    assert _canary_groups(prod) == [], "without a candidate there is nothing to compare"
    path = promtool.write_rules(tmp_path, groups)
    result = promtool.run("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_candidate_worse_than_its_margins_alerts(canary, tmp_path):
    # 6 % of the candidate's requests fail against 1 % of the current's (margin 1 point); 9 of its 10 requests a
    # minute take 1-5 s against under 1 s (margin 20 %).
    result = _promtool_test(_canary_groups(canary), _canary_tests(6, 9), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_candidate_within_its_margins_is_quiet(canary, tmp_path):
    # The same 1 % failures and the same speed as the current revision.
    result = _promtool_test(_canary_groups(canary), _canary_tests(1, 0), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_comparison_tests_bite(canary, tmp_path):
    """Expecting quiet where the candidate is worse fails: the alert tests are not vacuous."""
    tests = _canary_tests(6, 9)
    for case in tests[0]["alert_rule_test"]:
        case["exp_alerts"] = []
    assert _promtool_test(_canary_groups(canary), tests, tmp_path).returncode != 0


def test_the_comparison_dashboard_splits_each_panel_by_revision(canary, prod):
    board = json.loads(canary.graph.named("observability-dashboard-vllm-canary").inputs["data"]["vllm-canary.json"])
    titles = [p["title"] for p in board["panels"]]
    assert any("5xx" in t for t in titles) and any("latency" in t for t in titles) and any("tokens" in t for t in titles)
    assert all("revision_role" in t["expr"] for p in board["panels"] for t in p["targets"])
    assert not [r for r in prod.graph.records if r.name == "observability-dashboard-vllm-canary"]


# -- promotion and rollback ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed_canary(canary):
    return inventory(canary)


def _planned(baseline: dict, raw: dict):
    current = inventory(evaluate("prod", raw))
    steps = plan(baseline, current)
    return steps, assess(steps, baseline, current, platform_config("prod", raw))


def test_starting_the_canary_is_one_up_in_which_no_request_fails(prod, canary_raw):
    steps, impact = _planned(inventory(prod), canary_raw)
    assert impact.verdict(LLAMA) == "no request fails" and impact.verdict(MISTRAL) == "no request fails"
    ops = {s.name: s.op for s in steps.changed}
    assert ops[f"{CANDIDATE}-server"] == "create" and ops["gateway-route"] == "update"
    # The current revision is not restarted by its canary.
    assert f"{LLAMA}-server" not in ops


def test_promotion_is_one_up_in_which_no_request_fails(deployed_canary, canary_raw):
    steps, impact = _planned(deployed_canary, promoted(canary_raw))
    assert impact.verdict(LLAMA) == "no request fails", impact.models[LLAMA]
    assert impact.verdict(MISTRAL) == "no request fails"
    ops = {s.name: s.op for s in steps.changed}
    # The current workload rolls to the candidate's revision; the route goes back to one backend; the candidate goes.
    assert ops[f"{LLAMA}-server"] == "update" and ops["gateway-route"] == "update"
    assert ops[f"{CANDIDATE}-server"] == "delete" and ops[f"gateway-{CANDIDATE}-backend"] == "delete"
    rolled = next(e for e in impact.effects if e.name == f"{LLAMA}-server")
    assert rolled.kind == "rolling" and not rolled.outage
    # The candidate keeps its GPU until the update's end; the spare one carries the surge replica.
    assert rolled.detail.endswith("needs 1 free GPU(s); the pool has 1 free at replicas.max")


def test_a_promotion_in_a_full_pool_says_the_rollout_waits_for_a_gpu():
    raw = with_candidate(stack_config("prod"), spare=False)
    _, impact = _planned(inventory(evaluate("prod", raw)), promoted(raw))
    rolled = next(e for e in impact.effects if e.name == f"{LLAMA}-server")
    assert "the pool has none free" in rolled.detail and "holds its GPUs until the update's end" in rolled.detail
    assert impact.verdict(LLAMA) == "no request fails"  # the old replica keeps serving while the rollout waits


def test_rollback_is_one_up_in_which_no_request_fails(deployed_canary, canary_raw):
    steps, impact = _planned(deployed_canary, rolled_back(canary_raw))
    assert impact.verdict(LLAMA) == "no request fails", impact.models[LLAMA]
    ops = {s.name: s.op for s in steps.changed}
    # The current revision is untouched: nothing restarts, the route drops the candidate, the candidate goes.
    assert f"{LLAMA}-server" not in ops
    assert ops["gateway-route"] == "update" and ops[f"{CANDIDATE}-server"] == "delete"


# -- what config refuses ---------------------------------------------------------------------------


def _issues(raw: dict) -> str:
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, ALL_SECRETS)
    return str(refused.value)


def test_a_candidate_the_pool_cannot_hold_is_refused_with_the_alternatives():
    raw = with_candidate(stack_config("prod"), spare=False)
    raw["models"][LLAMA]["replicas"]["max"] = 2
    message = _issues(raw)
    assert f"models.{LLAMA}.candidate: '1 GPUs'" in message
    assert "A lower candidate.weight saves no GPU" in message
    assert f"models.{LLAMA}.replicas.max 2 -> 1 while the canary runs" in message
    assert f"models.{MISTRAL}.replicas.max 2 -> 1 while the canary runs" in message
    assert "1 more GPU node(s) (gpuPool.nodes)" in message
    # The weight changes nothing: even the smallest share needs the whole replica.
    raw["models"][LLAMA]["candidate"]["weight"] = 1
    assert f"models.{LLAMA}.candidate: '1 GPUs'" in _issues(raw)


def test_a_candidate_that_changes_nothing_is_refused():
    raw = with_candidate(stack_config("prod"))
    raw["models"][LLAMA]["candidate"] = {"weight": 10}
    assert "a candidate serves something else than the current revision" in _issues(raw)


def test_production_needs_the_candidates_manifest():
    raw = with_candidate(stack_config("prod"))
    del raw["models"][LLAMA]["candidate"]["weightsManifest"]
    assert "production starts a candidate only on verified bytes" in _issues(raw)



# -- the evaluation gate ---------------------------------------------------------------------------


def test_the_evaluation_job_grades_the_candidate_through_the_gateway(canary):
    job = canary.graph.named(f"evaluation-{LLAMA}")
    assert job.inputs["metadata"]["name"] == f"{LLAMA}-eval-candidate-1"
    pod = job.inputs["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["GATEWAY_BASE_URL"] == "https://llm.hospital.example/v1" and env["REVISION_ROLE"] == "candidate"
    assert env["MODEL_NAME"] == LLAMA and env["WEIGHTS_MANIFEST_DIGEST"] == NEW_IDENTITY
    scripts = canary.graph.named("evaluation-questions").inputs["data"]
    assert json.loads(scripts["questions.json"]) == json.loads((ROOT / QUESTIONS).read_text())
    assert "def grade(" in scripts["evaluate_model.py"]
    # Only the gateway's proxies are reachable, and the gateway admits the namespace as a client.
    egress = canary.graph.named("evaluation-allow-gateway").inputs["spec"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [10443]
    assert not [r for r in canary.graph.records if r.name == f"evaluation-{MISTRAL}"]


def test_the_evaluation_jobs_log_ships_to_the_audit_store_only_where_evaluation_runs(canary, prod):
    """The answers behind a promotion's record are kept with the trail, from the Job's own container log."""
    assert "in-evaluation" not in prod.graph.named("audit-fluent-bit").inputs["values"]["config"]["inputs"]
    config = canary.graph.named("audit-fluent-bit").inputs["values"]["config"]
    (path,) = re.findall(r"Alias in-evaluation\n    Tag audit.evaluation\n    Path (\S+)\n", config["inputs"])
    job = canary.graph.named(f"evaluation-{LLAMA}").inputs
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # The kubelet's log file name for that Job's pod: <pod>_<namespace>_<container>-<container id>.log.
    log = f"/var/log/containers/{job['metadata']['name']}-x7k2p_{job['metadata']['namespace']}_{container['name']}-" \
          f"{'0f' * 32}.log"
    assert fnmatch.fnmatch(log, path)
    assert not fnmatch.fnmatch(log.replace(job["metadata"]["namespace"], "api-gateway"), path)
    # Only the record line passes the shipper's filter: the answers and prompts stay in the Job's own log.
    (pattern,) = re.findall(r"Name grep\n    Alias keep-evaluation-record\n    Match audit.evaluation\n    Regex log (\S+)\n",
                            config["filters"])
    result = evaluate_model.record({"questions": [{"id": "q1", "prompt": "Blood type?", "expect": {"exact": "O-"}}]},
                                   {"q1": "O-"}, model=LLAMA, role="candidate", weights="sha256:ab", pass_score=0.9)
    printed = [json.dumps(result, sort_keys=True), *evaluate_model.summary(result).splitlines(),
               evaluate_model.audit_line(result)]
    assert [line for line in printed if re.match(pattern, line)] == [evaluate_model.audit_line(result)]
    output = re.search(r"Alias s3-evaluation\n    Match audit.evaluation\n(.*?)(\n\n|\Z)", config["outputs"], re.S)
    assert output and "s3_key_format /onprem-llm/logs/%Y-%m-%d/evaluation/" in output.group(1)
    assert "tls.verify On" in output.group(1) and "bucket llm-platform-audit" in output.group(1)


def test_the_route_pins_each_revision_for_the_evaluation(canary):
    rules = {r["name"]: r for r in _spec(canary, "gateway-route")["rules"]}
    pinned = rules[f"{LLAMA}-pin-candidate"]
    assert pinned["backendRefs"] == [{"name": CANDIDATE, "bodyMutation": ai.ONE_CHOICE}]
    assert {"type": "Exact", "name": "x-onprem-llm-revision", "value": "candidate"} in pinned["matches"][0]["headers"]
    assert rules[f"{LLAMA}-pin-current"]["backendRefs"] == [{"name": LLAMA, "bodyMutation": ai.ONE_CHOICE}]


def test_the_recorded_score_is_a_metric(canary, tmp_path):
    groups = canary.graph.named("observability-rules", RULE).inputs["spec"]["groups"]
    (group,) = [g for g in groups if g["name"] == "model.evaluations"]
    (rule,) = group["rules"]
    assert rule["expr"] == "vector(0.95)"
    assert rule["labels"] == {"model_name": LLAMA, "revision_role": "candidate", "weights_manifest": NEW_IDENTITY,
                              "result_digest": RECORD["resultDigest"]}
    path = promtool.write_rules(tmp_path, [group])
    assert promtool.run("check", "rules", str(path), cwd=tmp_path).returncode == 0


def _with_current_records(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    cfg = parse_config(raw, ALL_SECRETS)
    for key in (LLAMA, MISTRAL):
        raw["models"][key]["evaluation"] = {**RECORD, "weightsManifest": cfg.models[key].weights_identity}
    raw["evaluation"]["requirePassing"] = True
    return raw


def test_a_promotion_without_a_passing_record_is_refused_when_the_site_requires_one(canary_raw):
    gated = _with_current_records(canary_raw)
    parse_config(gated, ALL_SECRETS)  # the canary itself is fine: the current revisions passed
    without = copy.deepcopy(gated)
    del without["models"][LLAMA]["candidate"]["evaluation"]
    message = _issues(promoted(without))
    assert f"models.{LLAMA}.evaluation.weightsManifest" in message  # the old revision's record cannot vouch for it
    failing = copy.deepcopy(gated)
    failing["models"][LLAMA]["candidate"]["evaluation"]["score"] = 0.5
    assert "below evaluation.passScore 0.9" in _issues(promoted(failing))
    other_set = copy.deepcopy(gated)
    other_set["models"][LLAMA]["candidate"]["evaluation"]["questionSet"] = "sha256:" + "cd" * 32
    assert "the record is of another question set" in _issues(promoted(other_set))
    # With the candidate's passing record moved along, the promotion is accepted.
    assert parse_config(promoted(gated), ALL_SECRETS).models[LLAMA].evaluation.score == 0.95


def test_a_record_of_other_weights_is_refused():
    raw = evaluated(with_candidate(stack_config("prod")))
    raw["models"][LLAMA]["candidate"]["evaluation"]["weightsManifest"] = "sha256:" + "ef" * 32
    assert "the evaluation ran against other weights than the candidate's" in _issues(raw)


def test_the_promotion_plan_shows_the_last_recorded_score(deployed_canary, canary_raw):
    _, impact = _planned(deployed_canary, promoted(canary_raw))
    (line,) = impact.evaluations
    assert line.startswith(f"{LLAMA} (current, {NEW_IDENTITY[:19]}): score 0.95 passed passScore 0.9")
    assert RECORD["resultDigest"][:19] in line



def test_a_candidate_whose_checkpoint_does_not_fit_the_layout_is_refused():
    raw = with_candidate(stack_config("prod"))
    model = raw["models"][LLAMA]
    model.update(architecture="llama-2-70b", quantization="awq", weights={**model["weights"], "sizeGib": 80})
    model["candidate"]["quantization"] = "awq"
    parse_config(raw, ALL_SECRETS)  # the AWQ checkpoint fits one GPU, the model's layout
    model["candidate"]["quantization"] = "none"
    message = _issues(raw)
    assert f"models.{LLAMA}.candidate.quantization: 'none'" in message
    assert "keep the model's quantization or change the model's layout first" in message
