"""VllmService: one OpenAI-compatible vLLM endpoint for one configured model."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.builders import k8s as _k8s
from components.builders import lws, serving_tls
from components.builders.gateway_pods import gateway_proxy_selector
from components.builders.monitoring import MONITOR_LABELS, PROMETHEUS_POD_LABELS, prometheus_url
from components.builders.vllm_pod import (
    API_PORT,
    HF_TOKEN_ENTRY,
    PORT_NAME,
    WEIGHTS_IDENTITY,
    WEIGHTS_SIGNER,
    accepts_previous_key,
    hf_token_volume,
    key_entry,
    labels_for,
    pod_security,
    pod_spec,
    scratch_volumes,
    staging_containers,
)
from components.config import ModelConfig
from components.planning import waits
from components.planning.sizing import Layout
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:VllmService"
ROLE_LABEL = "revision_role"
"""Metric label of every vLLM series: ``current`` or ``candidate`` (the ServiceMonitor sets it)."""
ACCEPTED_KEYS = "onprem-llm.io/api-keys"
"""Pod template annotation: the key generations the replicas accept, so a change of that set rolls them."""
KEY_GENERATION = "onprem-llm.io/api-key-generation"
"""Annotation of the gateway's upstream credential: the generation of the key it sends."""
CHECKOV_SKIPS = {
    # The one secret passed as an environment variable: vLLM has no file option for its key.
    "checkov.io/skip1": "CKV_K8S_35=vLLM reads its API key only from the VLLM_API_KEY environment variable",
}
"""checkov's own suppression annotations on the workload, each with its reason."""
# Weights are re-staged from their source after a disaster; copying tens of GB through backups would not help.
NOT_BACKED_UP = {"velero.io/exclude-from-backup": "true"}


@dataclass(frozen=True)
class ServingCertificate:
    """What vLLM serves HTTPS with (``gateway.upstreamTls``)."""

    certificate: str
    """PEM chain, server certificate first (public: the stack file's ``gateway.upstreamTls.certificate``)."""
    key: pulumi.Input[str]
    """Its private key (the secret ``upstreamTlsKey``)."""


@dataclass(frozen=True)
class VllmServiceArgs:
    model: ModelConfig
    """The model entry from stack config."""
    cluster: ClusterCore
    """Provider, namespaces and storage class of the workload cluster."""
    hf_token: pulumi.Input[str] | None = None
    """Hugging Face token (secret) when the model's source is huggingface."""
    monitoring: pulumi.Resource | None = None
    """The Release that installs the ServiceMonitor CRD (kube-prometheus-stack); None: no monitor."""
    gateway_namespace: str = "api-gateway"
    """Namespace of the gateway's proxy pods, the only callers the model port admits (with Prometheus)."""
    layout: Layout | None = None
    """How a replica sits on the GPU nodes (``capacity.layout_of``); across nodes it is a LeaderWorkerSet group.
    None: one node with tensorParallelSize GPUs."""
    role: str = "current"
    """``current`` (the revision the model serves) or ``candidate`` (a canary beside it, under the same served name):
    every metric series of the replicas carries it as ``revision_role``."""
    shared_weights_claim: str | None = None
    """A candidate with ReadWriteMany weights stages into the current revision's claim (its own revision directory)
    instead of a claim of its own, so removing it deletes no protected volume. None: its own claim."""
    serving_tls: ServingCertificate | None = None
    """vLLM serves HTTPS with this certificate, and its probes and monitor follow. None: plain HTTP."""


class VllmService(pulumi.ComponentResource):
    """Weights storage and staging, the vLLM workload, its Service, autoscaling, isolation and monitor."""

    served_model_name: str
    namespace: str
    service_name: str
    base_url: str
    """In-cluster OpenAI base URL, ``http(s)://<svc>.<ns>.svc.cluster.local:8000/v1`` (https with serving TLS)."""
    host: str
    """The Service's cluster DNS name, which the serving certificate names."""
    tls: bool
    """Whether the replicas serve HTTPS."""
    api_key_secret_name: str
    api_key: pulumi.Output[str]
    """The key the gateway sends (secret), never held by end users: the previous generation's during ``prepare``."""
    api_key_generation: str
    """Generation of ``api_key``, ``g<N>``: the gateway's credential carries it (KEY_GENERATION)."""
    workload_kind: str
    """``Deployment`` (shared ReadWriteMany weights), ``StatefulSet`` (a weights volume per replica), or
    ``LeaderWorkerSet`` (a replica across nodes: one group of pods, with either kind of weights)."""

    def __init__(self, name: str, args: VllmServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        model, cluster = args.model, args.cluster
        self._role, self._shared_claim = args.role, args.shared_weights_claim
        self._on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        self._labels = _k8s.labels("vllm", name, "model-server")
        self._selector = labels_for(name)
        self.namespace = cluster.serving_namespace
        # Never "vllm": Kubernetes would inject VLLM_PORT=tcp://... and vLLM would crash on it.
        self.service_name = f"{name}-api"
        self.served_model_name = model.served_model_name
        self.host = serving_tls.service_host(self.service_name, self.namespace)
        self.tls = args.serving_tls is not None
        self._certificate = args.serving_tls.certificate if args.serving_tls else None
        self.base_url = f"{serving_tls.scheme(self.tls)}://{self.host}:{API_PORT}/v1"
        self.api_key_secret_name = f"{name}-api-key"
        shared_weights = model.weights.access_mode == "ReadWriteMany"
        layout = args.layout or Layout(model.tensor_parallel_size, 1, 1, model.tensor_parallel_size)
        self.workload_kind = "Deployment" if shared_weights else "StatefulSet"
        self._workload_api_version = "apps/v1"
        if layout.multi_node:
            self.workload_kind, self._workload_api_version = lws.KIND, lws.API_VERSION

        keys = self._api_keys(name, model.api_key_rotation)
        current, previous = keys[model.api_key_rotation % 2], keys[(model.api_key_rotation - 1) % 2]
        sends_previous = model.api_key_stage == "prepare"
        self.api_key = previous if sends_previous else current
        self.api_key_generation = f"g{model.api_key_rotation - 1 if sends_previous else model.api_key_rotation}"
        # Both slots, always: a rotation rewrites the new generation's entry only (key_entry).
        self._secret(f"{name}-api-key", self.api_key_secret_name,
                     {key_entry(model.api_key_rotation): current, key_entry(model.api_key_rotation - 1): previous})
        hf_token_secret = None
        if args.hf_token is not None:
            hf_token_secret = f"{name}-hf-token"
            self._secret(f"{name}-hf-token", hf_token_secret, {HF_TOKEN_ENTRY: args.hf_token})
        # Pods start only once their certificate exists; a renewal updates it in place (the provider's mutable Secrets).
        self._tls_secret = None
        self._after_tls: list[pulumi.Resource] = []
        if args.serving_tls is not None:
            self._tls_secret = serving_tls.secret_name(name)
            self._after_tls = [k8s.core.v1.Secret(
                f"{name}-serving-tls",
                metadata=self._meta(self._tls_secret),
                type="kubernetes.io/tls",
                string_data={"tls.crt": args.serving_tls.certificate, "tls.key": pulumi.Output.secret(args.serving_tls.key)},
                opts=self._on_cluster,
            )]
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=self._meta(name),
            # Neither vLLM nor the download calls the Kubernetes API.
            automount_service_account_token=False,
            opts=self._on_cluster,
        )

        if layout.multi_node:
            workload = self._leader_worker_set(name, model, cluster, hf_token_secret, layout, shared_weights)
        elif shared_weights:
            workload = self._deployment_with_shared_weights(name, model, cluster, hf_token_secret)
        else:
            workload = self._statefulset_with_own_weights(name, model, cluster, hf_token_secret)

        k8s.core.v1.Service(
            f"{name}-api",
            metadata=self._meta(self.service_name),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                # A group's API server runs on its leader; the workers serve no HTTP.
                selector=lws.leader_selector(self._selector) if layout.multi_node else self._selector,
                ports=[k8s.core.v1.ServicePortArgs(name=PORT_NAME, port=API_PORT, target_port=PORT_NAME, protocol="TCP")],
            ),
            # The provider waits until the Service's endpoints are ready, i.e. until a replica has loaded
            # the model: as long as the workload itself, far beyond the 10-minute default.
            opts=pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(
                custom_timeouts=workload_timeouts(model, cluster, staged_in_pod=not shared_weights),
            )),
        )
        self._network_policies(name, model, cluster, args.gateway_namespace, download_selector=(
            {**self._selector, "app.kubernetes.io/component": "model-download"} if shared_weights else self._selector
        ))
        self._autoscaling(name, model, cluster, workload, layout)
        if args.monitoring is not None:
            self._monitor(name, args.monitoring, layout)
        if model.ingress is not None:
            self._ingress(name, model)

        self.register_outputs({
            "servedModelName": self.served_model_name,
            "baseUrl": self.base_url,
            "apiKeySecretName": self.api_key_secret_name,
        })

    # -- small helpers ---------------------------------------------------------------------------

    def _meta(self, object_name: str, **extra) -> k8s.meta.v1.ObjectMetaArgs:
        return _k8s.metadata(object_name, self.namespace, self._labels, **extra)

    def _api_keys(self, name: str, generation: int) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """Two key slots, even and odd generations: a rotation replaces only the new generation's slot, so the
        previous key is still there to be accepted while the gateway switches."""
        slots = []
        for parity, suffix in ((0, ""), (1, "-odd")):
            latest = generation if generation % 2 == parity else generation - 1
            key = random.RandomPassword(f"{name}-api-key{suffix}", length=48, special=False,
                                        keepers={"rotation": str(latest)}, opts=pulumi.ResourceOptions(parent=self))
            slots.append(pulumi.Output.secret(key.result))
        return slots[0], slots[1]

    def _secret(self, resource_name: str, secret_name: str, entries: dict[str, pulumi.Input[str]]) -> None:
        k8s.core.v1.Secret(
            resource_name,
            metadata=self._meta(secret_name),
            type="Opaque",
            string_data={entry: pulumi.Output.secret(value) for entry, value in entries.items()},
            opts=self._on_cluster,
        )

    def _template(self, name: str, model: ModelConfig, cluster: ClusterCore, weights: k8s.core.v1.VolumeArgs | None,
                  hf_token_secret: str | None, stage_in_pod: bool) -> k8s.core.v1.PodTemplateSpecArgs:
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=self._labels, annotations=self._pod_annotations(model)),
            spec=pod_spec(
                model, service_account=name, api_key_secret=self.api_key_secret_name,
                pull_secret=cluster.image_pull_secret, selector=self._selector, weights=weights,
                hf_token_secret=hf_token_secret, stage_in_pod=stage_in_pod, trust_bundle=bool(cluster.trust_bundle),
                tls_secret=self._tls_secret,
            ),
        )

    def _pod_annotations(self, model: ModelConfig) -> dict[str, str]:
        return {**pod_annotations(model), **serving_tls.pod_annotation(self._certificate)}

    def _after(self, *resources: pulumi.Resource, timeouts: pulumi.CustomTimeouts) -> pulumi.ResourceOptions:
        """Options of a workload: after ``resources`` and its serving certificate, waiting ``timeouts``."""
        return pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(
            depends_on=[*resources, *self._after_tls], custom_timeouts=timeouts))

    # -- the two storage layouts -----------------------------------------------------------------

    def _stage_shared_weights(self, name: str, model: ModelConfig, cluster: ClusterCore,
                              hf_token_secret: str | None) -> tuple[str, k8s.batch.v1.Job]:
        """The protected ReadWriteMany weights claim and the download Job that fills it."""
        if self._shared_claim is not None:
            return self._shared_claim, self._download_job(name, model, cluster, hf_token_secret, self._shared_claim, [])
        claim = f"{name}-weights"
        pvc = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-weights",
            metadata=_k8s.metadata(claim, self.namespace, {**self._labels, **NOT_BACKED_UP}),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"],
                storage_class_name=model.weights.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{model.weights.size_gib}Gi"}),
            ),
            # Tens of GB staged over hours: an update never deletes or replaces it, and a destroy refuses until the
            # operator unprotects it. Retaining it would not help: the destroy deletes its namespace too.
            opts=pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(protect=True)),
        )
        return claim, self._download_job(name, model, cluster, hf_token_secret, claim, [pvc])

    def _download_job(self, name: str, model: ModelConfig, cluster: ClusterCore, hf_token_secret: str | None,
                      claim: str, after: list[pulumi.Resource]) -> k8s.batch.v1.Job:
        download_labels = {**self._labels, "app.kubernetes.io/component": "model-download"}
        staging = waits.download_job_seconds(model.weights.size_gib, cluster.waits)
        return k8s.batch.v1.Job(
            f"{name}-download",
            metadata=_k8s.metadata(f"{name}-download-{model.revision[:8]}", self.namespace, download_labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=6,
                # Kubernetes stops the Job when Pulumi stops waiting for it, not hours later.
                active_deadline_seconds=staging,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=download_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=name,
                        automount_service_account_token=False,
                        enable_service_links=False,
                        image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=cluster.image_pull_secret)],
                        restart_policy="OnFailure",
                        security_context=pod_security(),
                        # With a signature, staging is the init container and the Job completes only once the
                        # verifier passed: the model's workload waits for the Job.
                        **_job_containers(staging_containers(model, hf_token_secret, bool(cluster.trust_bundle))),
                        volumes=scratch_volumes(None) + [_claim_volume(claim, read_only=False)]
                        + hf_token_volume(hf_token_secret, bool(cluster.trust_bundle)),
                    ),
                ),
            ),
            # Pulumi waits for the Job to complete: image pull plus the download at the configured throughput.
            opts=pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(
                depends_on=after, custom_timeouts=_timeouts(staging, staging),
            )),
        )

    def _deployment_with_shared_weights(self, name: str, model: ModelConfig, cluster: ClusterCore,
                                        hf_token_secret: str | None) -> k8s.apps.v1.Deployment:
        claim, job = self._stage_shared_weights(name, model, cluster, hf_token_secret)
        return k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=self._meta(name, annotations=CHECKOV_SKIPS),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No replicas: KEDA owns the count; setting it here would fight the autoscaler.
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    # A new replica must be Ready before an old one goes: never drop the last one.
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
                ),
                # Driver install on a new node, image pull and the model load the config allows.
                progress_deadline_seconds=waits.progress_deadline_seconds(model.startup_timeout_seconds, cluster.waits),
                template=self._template(name, model, cluster, _claim_volume(claim, read_only=True), None, False),
            ),
            # The weights must be staged before any replica starts: vLLM runs with HF_HUB_OFFLINE=1.
            opts=self._after(job, timeouts=workload_timeouts(model, cluster, staged_in_pod=False)),
        )

    def _statefulset_with_own_weights(self, name: str, model: ModelConfig, cluster: ClusterCore,
                                      hf_token_secret: str | None) -> k8s.apps.v1.StatefulSet:
        return k8s.apps.v1.StatefulSet(
            f"{name}-server",
            metadata=self._meta(name, annotations=CHECKOV_SKIPS),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                service_name=self.service_name,
                # Replicas stage and load independently; ordered start-up would only slow scale-out.
                pod_management_policy="Parallel",
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                update_strategy=k8s.apps.v1.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
                # Staged weights outlive the replica and the StatefulSet.
                persistent_volume_claim_retention_policy=k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Retain", when_scaled="Retain",
                ),
                volume_claim_templates=[self._weights_claim_template(model, cluster)],
                template=self._template(name, model, cluster, None, hf_token_secret, True),
            ),
            # Each replica stages its own weights in an init container before the model loads.
            opts=self._after(timeouts=workload_timeouts(model, cluster, staged_in_pod=True)),
        )

    def _weights_claim_template(self, model: ModelConfig, cluster: ClusterCore) -> k8s.core.v1.PersistentVolumeClaimArgs:
        """The ReadWriteOnce weights volume each pod stages for itself."""
        return k8s.core.v1.PersistentVolumeClaimArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(name="weights", labels={**self._labels, **NOT_BACKED_UP}),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=model.weights.storage_class or cluster.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{model.weights.size_gib}Gi"}),
            ),
        )

    # -- a replica across nodes ------------------------------------------------------------------

    def _leader_worker_set(self, name: str, model: ModelConfig, cluster: ClusterCore, hf_token_secret: str | None,
                           layout: Layout, shared_weights: bool) -> k8s.apiextensions.CustomResource:
        """One LeaderWorkerSet group of ``layout.nodes`` pods per replica, its pods open to each other on the group ports."""
        if cluster.leader_worker_set is None:
            raise ValueError(f"model {name} spans {layout.nodes} nodes but the cluster has no LeaderWorkerSet controller; "
                             "TanzuClusterArgs.leader_worker_set installs it")
        # The LeaderWorkerSet CRD and its admission webhooks come with the controller's Release.
        depends: list[pulumi.Resource] = [cluster.leader_worker_set]
        weights, claims = None, None
        if shared_weights:
            claim, job = self._stage_shared_weights(name, model, cluster, hf_token_secret)
            weights = _claim_volume(claim, read_only=True)
            # The weights must be staged before any pod starts: vLLM runs with HF_HUB_OFFLINE=1.
            depends.append(job)
        else:
            claims = [self._weights_claim_template(model, cluster)]

        def template(role: str) -> k8s.core.v1.PodTemplateSpecArgs:
            return k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**self._labels, lws.ROLE_LABEL: role},
                                                    annotations=self._pod_annotations(model)),
                spec=lws.group_pod_spec(
                    model, layout, role, service_account=name, api_key_secret=self.api_key_secret_name,
                    pull_secret=cluster.image_pull_secret, selector=self._selector, weights=weights,
                    hf_token_secret=None if shared_weights else hf_token_secret, stage_in_pod=not shared_weights,
                    trust_bundle=bool(cluster.trust_bundle), tls_secret=self._tls_secret,
                ),
            )

        net = k8s.networking.v1
        net.NetworkPolicy(f"{name}-group-ingress", metadata=self._meta(f"{name}-group-ingress"),
                          spec=lws.group_ingress_spec(self._selector), opts=self._on_cluster)
        net.NetworkPolicy(f"{name}-group-egress", metadata=self._meta(f"{name}-group-egress"),
                          spec=lws.group_egress_spec(self._selector), opts=self._on_cluster)
        staged = not shared_weights
        return k8s.apiextensions.CustomResource(
            f"{name}-server",
            api_version=lws.API_VERSION,
            kind=lws.KIND,
            # Pulumi waits until at least the minimum of groups is Ready, as it does for a Deployment.
            metadata=self._meta(name, annotations={"pulumi.com/waitFor": "condition=Available"}),
            spec=lws.leader_worker_set_spec(layout, template(lws.LEADER), template(lws.WORKER), claims),
            opts=pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(
                depends_on=[*depends, *self._after_tls],
                custom_timeouts=_timeouts(
                    waits.workload_create_seconds(model.startup_timeout_seconds, cluster.waits, staged_in_pod=staged,
                                                  size_gib=model.weights.size_gib),
                    waits.workload_update_seconds(model.startup_timeout_seconds, model.replicas.max, cluster.waits,
                                                  staged_in_pod=staged, size_gib=model.weights.size_gib),
                ),
            )),
        )

    # -- traffic, scaling, monitoring ------------------------------------------------------------

    def _network_policies(self, name: str, model: ModelConfig, cluster: ClusterCore, gateway_namespace: str,
                          download_selector: dict[str, str]) -> None:
        net = k8s.networking.v1
        # vLLM checks its key only under /v1: /invocations runs inference without it, and /pooling, /score,
        # /rerank, /tokenize, /metrics and /docs are open. So the port admits the gateway's proxy pods (which
        # route only /v1 paths and carry the caller's identity) and the Prometheus pods, each by pod and
        # namespace; no other pod of those namespaces, and no other namespace.
        def peer(namespace: str, pods: dict[str, str]) -> net.NetworkPolicyPeerArgs:
            return net.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace}),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pods),
            )

        net.NetworkPolicy(
            f"{name}-api-ingress",
            metadata=self._meta(f"{name}-api-ingress"),
            spec=net.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                policy_types=["Ingress"],
                ingress=[net.NetworkPolicyIngressRuleArgs(
                    from_=[peer(gateway_namespace, gateway_proxy_selector(gateway_namespace)),
                           peer(cluster.monitoring_namespace, PROMETHEUS_POD_LABELS)],
                    ports=[net.NetworkPolicyPortArgs(protocol="TCP", port=API_PORT)],
                )],
            ),
            opts=self._on_cluster,
        )
        net.NetworkPolicy(
            f"{name}-download-egress",
            metadata=self._meta(f"{name}-download-egress"),
            spec=net.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=download_selector),
                policy_types=["Egress"],
                egress=[net.NetworkPolicyEgressRuleArgs(
                    to=[net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr=cidr)) for cidr in model.download_egress_cidrs],
                    ports=[net.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                )],
            ),
            opts=self._on_cluster,
        )

    def _autoscaling(self, name: str, model: ModelConfig, cluster: ClusterCore, workload: pulumi.Resource,
                     layout: Layout) -> None:
        scaling, replicas = model.autoscaling, model.replicas
        # Each workload scales on its own replicas' series (a candidate's fixed count holds whatever they say).
        role = f'{ROLE_LABEL}="candidate"' if self._role == "candidate" else f'{ROLE_LABEL}!="candidate"'
        labels = f'namespace="{self.namespace}",model_name="{model.served_model_name}",{role}'
        trigger_common = {"type": "prometheus", "metricType": "AverageValue"}
        server = prometheus_url(cluster.monitoring_namespace)
        k8s.apiextensions.CustomResource(
            f"{name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=self._meta(name),
            spec={
                # A LeaderWorkerSet scales whole groups through its scale subresource (leaders' metrics).
                "scaleTargetRef": {"apiVersion": self._workload_api_version, "kind": self.workload_kind, "name": name},
                "pollingInterval": scaling.polling_interval_seconds,
                "cooldownPeriod": scaling.cooldown_seconds,
                "minReplicaCount": replicas.min,
                "maxReplicaCount": replicas.max,
                # Without Prometheus, hold the normal minimum instead of guessing.
                "fallback": {"failureThreshold": 3, "replicas": replicas.min},
                "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                    "scaleDown": {
                        "stabilizationWindowSeconds": scaling.scale_down_stabilization_seconds,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                    },
                    "scaleUp": {
                        "stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                    },
                }}},
                "triggers": [
                    {**trigger_common, "name": "queue-depth", "metadata": {
                        "serverAddress": server,
                        "query": f"sum(vllm:num_requests_waiting{{{labels}}})",
                        "threshold": _number(scaling.queue_per_replica),
                    }},
                    # Summed and divided per replica by AverageValue: the mean KV-cache usage.
                    {**trigger_common, "name": "kv-cache", "metadata": {
                        "serverAddress": server,
                        "query": f"sum(vllm:kv_cache_usage_perc{{{labels}}})",
                        "threshold": _number(scaling.kv_cache_usage),
                    }},
                ],
            },
            # KEDA installs the ScaledObject CRD; without the edge the create races the chart.
            opts=pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(depends_on=[workload, cluster.keda])),
        )
        # A single replica must stay evictable, or node drains would block forever.
        budget = {"min_available": 1} if replicas.min >= 2 else {"max_unavailable": 1}
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=self._meta(name),
            spec=lws.disruption_budget_spec(self._selector) if layout.multi_node else k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector), **budget
            ),
            opts=self._on_cluster,
        )

    def _monitor(self, name: str, monitoring: pulumi.Resource, layout: Layout) -> None:
        # Every series carries the identity of the weights its replica serves (the pod's annotation).
        relabelings = [{"sourceLabels": [_meta_annotation(WEIGHTS_IDENTITY)], "targetLabel": "weights_manifest",
                        "action": "replace"},
                       # The current revision and a candidate share the served name; this tells their series apart.
                       {"targetLabel": ROLE_LABEL, "replacement": self._role, "action": "replace"}]
        endpoint = {"port": PORT_NAME, "path": "/metrics", "interval": "15s", "scheme": serving_tls.scheme(self.tls),
                    "relabelings": relabelings}
        if self.tls:
            endpoint["tlsConfig"] = serving_tls.scrape_tls_config(self.host)
        if layout.multi_node:
            # Each leader speaks for its group: its series carry the group's index.
            relabelings += lws.monitor_relabelings()
        k8s.apiextensions.CustomResource(
            f"{name}-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=_k8s.metadata(name, self.namespace, {**self._labels, **MONITOR_LABELS}),
            spec={
                # Every endpoint's targets share job="vllm" (the Service's app.kubernetes.io/name), which rules use.
                "jobLabel": "app.kubernetes.io/name",
                "selector": {"matchLabels": self._selector},
                "namespaceSelector": {"matchNames": [self.namespace]},
                "endpoints": [endpoint],
            },
            opts=pulumi.ResourceOptions.merge(self._on_cluster, pulumi.ResourceOptions(depends_on=[monitoring])),
        )

    def _ingress(self, name: str, model: ModelConfig) -> None:
        ingress = model.ingress
        net = k8s.networking.v1
        net.Ingress(
            f"{name}-ingress",
            metadata=self._meta(name),
            spec=net.IngressSpecArgs(
                ingress_class_name=ingress.class_name,
                tls=[net.IngressTLSArgs(hosts=[ingress.host], secret_name=ingress.tls_secret)],
                rules=[net.IngressRuleArgs(host=ingress.host, http=net.HTTPIngressRuleValueArgs(paths=[
                    # Only the OpenAI API: /metrics, /health and the admin endpoints stay inside.
                    net.HTTPIngressPathArgs(path="/v1", path_type="Prefix", backend=net.IngressBackendArgs(
                        service=net.IngressServiceBackendArgs(
                            name=self.service_name, port=net.ServiceBackendPortArgs(name=PORT_NAME)
                        ),
                    )),
                ]))],
            ),
            opts=self._on_cluster,
        )


def _job_containers(steps: list[k8s.core.v1.ContainerArgs]) -> dict[str, list[k8s.core.v1.ContainerArgs] | None]:
    """A Job runs its steps in order: all but the last as init containers."""
    return {"init_containers": steps[:-1] or None, "containers": steps[-1:]}


def _claim_volume(claim: str, read_only: bool) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name="weights",
        persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=claim, read_only=read_only),
    )


def workload_timeouts(model: ModelConfig, cluster: ClusterCore, staged_in_pod: bool) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for the model's replicas to be Ready, on create and on a rolling update."""
    size = model.weights.size_gib if staged_in_pod else 0
    return _timeouts(
        waits.workload_create_seconds(model.startup_timeout_seconds, cluster.waits, staged_in_pod=staged_in_pod,
                                      size_gib=size),
        waits.workload_update_seconds(model.startup_timeout_seconds, model.replicas.max, cluster.waits,
                                      staged_in_pod=staged_in_pod, size_gib=size),
    )


def _timeouts(create_seconds: int, update_seconds: int) -> pulumi.CustomTimeouts:
    return pulumi.CustomTimeouts(create=waits.duration(create_seconds), update=waits.duration(update_seconds))


def _meta_annotation(annotation: str) -> str:
    """Prometheus's service-discovery label of a pod annotation: every character outside [a-zA-Z0-9_] becomes '_'."""
    return "__meta_kubernetes_pod_annotation_" + "".join(c if c.isalnum() or c == "_" else "_" for c in annotation)


def _number(value: float) -> str:
    """KEDA takes thresholds as strings; keep integers free of a trailing .0."""
    return str(int(value)) if float(value).is_integer() else str(value)


def pod_annotations(model: ModelConfig) -> dict[str, str]:
    """The key generations the replicas accept, the weights they serve and who signed them: a change rolls the pods."""
    # Only with a signature: an unsigned model's template stays as it was, so adding the check rolls no other model.
    signer = {WEIGHTS_SIGNER: model.weights_signer} if model.weights_signature is not None else {}
    return {**accepted_keys(model), WEIGHTS_IDENTITY: model.weights_identity, **signer}


def accepted_keys(model: ModelConfig) -> dict[str, str]:
    """vLLM reads its keys once at start: the set it accepts is in the pod template, so changing it rolls the pods."""
    generation = model.api_key_rotation
    accepted = [f"g{generation - 1}", f"g{generation}"] if accepts_previous_key(model) else [f"g{generation}"]
    return {ACCEPTED_KEYS: ",".join(accepted)}
