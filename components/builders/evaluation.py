"""The evaluation Job's pod: the site's question set against one revision of a model, through the gateway.

The scoring code is ``components/jobs/evaluate_model.py``, mounted with the question set from one
ConfigMap; it runs with the model's own image (Python 3, standard library only), as a user of a group
the model admits (the token Secret), trusting only the gateway's certificate.
"""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components.builders.vllm_pod import container_security, pod_security
from components.config import ModelConfig
from components.config.model import EvaluationConfig

CONTAINER = "evaluate"
"""The evaluation container: its log (every answer and the record) is shipped to the audit store by name."""

SCRIPTS_DIR = "/evaluation"
SCRIPT_ENTRY = "evaluate_model.py"
QUESTIONS_ENTRY = "questions.json"
TOKEN_DIR = "/var/run/secrets/evaluation"
TOKEN_ENTRY = "token"
CA_DIR = "/var/run/secrets/gateway-ca"
CA_ENTRY = "ca.crt"


def job_name(key: str, role: str, run_id: int) -> str:
    """``<key>-eval-<role>-<runId>``: a new run is a new Job (a Job's template cannot change)."""
    return f"{key}-eval-{role}-{run_id}"


def _env(name: str, value: str) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(name=name, value=value)


def pod_spec(model: ModelConfig, role: str, settings: EvaluationConfig, base_url: str, config_map: str,
             token_secret: str, ca_secret: str, pull_secret: str, service_account: str) -> k8s.core.v1.PodSpecArgs:
    """``model`` is the revision under test (the candidate's own entry for ``role`` candidate)."""
    def mount(name: str, path: str) -> k8s.core.v1.VolumeMountArgs:
        return k8s.core.v1.VolumeMountArgs(name=name, mount_path=path, read_only=True)

    def secret_volume(name: str, secret: str, entry: str) -> k8s.core.v1.VolumeArgs:
        return k8s.core.v1.VolumeArgs(name=name, secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=secret, default_mode=0o400, items=[k8s.core.v1.KeyToPathArgs(key=entry, path=entry)]))

    container = k8s.core.v1.ContainerArgs(
        name=CONTAINER, image=model.image.reference, image_pull_policy="IfNotPresent",
        command=["python3", f"{SCRIPTS_DIR}/{SCRIPT_ENTRY}"],
        env=[
            _env("GATEWAY_BASE_URL", base_url), _env("MODEL_NAME", model.served_model_name),
            _env("REVISION_ROLE", role), _env("WEIGHTS_MANIFEST_DIGEST", model.weights_identity),
            _env("QUESTION_SET", f"{SCRIPTS_DIR}/{QUESTIONS_ENTRY}"), _env("PASS_SCORE", f"{settings.pass_score:g}"),
            _env("MAX_TOKENS", str(settings.max_tokens)), _env("TOKEN_FILE", f"{TOKEN_DIR}/{TOKEN_ENTRY}"),
            # The gateway's certificate chain (gatewayTlsCert) is what the client trusts: TLS stays verified.
            _env("GATEWAY_CA_FILE", f"{CA_DIR}/{CA_ENTRY}"), _env("HOME", "/tmp"),
        ],
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "500m", "memory": "512Mi"},
                                                       limits={"cpu": "500m", "memory": "512Mi"}),
        security_context=container_security(),
        volume_mounts=[mount("evaluation", SCRIPTS_DIR), mount("token", TOKEN_DIR), mount("gateway-ca", CA_DIR),
                       k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
    )
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account, automount_service_account_token=False, enable_service_links=False,
        restart_policy="Never", image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=pull_secret)],
        security_context=pod_security(), containers=[container],
        volumes=[
            k8s.core.v1.VolumeArgs(name="evaluation", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                name=config_map, default_mode=0o444)),
            secret_volume("token", token_secret, TOKEN_ENTRY), secret_volume("gateway-ca", ca_secret, CA_ENTRY),
            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")),
        ],
    )
