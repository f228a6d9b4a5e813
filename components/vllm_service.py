"""VllmService: one OpenAI-compatible vLLM endpoint for one configured model."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import _k8s
from components.config import ModelConfig
from components.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:VllmService"
API_PORT = 8000


@dataclass(frozen=True)
class VllmServiceArgs:
    model: ModelConfig
    """The model entry from stack config."""
    cluster: ClusterCore
    """Provider and namespaces of the workload cluster."""
    hf_token: pulumi.Input[str] | None = None
    """Hugging Face token (secret) when the model's source is huggingface."""


class VllmService(pulumi.ComponentResource):
    """The model's identity, credentials and in-cluster address.

    The serving workload (weights volumes, download Job, Deployment, Service, autoscaling,
    NetworkPolicy and monitors) is not built yet; see README "Status".
    """

    served_model_name: str
    namespace: str
    service_name: str
    base_url: str
    """In-cluster OpenAI base URL, ``http://<svc>.<ns>.svc.cluster.local:8000/v1``."""
    api_key_secret_name: str
    api_key: pulumi.Output[str]
    """The endpoint's API key (secret); held by the gateway, never by end users."""

    def __init__(self, name: str, args: VllmServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        model, cluster = args.model, args.cluster
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        object_labels = _k8s.labels("vllm", name, "model-server")

        self.namespace = cluster.serving_namespace
        # Never "vllm": Kubernetes would inject VLLM_PORT=tcp://... and vLLM would crash on it.
        self.service_name = f"{name}-api"
        self.served_model_name = model.served_model_name
        self.base_url = f"http://{self.service_name}.{self.namespace}.svc.cluster.local:{API_PORT}/v1"
        self.api_key_secret_name = f"{name}-api-key"

        api_key = random.RandomPassword(
            f"{name}-api-key", length=48, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.api_key = pulumi.Output.secret(api_key.result)
        k8s.core.v1.Secret(
            f"{name}-api-key",
            metadata=_k8s.metadata(self.api_key_secret_name, self.namespace, object_labels),
            type="Opaque",
            string_data={"api-key": self.api_key},
            opts=on_cluster,
        )
        if args.hf_token is not None:
            k8s.core.v1.Secret(
                f"{name}-hf-token",
                metadata=_k8s.metadata(f"{name}-hf-token", self.namespace, object_labels),
                type="Opaque",
                string_data={"token": pulumi.Output.secret(args.hf_token)},
                opts=on_cluster,
            )
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=_k8s.metadata(name, self.namespace, object_labels),
            # vLLM never calls the Kubernetes API.
            automount_service_account_token=False,
            image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=cluster.image_pull_secret)],
            opts=on_cluster,
        )
        self.register_outputs({
            "servedModelName": self.served_model_name,
            "baseUrl": self.base_url,
            "apiKeySecretName": self.api_key_secret_name,
        })
