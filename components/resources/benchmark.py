"""SiteBenchmark: the measured baseline, one `vllm bench serve` Job per model through the gateway, on demand."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.builders import benchmark as bench
from components.builders import k8s as _k8s
from components.builders.vllm_pod import HF_TOKEN_ENTRY
from components.config import ModelConfig
from components.config.model import BenchmarkConfig, CostConfig
from components.resources.gateway_client import CA_SECRET, gateway_client, on_demand_job, opaque_secret
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:SiteBenchmark"
# The Job's log is the result; the next run (a new runId) replaces it.
NOT_BACKED_UP = {"velero.io/exclude-from-backup": "true"}


@dataclass(frozen=True)
class SiteBenchmarkArgs:
    settings: BenchmarkConfig
    cost: CostConfig
    """The request shape defaults to the cost model's average prompt and completion."""
    models: dict[str, ModelConfig]
    """The models to benchmark, by key."""
    cluster: ClusterCore
    gateway_url: str
    """https://<gateway host>: the benchmark calls it as users do."""
    gateway_namespace: str
    token: pulumi.Input[str]
    """Bearer token of a group the models admit (secret benchmarkToken)."""
    gateway_certificate: pulumi.Input[str]
    """The gateway's certificate chain (gatewayTlsCert): the client verifies the gateway against it."""
    site: str
    hf_token: pulumi.Input[str] | None = None
    """For models staged from Hugging Face: the tokenizer comes from there too."""
    depends_on: tuple[pulumi.Resource, ...] = ()
    """The gateway and the model endpoints: a Job runs once they exist."""


class SiteBenchmark(pulumi.ComponentResource):
    """Namespace (restricted, default-deny), the token and CA Secrets, and the Jobs."""

    namespace: str
    job_names: dict[str, str]
    """Per model key, the Job of this run (``<key>-bench-<runId>``): `kubectl logs job/<name>` gives its results."""

    def __init__(self, name: str, args: SiteBenchmarkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cluster, settings = args.cluster, args.settings
        self.namespace = ns = settings.namespace
        labels = _k8s.labels("vllm-bench", name, "benchmark")
        client = gateway_client(name, self, cluster, ns, "benchmark", labels, args.gateway_namespace,
                                ("benchmark-token", bench.TOKEN_ENTRY, args.token),
                                (bench.CA_ENTRY, args.gateway_certificate), "vllm-bench")
        in_ns = client.in_namespace
        stage_cidrs = sorted({c for m in args.models.values() for c in m.download_egress_cidrs})
        if stage_cidrs:
            # Only the tokenizer's files are fetched, through the same egress as the weights.
            _k8s.network_policy(f"{name}-allow-tokenizer-source", "allow-tokenizer-source-egress", ns, labels, in_ns,
                                egress=[_k8s.to_peers(_k8s.ip_peers(tuple(stage_cidrs)), 443)])
        hf = None
        if args.hf_token is not None and any(m.source == "huggingface" for m in args.models.values()):
            hf = opaque_secret(f"{name}-hf-token", "hf-token", HF_TOKEN_ENTRY, ns, args.hf_token, labels, in_ns)
        ready = [*client.ready, *([hf] if hf else []), *args.depends_on]
        self.job_names = {}
        for key, model in args.models.items():
            job = bench.job_name(key, settings.run_id)
            self.job_names[key] = job
            job_labels = {**labels, **NOT_BACKED_UP, "onprem-llm.io/model": key,
                          "onprem-llm.io/benchmark-run": str(settings.run_id)}
            self._job(f"{name}-{key}", job, job_labels, model, args, hf is not None, ready, in_ns)
        self.register_outputs({"namespace": ns, "jobs": self.job_names})

    def _job(self, resource_name: str, job: str, job_labels: dict[str, str], model: ModelConfig,
             args: SiteBenchmarkArgs, hf_staged: bool, ready: list, in_ns: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
        settings = args.settings
        # A failed level is a result to read, not to retry: the next run is the operator's call.
        return on_demand_job(resource_name, job, self.namespace, job_labels, settings.timeout_seconds, bench.pod_spec(
            model, settings, args.cost, args.gateway_url, args.site, token_secret="benchmark-token", ca_secret=CA_SECRET,
            hf_token_secret="hf-token" if hf_staged and model.source == "huggingface" else None,
            pull_secret=_k8s.PULL_SECRET, service_account="vllm-bench"), ready, in_ns)
