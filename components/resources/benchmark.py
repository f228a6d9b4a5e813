"""SiteBenchmark: the measured baseline, one `vllm bench serve` Job per model through the gateway, on demand."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.builders import benchmark as bench
from components.builders import k8s as _k8s
from components.builders.gateway_pods import GATEWAY_PROXY_SELECTOR, PROXY_PORT
from components.builders.vllm_pod import HF_TOKEN_ENTRY
from components.config import ModelConfig
from components.config.model import BenchmarkConfig, CostConfig
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
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        namespace = _k8s.namespace(f"{name}-ns", ns, name, "benchmark", "restricted", cluster.kubernetes_version,
                                   on_cluster)
        in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace]))
        _k8s.baseline_network_policies(name, ns, labels, in_ns)
        # The gateway's proxies on their port (in-cluster calls to the gateway's address reach them there).
        _k8s.network_policy(f"{name}-allow-gateway", "allow-gateway-egress", ns, labels, in_ns, egress=[
            _k8s.to_peers([_k8s.pods_peer(args.gateway_namespace, GATEWAY_PROXY_SELECTOR)], PROXY_PORT)])
        stage_cidrs = sorted({c for m in args.models.values() for c in m.download_egress_cidrs})
        if stage_cidrs:
            # Only the tokenizer's files are fetched, through the same egress as the weights.
            _k8s.network_policy(f"{name}-allow-tokenizer-source", "allow-tokenizer-source-egress", ns, labels, in_ns,
                                egress=[_k8s.to_peers(_k8s.ip_peers(tuple(stage_cidrs)), 443)])
        pull = _k8s.registry_pull_secret(f"{name}-registry-pull", ns, cluster.registry_server,
                                         cluster.registry_username, cluster.registry_password, labels, in_ns)
        token = self._secret(f"{name}-token", "benchmark-token", bench.TOKEN_ENTRY, args.token, labels, in_ns)
        ca = self._secret(f"{name}-gateway-ca", "gateway-ca", bench.CA_ENTRY, args.gateway_certificate, labels, in_ns)
        hf = None
        if args.hf_token is not None and any(m.source == "huggingface" for m in args.models.values()):
            hf = self._secret(f"{name}-hf-token", "hf-token", HF_TOKEN_ENTRY, args.hf_token, labels, in_ns)
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=_k8s.metadata("vllm-bench", ns, labels),
                                             automount_service_account_token=False, opts=in_ns)
        ready = [pull, token, ca, account, *([hf] if hf else []), *args.depends_on]
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
        return k8s.batch.v1.Job(
            resource_name,
            # `pulumi up` does not wait for a sweep of up to timeoutSeconds; the Job's log says how it went.
            metadata=_k8s.metadata(job, self.namespace, job_labels, annotations={"pulumi.com/skipAwait": "true"}),
            spec=k8s.batch.v1.JobSpecArgs(
                # A failed level is a result to read, not to retry: the next run is the operator's call.
                backoff_limit=0,
                active_deadline_seconds=settings.timeout_seconds,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
                    spec=bench.pod_spec(
                        model, settings, args.cost, args.gateway_url, args.site, token_secret="benchmark-token",
                        ca_secret="gateway-ca",
                        hf_token_secret="hf-token" if hf_staged and model.source == "huggingface" else None,
                        pull_secret=_k8s.PULL_SECRET, service_account="vllm-bench"),
                ),
            ),
            # Same name each time the template changes: the old Job goes first.
            opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=ready,
                                                                            delete_before_replace=True)),
        )

    def _secret(self, resource_name: str, secret_name: str, entry: str, value: pulumi.Input[str],
                labels: dict[str, str], opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(resource_name, metadata=_k8s.metadata(secret_name, self.namespace, labels),
                                  type="Opaque", string_data={entry: pulumi.Output.secret(value)}, opts=opts)
