"""ModelEvaluation: the site's question set run against model revisions through the gateway, on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.builders import evaluation as ev
from components.builders import k8s as _k8s
from components.builders.gateway_pods import GATEWAY_PROXY_SELECTOR, PROXY_PORT
from components.config import ModelConfig
from components.config.model import EvaluationConfig
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:ModelEvaluation"
SCRIPT = Path(__file__).parent.parent / "jobs" / "evaluate_model.py"
# The Job's log is the result; the next run (a new runId) replaces it.
NOT_BACKED_UP = {"velero.io/exclude-from-backup": "true"}


@dataclass(frozen=True)
class ModelEvaluationArgs:
    settings: EvaluationConfig
    questions: dict[str, Any]
    """The question set (evaluation.questionSet, read and checked by config)."""
    targets: dict[str, tuple[str, ModelConfig]]
    """Per model key, the revision to evaluate: (``candidate`` or ``current``, that revision's model entry)."""
    cluster: ClusterCore
    gateway_url: str
    """https://<gateway host>: the evaluation calls it as users do."""
    gateway_namespace: str
    token: pulumi.Input[str]
    """Bearer token of a group the models admit (secret evaluationToken)."""
    gateway_certificate: pulumi.Input[str]
    depends_on: tuple[pulumi.Resource, ...] = ()
    """The gateway and the model endpoints: a Job runs once they exist."""


class ModelEvaluation(pulumi.ComponentResource):
    """Namespace (restricted, default-deny), the question set and script, the token and CA Secrets, and the Jobs."""

    namespace: str
    job_names: dict[str, str]
    """Per model key, the Job of this run: `kubectl logs job/<name>` ends with the record to copy into config."""

    def __init__(self, name: str, args: ModelEvaluationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cluster, settings = args.cluster, args.settings
        self.namespace = ns = settings.namespace
        labels = _k8s.labels("model-evaluation", name, "evaluation")
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        namespace = _k8s.namespace(f"{name}-ns", ns, name, "evaluation", "restricted", cluster.kubernetes_version,
                                   on_cluster)
        in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace]))
        _k8s.baseline_network_policies(name, ns, labels, in_ns)
        # Only the gateway's proxies: the evaluation reaches a model as a user does, never its Service.
        _k8s.network_policy(f"{name}-allow-gateway", "allow-gateway-egress", ns, labels, in_ns, egress=[
            _k8s.to_peers([_k8s.pods_peer(args.gateway_namespace, GATEWAY_PROXY_SELECTOR)], PROXY_PORT)])
        pull = _k8s.registry_pull_secret(f"{name}-registry-pull", ns, cluster.registry_server,
                                         cluster.registry_username, cluster.registry_password, labels, in_ns)
        token = self._secret(f"{name}-token", "evaluation-token", ev.TOKEN_ENTRY, args.token, labels, in_ns)
        ca = self._secret(f"{name}-gateway-ca", "gateway-ca", ev.CA_ENTRY, args.gateway_certificate, labels, in_ns)
        scripts = k8s.core.v1.ConfigMap(f"{name}-questions", metadata=_k8s.metadata("evaluation", ns, labels), data={
            ev.SCRIPT_ENTRY: SCRIPT.read_text(), ev.QUESTIONS_ENTRY: json.dumps(args.questions, indent=2, sort_keys=True),
        }, opts=in_ns)
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=_k8s.metadata("model-evaluation", ns, labels),
                                             automount_service_account_token=False, opts=in_ns)
        ready = [pull, token, ca, scripts, account, *args.depends_on]
        self.job_names = {}
        for key, (role, model) in args.targets.items():
            job = ev.job_name(key, role, settings.run_id)
            self.job_names[key] = job
            job_labels = {**labels, **NOT_BACKED_UP, "onprem-llm.io/model": key, "onprem-llm.io/revision-role": role,
                          "onprem-llm.io/evaluation-run": str(settings.run_id)}
            k8s.batch.v1.Job(
                f"{name}-{key}",
                # `pulumi up` does not wait for the answers; the Job's log is the record.
                metadata=_k8s.metadata(job, ns, job_labels, annotations={"pulumi.com/skipAwait": "true"}),
                spec=k8s.batch.v1.JobSpecArgs(
                    # A failing score is a result to read, not to retry.
                    backoff_limit=0,
                    active_deadline_seconds=settings.timeout_seconds,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
                        spec=ev.pod_spec(model, role, settings, f"{args.gateway_url}/v1", "evaluation",
                                         "evaluation-token", "gateway-ca", _k8s.PULL_SECRET, "model-evaluation"),
                    ),
                ),
                # Same name each time the template changes: the old Job goes first.
                opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=ready,
                                                                                delete_before_replace=True)),
            )
        self.register_outputs({"namespace": ns, "jobs": self.job_names})

    def _secret(self, resource_name: str, secret_name: str, entry: str, value: pulumi.Input[str],
                labels: dict[str, str], opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(resource_name, metadata=_k8s.metadata(secret_name, self.namespace, labels),
                                  type="Opaque", string_data={entry: pulumi.Output.secret(value)}, opts=opts)
