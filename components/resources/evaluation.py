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
from components.config import ModelConfig
from components.config.model import EvaluationConfig
from components.resources.gateway_client import CA_SECRET, gateway_client, on_demand_job
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
        client = gateway_client(name, self, cluster, ns, "evaluation", labels, args.gateway_namespace,
                                ("evaluation-token", ev.TOKEN_ENTRY, args.token),
                                (ev.CA_ENTRY, args.gateway_certificate), "model-evaluation")
        scripts = k8s.core.v1.ConfigMap(f"{name}-questions", metadata=_k8s.metadata("evaluation", ns, labels), data={
            ev.SCRIPT_ENTRY: SCRIPT.read_text(), ev.QUESTIONS_ENTRY: json.dumps(args.questions, indent=2, sort_keys=True),
        }, opts=client.in_namespace)
        ready = [*client.ready, scripts, *args.depends_on]
        self.job_names = {}
        for key, (role, model) in args.targets.items():
            job = ev.job_name(key, role, settings.run_id)
            self.job_names[key] = job
            job_labels = {**labels, **NOT_BACKED_UP, "onprem-llm.io/model": key, "onprem-llm.io/revision-role": role,
                          "onprem-llm.io/evaluation-run": str(settings.run_id)}
            # A failing score is a result to read, not to retry.
            on_demand_job(f"{name}-{key}", job, ns, job_labels, settings.timeout_seconds,
                          ev.pod_spec(model, role, settings, f"{args.gateway_url}/v1", "evaluation", "evaluation-token",
                                      CA_SECRET, _k8s.PULL_SECRET, "model-evaluation"), ready, client.in_namespace)
        self.register_outputs({"namespace": ns, "jobs": self.job_names})
