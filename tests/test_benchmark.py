"""The site's benchmark: one `vllm bench serve` Job per model through the gateway, rendered, checked and read back."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from components.builders import benchmark as bench
from components.config import SECRET_KEYS, ConfigError, parse_config
from components.config.vllm_args import pinned_flags
from components.planning import measured
from offline.checks import preview
from offline.checks.policy import run_pack
from offline.render import inventory, manifest
from offline.run import evaluate, stack_config
from tools.policy_config import CONFIG_DIR

SAMPLE = Path(__file__).parent / "data" / "vllm-bench-serve-mistral-c8.json"
MODELS = ("llama-2-7b-chat", "mistral-7b-instruct")


def _enabled(**settings) -> dict:
    raw = copy.deepcopy(stack_config("prod"))
    raw["benchmark"] = {"enabled": True, "runId": 3, **settings}
    return raw


@pytest.fixture(scope="module")
def benchmarked():
    """Pulumi.prod.yaml with the benchmark on (run 3), evaluated once for this module."""
    return evaluate("prod", _enabled())


def _jobs(evaluation) -> dict[str, dict]:
    return {r.name: manifest(r) for r in evaluation.graph.of_type("kubernetes:batch/v1:Job")
            if manifest(r)["metadata"]["namespace"] == "llm-benchmark"}


def _bench_container(job: dict) -> dict:
    return next(c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "bench")


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_the_benchmark_is_off_by_default(prod):
    assert _jobs(prod) == {}
    assert not [r for r in prod.graph if r.name.startswith("benchmark")]


def test_one_job_per_model_named_after_the_run_with_the_models_image(benchmarked):
    jobs = _jobs(benchmarked)
    assert sorted(j["metadata"]["name"] for j in jobs.values()) == [f"{k}-bench-3" for k in MODELS]
    cfg = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])
    for job in jobs.values():
        key = job["metadata"]["labels"]["onprem-llm.io/model"]
        pod = job["spec"]["template"]["spec"]
        assert {c["image"] for c in pod["containers"] + pod["initContainers"]} == {cfg.models[key].image.reference}
        assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 1800
        assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_the_command_uses_only_flags_of_the_pinned_vllm_bench_serve_and_the_configured_shape(benchmarked):
    known = set(pinned_flags()["benchServe"])
    for job in _jobs(benchmarked).values():
        env = _env(_bench_container(job))
        shared, levels = json.loads(env["BENCH_ARGS"]), json.loads(env["BENCH_SWEEP"])
        flags = {a for a in shared + [a for lv in levels for a in lv["args"]] if a.startswith("--")}
        flags |= {"--result-filename", "--header"}  # added by the sweep script
        assert flags <= known, flags - known
        value = dict(zip(shared, shared[1:], strict=False))
        assert value["--base-url"] == "https://llm.hospital.example" and value["--endpoint"] == "/v1/completions"
        assert (value["--random-input-len"], value["--random-output-len"]) == ("300", "150")  # cost averages
        assert value["--model"] == job["metadata"]["labels"]["onprem-llm.io/model"]
        assert [(lv["concurrency"], lv["args"][-1]) for lv in levels] == [(1, "10"), (4, "40"), (16, "160")]


def test_the_token_is_a_mounted_secret_never_in_the_manifest(benchmarked):
    token = benchmarked.world.stand_in_secret("benchmarkToken")
    for job in _jobs(benchmarked).values():
        text = json.dumps(job)
        assert token not in text, "the stand-in token leaked into the Job"
        container = _bench_container(job)
        assert {"name": "token", "mountPath": bench.TOKEN_DIR, "readOnly": True} in container["volumeMounts"]
        volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "token")
        assert volume["secret"]["secretName"] == "benchmark-token"
    secret = manifest(benchmarked.graph.named("benchmark-token"))
    assert secret["metadata"]["namespace"] == "llm-benchmark"


def test_the_namespace_is_default_deny_and_reaches_only_dns_the_gateway_proxies_and_the_tokenizer_source(benchmarked):
    policies = [manifest(r) for r in benchmarked.graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if manifest(r)["metadata"]["namespace"] == "llm-benchmark"]
    names = {p["metadata"]["name"]: p["spec"] for p in policies}
    assert names["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert not any(p.get("ingress") for p in names.values())
    gateway = names["allow-gateway-egress"]["egress"]
    assert gateway[0]["ports"] == [{"protocol": "TCP", "port": 10443}]
    assert gateway[0]["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "api-gateway"}}
    assert names["allow-tokenizer-source-egress"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.70.0.0/24"}}]
    assert set(names) == {"default-deny", "allow-dns-egress", "allow-gateway-egress", "allow-tokenizer-source-egress"}


def test_the_gateway_admits_the_benchmark_namespace_only_while_it_is_on(benchmarked, prod):
    def admitted(evaluation):
        rule = manifest(evaluation.graph.named("gateway-allow-clients"))["spec"]["ingress"][0]
        return [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for p in rule["from"] if "namespaceSelector" in p]

    assert "llm-benchmark" in admitted(benchmarked) and "llm-benchmark" not in admitted(prod)
    assert "llm-benchmark" in benchmarked.outputs["gatewayClients"]["namespaces"]


def test_the_benchmark_passes_the_policy_pack_and_the_preview_checks(benchmarked):
    report = run_pack(inventory(benchmarked), json.loads((CONFIG_DIR / "prod.json").read_text()))
    assert report.violations == []
    raw = stack_config("prod")
    checks = preview.run(benchmarked.graph, raw["tanzu"]["kubernetesVersion"], raw["compliance"]["allowedRegistries"],
                         None, None)
    assert checks.problems == []
    assert any("bench-3" in use.where for use in checks.image_uses), "the Jobs' pods were checked"


@pytest.mark.parametrize(("settings", "secrets_left_out", "path", "fragment"), [
    ({}, ("benchmarkToken",), "benchmarkToken", "pulumi config set --secret benchmarkToken"),
    ({"models": ["llama-3-8b"]}, (), "benchmark.models", "'llama-3-8b' is not a model key of this stack"),
    ({"promptTokens": 8000}, (), "benchmark.promptTokens", "exceeds models.llama-2-7b-chat.maxModelLen 4096"),
    ({"namespace": "llm-serving"}, (), "benchmark.namespace", "must differ from tanzu.servingNamespace"),
    ({"concurrency": []}, (), "benchmark.concurrency", "at least 1"),
])
def test_bad_benchmark_settings_are_refused_with_the_fix(settings, secrets_left_out, path, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_config(_enabled(**settings), [s.key for s in SECRET_KEYS if s.key not in secrets_left_out])
    message = str(caught.value)
    assert path in message and fragment in message, message


def test_the_sweep_prints_each_saved_result_that_capacity_measured_reads(tmp_path):
    """The Job's script, run with a stand-in `vllm` that writes the sample result, and its log read back."""
    results, secrets, bin_dir = tmp_path / "results", tmp_path / "secrets", tmp_path / "bin"
    for d in (results, secrets, bin_dir):
        d.mkdir()
    (secrets / bench.TOKEN_ENTRY).write_text("token-from-the-secret\n")
    fake = bin_dir / "vllm"
    fake.write_text(f"""#!{sys.executable}
import json, sys
args = sys.argv[1:]
value = lambda flag: args[args.index(flag) + 1]
result = json.load(open({str(SAMPLE)!r}))
result["max_concurrency"] = int(value("--max-concurrency"))
result["header"] = value("--header")
json.dump(result, open(value("--result-dir") + "/" + value("--result-filename"), "w"))
""")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    script = bench.SWEEP_SCRIPT.replace(bench.TOKEN_DIR, str(secrets)).replace(f'"{bench.RESULTS_MOUNT}"',
                                                                                repr(str(results)))
    levels = [{"concurrency": c, "args": ["--max-concurrency", str(c), "--num-prompts", str(10 * c)]} for c in (1, 8)]
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "BENCH_ARGS": json.dumps(["--result-dir", str(results)]), "BENCH_SWEEP": json.dumps(levels)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(measured.RESULT_PREFIX)]
    assert len(lines) == 2
    assert json.loads(lines[0].split(" ", 1)[1])["header"] == "Authorization=Bearer token-from-the-secret"
    log = tmp_path / "mistral-7b-instruct-bench-3.log"
    log.write_text("INFO starting\n" + done.stdout)
    runs = measured.read_runs(tmp_path)
    assert [r.concurrency for r in runs] == [1, 8] and {r.served_model_name for r in runs} == {"mistral-7b-instruct"}
    cfg = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])
    assert [c.key for c in measured.compare(cfg, runs)] == ["mistral-7b-instruct"] * 2


def test_a_log_without_results_says_so(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("Traceback (most recent call last):\n")
    with pytest.raises(ValueError, match="no 'vllm-bench-result:' lines"):
        measured.read_runs(log)
