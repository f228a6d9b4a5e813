"""The site's benchmark: `vllm bench serve` of the model's own image, through the gateway, as one Job per model.

A pod of the benchmark namespace stages the model's tokenizer (the random dataset draws its prompts from the
tokenizer's vocabulary; the weights volume belongs to the serving namespace), then runs the configured
concurrency sweep against ``https://<gateway host>/v1`` with a bearer token read from a mounted Secret, and
prints each level's saved result as one line ``RESULT_PREFIX <json>`` in its log, which
``python -m offline capacity --measured`` reads.
"""

from __future__ import annotations

import json

import pulumi_kubernetes as k8s

from components.builders.vllm_pod import (
    CACHE_MOUNT,
    HF_TOKEN_DIR,
    HF_TOKEN_ENTRY,
    MODELS_MOUNT,
    container_security,
    download_env,
    download_resources,
    model_dir,
    pod_security,
)
from components.config import ModelConfig
from components.config.model import BenchmarkConfig, CostConfig
from components.planning.measured import RESULT_PREFIX

TOKEN_DIR = "/var/run/secrets/benchmark"
TOKEN_ENTRY = "token"
CA_DIR = "/var/run/secrets/gateway-ca"
CA_ENTRY = "ca.crt"
RESULTS_MOUNT = "/results"

TOKENIZER_FILES = ("config.json", "generation_config.json", "tokenizer*", "special_tokens_map.json", "vocab*",
                   "merges.txt", "*.tiktoken", "tekken.json", "params.json")
"""What the tokenizer needs of a checkpoint (Hugging Face and mistral_common formats), never the weights."""

STAGE_TOKENIZER_SCRIPT = f"""\
import os
from huggingface_hub import snapshot_download
snapshot_download(repo_id=os.environ["MODEL_REPO"], revision=os.environ["MODEL_REVISION"],
                  local_dir=os.environ["MODEL_DIR"], allow_patterns={list(TOKENIZER_FILES)!r})
print(f"staged the tokenizer of {{os.environ['MODEL_REPO']}}@{{os.environ['MODEL_REVISION']}}")
"""

# The token is read from its file at run time and passed to the client only; the manifest never holds it.
SWEEP_SCRIPT = f"""\
import json, os, pathlib, subprocess, sys
token = pathlib.Path("{TOKEN_DIR}/{TOKEN_ENTRY}").read_text().strip()
failed = []
for level in json.loads(os.environ["BENCH_SWEEP"]):
    name = f"concurrency-{{level['concurrency']}}.json"
    command = ["vllm", "bench", "serve", *json.loads(os.environ["BENCH_ARGS"]), *level["args"],
               "--result-filename", name, "--header", f"Authorization=Bearer {{token}}"]
    if subprocess.run(command).returncode != 0:
        failed.append(level["concurrency"])
        continue
    result = json.loads(pathlib.Path("{RESULTS_MOUNT}", name).read_text())
    print("{RESULT_PREFIX} " + json.dumps(result, separators=(",", ":")), flush=True)
if failed:
    sys.exit(f"the benchmark failed at concurrency {{failed}}")
"""


def request_shape(bench: BenchmarkConfig, cost: CostConfig) -> tuple[int, int]:
    """(prompt, completion) tokens of each request: the benchmark's own, or the cost model's averages."""
    return bench.prompt_tokens or cost.avg_prompt_tokens, bench.output_tokens or cost.avg_output_tokens


def bench_args(model: ModelConfig, base_url: str, prompt_tokens: int, output_tokens: int, site: str) -> list[str]:
    """Flags every level shares: the gateway, the served name, the staged tokenizer and the request shape."""
    return [
        "--backend", "openai", "--base-url", base_url, "--endpoint", "/v1/completions",
        "--model", model.served_model_name, "--tokenizer", model_dir(model),
        "--dataset-name", "random", "--random-input-len", str(prompt_tokens),
        "--random-output-len", str(output_tokens), "--random-range-ratio", "0", "--ignore-eos",
        "--percentile-metrics", "ttft,tpot,itl,e2el", "--save-result", "--result-dir", RESULTS_MOUNT,
        "--disable-tqdm", "--metadata", f"site={site}", f"revision={model.revision}",
    ]


def sweep(bench: BenchmarkConfig) -> list[dict]:
    """One level per configured concurrency: its flags and ``prompts_per_concurrency`` requests per stream."""
    return [{"concurrency": c, "args": ["--max-concurrency", str(c),
                                        "--num-prompts", str(c * bench.prompts_per_concurrency)]}
            for c in bench.concurrency]


def job_name(key: str, run_id: int) -> str:
    return f"{key}-bench-{run_id}"


def _mount(name: str, path: str, read_only: bool = False) -> k8s.core.v1.VolumeMountArgs:
    return k8s.core.v1.VolumeMountArgs(name=name, mount_path=path, read_only=read_only)


def pod_spec(model: ModelConfig, bench: BenchmarkConfig, cost: CostConfig, base_url: str, site: str,
             token_secret: str, ca_secret: str, hf_token_secret: str | None, pull_secret: str,
             service_account: str) -> k8s.core.v1.PodSpecArgs:
    prompt_tokens, output_tokens = request_shape(bench, cost)
    scratch = [_mount("cache", CACHE_MOUNT), _mount("tmp", "/tmp")]
    stage = k8s.core.v1.ContainerArgs(
        name="stage-tokenizer", image=model.image.reference, image_pull_policy="IfNotPresent",
        command=["python3", "-c", STAGE_TOKENIZER_SCRIPT], env=download_env(model, hf_token_secret),
        resources=download_resources(), security_context=container_security(),
        volume_mounts=[_mount("tokenizer", MODELS_MOUNT), *scratch,
                       *([_mount("hf-token", HF_TOKEN_DIR, True)] if hf_token_secret else [])],
    )
    env = [k8s.core.v1.EnvVarArgs(name=n, value=v) for n, v in (
        ("BENCH_ARGS", json.dumps(bench_args(model, base_url, prompt_tokens, output_tokens, site))),
        ("BENCH_SWEEP", json.dumps(sweep(bench))),
        # The gateway's certificate chain (gatewayTlsCert) is what the client trusts: TLS stays verified.
        ("SSL_CERT_FILE", f"{CA_DIR}/{CA_ENTRY}"),
        ("HF_HUB_OFFLINE", "1"), ("VLLM_NO_USAGE_STATS", "1"), ("DO_NOT_TRACK", "1"),
        ("HOME", f"{CACHE_MOUNT}/home"), ("HF_HOME", f"{CACHE_MOUNT}/huggingface"), ("TMPDIR", "/tmp"),
    )]
    run = k8s.core.v1.ContainerArgs(
        name="bench", image=model.image.reference, image_pull_policy="IfNotPresent",
        command=["python3", "-c", SWEEP_SCRIPT], env=env,
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "2", "memory": "4Gi"},
                                                       limits={"cpu": "2", "memory": "4Gi"}),
        security_context=container_security(),
        volume_mounts=[_mount("tokenizer", MODELS_MOUNT, True), _mount("results", RESULTS_MOUNT), *scratch,
                       _mount("token", TOKEN_DIR, True), _mount("gateway-ca", CA_DIR, True)],
    )

    def secret_volume(name: str, secret: str, entry: str) -> k8s.core.v1.VolumeArgs:
        return k8s.core.v1.VolumeArgs(name=name, secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=secret, default_mode=0o400, items=[k8s.core.v1.KeyToPathArgs(key=entry, path=entry)]))

    def scratch_dir(name: str, size: str) -> k8s.core.v1.VolumeArgs:
        return k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=size))

    volumes = [scratch_dir("tokenizer", "1Gi"), scratch_dir("results", "1Gi"), scratch_dir("cache", "4Gi"),
               scratch_dir("tmp", "1Gi"), secret_volume("token", token_secret, TOKEN_ENTRY),
               secret_volume("gateway-ca", ca_secret, CA_ENTRY)]
    if hf_token_secret:
        volumes.append(secret_volume("hf-token", hf_token_secret, HF_TOKEN_ENTRY))
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account, automount_service_account_token=False,
        # The vLLM CLI reads VLLM_* variables; Service links would inject VLLM_PORT-like ones.
        enable_service_links=False,
        restart_policy="Never", image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=pull_secret)],
        security_context=pod_security(), init_containers=[stage], containers=[run], volumes=volumes,
    )
