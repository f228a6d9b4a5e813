"""The stack configuration's shape: one pydantic model per section, with field-level rules.

Keys are camelCase in the stack files (``tensorParallelSize``) and snake_case in Python. Secrets
are never part of these models: they are read as Pulumi secret Outputs (see ``SECRET_KEYS``) and
only their presence is validated. Rules spanning fields live in ``components.config_rules``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from components.config import fields as f
from components.config.certificates import server_chain
from components.config.fields import at_most, checked
from components.jobs.stage_weights import manifest_digest
from components.jobs.verify_signature import key_fingerprint as public_key_fingerprint

PROJECT = "onprem-llm"
"""Pulumi project name; the config namespace of every key below."""

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

# Field types: the plain Python type (what the config reference prints) plus the parser of its grammar.
Bool = Annotated[bool, Strict()]
Label = Annotated[str, checked(f.dns_label)]
Namespace = Annotated[str, checked(f.namespace)]
Namespaces = Annotated[tuple[str, ...], checked(f.namespaces)]
K8sName = Annotated[str, checked(f.dns_subdomain)]
MaybeK8sName = Annotated[str | None, checked(f.dns_subdomain)]
Host = Annotated[str, checked(f.host)]
DnsHost = Annotated[str, checked(lambda v: f.host(v, allow_ip=False, allow_wildcard=True,
                                                  example="llm.hospital.example"))]
Registry = Annotated[str, checked(f.registry_host)]
Registries = Annotated[tuple[str, ...], checked(lambda values: [f.registry_host(v) for v in values],
                                                f.no_duplicates)]
HttpsUrl = Annotated[str, checked(f.url)]
MaybeHttpsUrl = Annotated[str | None, checked(f.url)]
IssuerUrl = Annotated[str, checked(lambda v: f.url(v, allow_query=False), f.issuer)]
LinkUrl = Annotated[str, checked(lambda v: f.url(v, https=False, allow_relative=True,
                                                 example="https://git.hospital.example/platform/runbook"),
                                 f.no_fragment)]
Email = Annotated[str, checked(f.email)]
MaybeEmail = Annotated[str | None, checked(f.email)]
Emails = Annotated[tuple[str, ...], checked(f.emails)]
Cidr = Annotated[str, checked(f.cidr)]
Cidrs = Annotated[tuple[str, ...], checked(f.cidrs)]
ImageRepository = Annotated[str, checked(f.image_repository)]
Group = Annotated[str, checked(f.group_name)]
# Numbers with a plausible maximum; the message names the unit and the slip that usually produces the value.
DrMinutes = Annotated[int, at_most(1440, "minutes", ("seconds", 60))]
RetentionHours = Annotated[int, at_most(131400, "hours", ("minutes", 60))]
DiskGiB = Annotated[int, at_most(16384, "GiB", ("MiB", 1024))]
Tokens = Annotated[int, at_most(10_485_760, "tokens")]
# A layout dimension of a replica: a number, or `auto` for the capacity plan to choose.
TensorParallel = Annotated[int | Literal["auto"], BeforeValidator(lambda v: f.layout_size(v, 8, "GPUs"))]
NodesPerReplica = Annotated[int | Literal["auto"], BeforeValidator(lambda v: f.layout_size(v, 16, "nodes"))]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic would read true as 1; YAML's true is a boolean, so a number field refuses it."""
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        if isinstance(value, bool) and annotation in (int, float, int | None, float | None):
            raise ValueError(f"must be a number; YAML read {str(value).lower()} as a boolean")
        return value

    @field_validator("*")
    @classmethod
    def _text_is_plain(cls, value: Any) -> Any:
        """No field holds typographic quotes, surrounding blanks or control characters."""
        texts = [value] if isinstance(value, str) else []
        if isinstance(value, (tuple, list)):
            texts = [v for v in value if isinstance(v, str)]
        elif isinstance(value, dict):
            texts = [t for k, v in value.items() for t in (k, v) if isinstance(t, str)]
        for text in texts:
            f.plain_text(text)
        return value


# ---------------------------------------------------------------------------------------------
# vSphere
# ---------------------------------------------------------------------------------------------


class VsphereConfig(_Model):
    """Connection to one vCenter and the existing inventory objects the platform is placed on."""

    server: Host = Field(description="vCenter FQDN. The password is the secret `vspherePassword`.")
    user: Annotated[str, checked(f.vsphere_user)] = Field(
        description="Dedicated automation account (never administrator@vsphere.local)."
    )
    allow_unverified_ssl: Bool = Field(
        False, description="Skip vCenter TLS verification. Refused in production. Default: false."
    )
    datacenter: str = Field(description="Datacenter name, looked up in vCenter.")
    compute_cluster: str = Field(description="Compute cluster holding the GPU hosts, looked up by name.")
    datastore: str = Field(description="Datastore for platform VMs, looked up by name.")
    workload_network: str = Field(description="Port group of the workload network, looked up by name.")
    storage_policy: Annotated[str, checked(f.storage_policy)] = Field(
        description="Name of the existing encryption VM storage policy; becomes the cluster's storage class."
    )


# ---------------------------------------------------------------------------------------------
# Tanzu
# ---------------------------------------------------------------------------------------------


class ControlPlaneConfig(_Model):
    """Control-plane nodes of the workload cluster."""

    replicas: Literal[1, 3] = Field(
        1, description="Control-plane nodes: 1 (no HA) or 3 (HA etcd). Default: 1."
    )
    vm_class: MaybeK8sName = Field(
        None, description="VM class of control-plane nodes. Default: the platform's CPU-only system class."
    )


class RegistryConfig(_Model):
    """The private registry every image is pulled from."""

    server: Registry = Field(description="Private registry (Harbor) host serving all platform images.")
    username: Annotated[str, checked(lambda v: f._one_line(v, "user name"))] = Field(
        description="Robot account; the password is the secret `registryPassword`.")
    air_gapped: Bool = Field(
        True,
        description="Pull every Helm chart from the registry's OCI mirror (`oci://<server>/<chartPath>/<chart>`) "
        "instead of its upstream repository, so `pulumi up` reaches nothing outside the site. Images always come "
        "from `server`. Default: true.",
    )
    chart_path: Annotated[str, checked(f.registry_path)] = Field(
        "charts",
        description="Project (path) in the registry holding the mirrored charts. Default: charts.",
    )
    image_digests: Annotated[dict[str, str], checked(f.image_digests)] = Field(
        default_factory=dict,
        description="Digest of each image as this registry holds it: `<path>:<tag>` (the path under `server`, "
        "e.g. `kedacore/keda:2.20.2`) to `sha256:...`, as the mirror step reports it (`crane digest "
        "<server>/<path>:<tag>`). Every chart's values and every image the program adds pull by this digest; "
        "with compliance.requireImageDigest the preview refuses an image that has none. A digest artifacts.lock.json "
        "records for an image must be the same. Default: none.",
    )
    chart_digests: Annotated[dict[str, str], checked(f.chart_digests)] = Field(
        default_factory=dict,
        description="OCI manifest digest of each chart in the chart mirror (chart name to `sha256:...`, as `helm push` "
        "prints it). With airGapped the Release pulls `oci://<server>/<chartPath>/<chart>@<digest>` and helm refuses "
        "other content; with compliance.requireImageDigest the preview refuses a chart without one. Default: none.",
    )

    def digest_of(self, path_and_tag: str, locked: str | None = None) -> str | None:
        """The digest to pull ``<path>:<tag>`` by: the site's, else the one the lock records."""
        return self.image_digests.get(path_and_tag) or locked


class NamespaceGrantConfig(_Model):
    """One principal's role on the vSphere Namespace the program creates (vCenter's namespace permissions)."""

    principal: Annotated[str, checked(f.vsphere_principal)] = Field(
        description="vCenter user or group, DOMAIN\\name or name@domain (an SSO domain or the Supervisor's identity "
        "source), e.g. HOSPITAL.EXAMPLE\\llm-operators.")
    type: Literal["user", "group"] = Field(description="`user` or `group`.")
    role: Literal["view", "edit", "owner"] = Field(
        description="`view` (read the namespace), `edit` (create and change what runs in it, the workload cluster "
        "included) or `owner` (also change and delete the namespace itself).")


class TanzuConfig(_Model):
    """The Supervisor namespace and the workload cluster."""

    supervisor_id: Annotated[str, checked(f.supervisor_id)] = Field(
        description="Id of the vSphere Supervisor (its compute cluster's managed object id, e.g. domain-c8)."
    )
    supervisor_namespace: Namespace = Field(
        description="vSphere Namespace the program creates on the Supervisor to hold the cluster."
    )
    cluster_name: Label = Field(description="Workload cluster name.")
    cluster_api: Literal["clusterclass", "tkc"] = Field(
        "clusterclass",
        description="Cluster object: Cluster API `Cluster` on a ClusterClass, or `TanzuKubernetesCluster` v1alpha3. "
        "Default: clusterclass.",
    )
    cluster_class: K8sName = Field(
        "tanzukubernetescluster",
        description="ClusterClass of the Cluster (newer VKS ships versioned classes). Default: tanzukubernetescluster.",
    )
    trusted_cas: Annotated[dict[str, str], checked(lambda cas: [
        (f.dns_subdomain(name), f.base64_pem(pem)) for name, pem in cas.items()])] = Field(
        default_factory=dict,
        description="Extra CAs the nodes trust (name to base64 PEM), e.g. the registry's private CA. Default: none.",
    )
    tkr: Annotated[str, checked(f.tkr)] = Field(
        description="Pinned Tanzu Kubernetes release, e.g. v1.32.0---vmware.6-fips-vkr.2 (1.32 or newer: the Envoy "
        "Gateway and AI gateway charts need it)."
    )
    kubernetes_version: Annotated[str, checked(f.kubernetes_minor)] = Field(
        description="Kubernetes minor of the TKr (e.g. 1.32); pins Pod Security label versions, chart rendering and "
        "schema checks.",
    )
    control_plane: ControlPlaneConfig = Field(default_factory=ControlPlaneConfig, description="Control plane sizing.")
    pod_cidr: Cidr = Field("192.168.0.0/16", description="Pod CIDR. Default: 192.168.0.0/16.")
    service_cidr: Cidr = Field("10.96.0.0/12", description="Service CIDR. Default: 10.96.0.0/12.")
    serving_namespace: Namespace = Field(
        "llm-serving", description="Namespace of the vLLM endpoints. Default: llm-serving."
    )
    monitoring_namespace: Namespace = Field(
        "monitoring", description="Namespace of the monitoring stack. Default: monitoring."
    )
    gateway_namespaces: Namespaces = Field(
        ("api-gateway",),
        description="The gateway's namespace and the consuming applications' namespaces, published in the outputs. "
        "The model port admits only the gateway's proxy pods (and Prometheus), whatever this lists: consumers call "
        "the gateway with their own tokens. Default: [api-gateway].",
    )
    namespace_access: tuple[NamespaceGrantConfig, ...] | None = Field(
        None,
        description="Who may use the vSphere Namespace: one entry per principal, granted through vCenter's namespace "
        "access API entry by entry (entries other principals hold are never touched). The identity behind "
        "supervisorKubeconfig needs `edit` to create the workload cluster unless it is a vCenter administrator. "
        "Default: vsphere.user `edit` and access.vsphereOperatorGroup `view`.")
    registry: RegistryConfig = Field(description="Private image registry and its pull account.")
    api_server_cidrs: Cidrs = Field(
        ("0.0.0.0/0",),
        description="Addresses of the cluster's API server: the control-plane VIP and the control-plane nodes' network. "
        "Operators in default-deny namespaces reach them on 443 and 6443, and webhooks and the KEDA metrics adapter "
        "admit calls from them (the API server calls out from its nodes). Required in production. Default: any "
        "address.",
    )

    @field_validator("gateway_namespaces")
    @classmethod
    def _someone_can_call(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one gateway namespace is needed, or no one can reach the models; "
                             "e.g. [api-gateway]")
        return value


# ---------------------------------------------------------------------------------------------
# GPU host pool
# ---------------------------------------------------------------------------------------------


class ResourcePoolConfig(_Model):
    """Reservations of the vSphere resource pool that holds the GPU workers."""

    cpu_reservation_mhz: Annotated[int, at_most(50_000_000, "MHz")] = Field(
        0, ge=0, description="CPU reserved for GPU workloads, MHz. Default: 0.")
    memory_reservation_mib: Annotated[int, at_most(268_435_456, "MiB", ("KiB", 1024))] = Field(
        0, ge=0, description="Memory reserved for GPU workloads, MiB. Default: 0.")


class GpuPoolConfig(_Model):
    """The GPU worker nodes: how many, what they hold, and how the GPU reaches the VM."""

    gpu_model: str = Field(
        description="GPU model in the hosts: A10, L4, L40S, A100-40GB, A100-80GB, H100-PCIe, H100-SXM, H200, "
        "or a key of catalog.gpus."
    )
    mode: Literal["vgpu", "passthrough"] = Field(
        "vgpu", description="How GPUs reach node VMs: NVIDIA vGPU profiles or DirectPath passthrough. Default: vgpu."
    )
    vgpu_profile: Annotated[str | None, checked()] = Field(
        None, description="vGPU profile of a full GPU, e.g. grid_a100-80c. Required in vgpu mode, unset otherwise."
    )
    nodes: int = Field(ge=1, le=64, description="GPU worker nodes (one VM each).")
    gpus_per_node: int = Field(1, ge=1, le=8, description="GPUs attached to each worker VM. Default: 1.")
    inter_node_gbps: Annotated[float, at_most(3200, "Gbit/s", ("Mbit/s", 1000))] = Field(
        100, gt=0,
        description="Network bandwidth between two GPU worker VMs, Gbit/s: a replica across nodes "
        "(models.<name>.nodesPerReplica) sends activations between its pipeline stages over it, and a tensor-parallel "
        "group across nodes all-reduces over it. The design document recommends 100; measure yours (iperf3 between "
        "two GPU nodes). Default: 100.",
    )
    node_cpus: int = Field(16, ge=4, le=256, description="vCPUs per GPU worker. Default: 16.")
    node_memory_gib: Annotated[int, at_most(4096, "GiB", ("MiB", 1024))] = Field(
        128, ge=16, description="Memory per GPU worker, GiB (fully reserved). Default: 128.")
    existing_vm_class: MaybeK8sName = Field(
        None,
        description="Passthrough only: an administrator-made VM class carrying the DirectPath I/O device "
        "(pulumi-vsphere cannot express one). Unset in vgpu mode.",
    )
    containerd_disk_gib: DiskGiB = Field(200, ge=50, description="GPU node disk for /var/lib/containerd, GiB. Default: 200.")
    kubelet_disk_gib: DiskGiB = Field(70, ge=20, description="GPU node disk for /var/lib/kubelet, GiB. Default: 70.")
    system_nodes: int = Field(2, ge=1, le=16, description="CPU-only worker nodes for cluster services. Default: 2.")
    system_node_cpus: int = Field(8, ge=2, le=64, description="vCPUs of control-plane and system nodes. Default: 8.")
    system_node_memory_gib: Annotated[int, at_most(512, "GiB", ("MiB", 1024))] = Field(
        32, ge=8, description="Memory of control-plane and system nodes, GiB. Default: 32."
    )
    alarm_email: MaybeEmail = Field(
        None, description="Address vCenter mails when a GPU host disconnects or turns red. Default: no e-mail action."
    )
    resource_pool: ResourcePoolConfig = Field(
        default_factory=ResourcePoolConfig, description="Reservations of the GPU resource pool."
    )

    @property
    def total_gpus(self) -> int:
        return self.nodes * self.gpus_per_node


# ---------------------------------------------------------------------------------------------
# Cluster add-ons
# ---------------------------------------------------------------------------------------------


class GpuOperatorConfig(_Model):
    """NVIDIA GPU Operator settings that depend on the site."""

    namespace: Namespace = Field("gpu-operator", description="Namespace of the operator. Default: gpu-operator.")
    driver_repository: ImageRepository = Field(
        description="Registry path of the guest driver image: the NVIDIA AI Enterprise vGPU guest driver mirrored "
        "into the private registry (vgpu), or a mirror of nvcr.io/nvidia (passthrough)."
    )
    driver_version: Annotated[str, checked(f.driver_version)] = Field(
        description="Guest driver version; in vgpu mode it must match the branch of the host's vGPU Manager."
    )
    license_server_cidrs: Annotated[tuple[str, ...] | None, checked(f.cidrs)] = Field(
        None,
        description="Addresses of the NVIDIA License System (DLS appliance or CLS) the vGPU guest driver reaches on "
        "443; required in vgpu mode in production. Default: none (the operator namespace reaches only the API server).",
    )


class AddonsConfig(_Model):
    """Cluster add-ons installed from pinned Helm charts."""

    gpu_operator: GpuOperatorConfig = Field(description="NVIDIA GPU Operator.")
    keda_namespace: Namespace = Field("keda", description="Namespace of KEDA. Default: keda.")
    lws_namespace: Namespace = Field(
        "lws-system",
        description="Namespace of the LeaderWorkerSet controller, installed when a model spans nodes "
        "(models.<name>.nodesPerReplica above 1). Default: lws-system.",
    )


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


class ImageConfig(_Model):
    """A container image pinned by tag and digest."""

    repository: ImageRepository = Field(
        description="Image repository in the private registry, e.g. harbor.example/vllm/vllm-openai.")
    tag: Annotated[str, checked(f.image_tag)] = Field(description="Release tag; never `latest`.")
    digest: Annotated[str | None, checked(f.image_digest)] = Field(
        None, description="Content digest; required when compliance.requireImageDigest."
    )

    @property
    def reference(self) -> str:
        ref = f"{self.repository}:{self.tag}"
        return f"{ref}@{self.digest}" if self.digest else ref

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]


class ReplicaConfig(_Model):
    """Replica bounds of one model endpoint."""

    min: int = Field(1, ge=1, description="Replicas kept running (cold start takes minutes). Default: 1.")
    max: Annotated[int, at_most(512, "replicas")] = Field(1, ge=1, description="Upper bound for the autoscaler. Default: 1.")


class WeightsVolumeConfig(_Model):
    """Where a model's weights live: volumes pre-staged once, read by vLLM offline."""

    size_gib: Annotated[int, at_most(10240, "GiB", ("MiB", 1024))] = Field(
        ge=1, description="Size of each weights volume, GiB; hold two revisions while one replaces the other.")
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = Field(
        "ReadWriteOnce",
        description="ReadWriteOnce: one volume per replica (vSphere CSI block volumes; a StatefulSet stages each). "
        "ReadWriteMany: one shared volume filled by a download Job (needs vSAN File Services). Default: ReadWriteOnce.",
    )
    storage_class: MaybeK8sName = Field(
        None, description="Storage class; required for ReadWriteMany. Default: the cluster's encrypted class."
    )


class ResourcesConfig(_Model):
    """Host resources of one vLLM replica; requests equal limits (Guaranteed QoS)."""

    cpu: int = Field(8, ge=1, le=128, description="vCPUs. Default: 8.")
    memory_gib: Annotated[int, at_most(1024, "GiB", ("MiB", 1024))] = Field(
        48, ge=4, description="Memory, GiB, excluding /dev/shm (added on top). Default: 48."
    )


class AutoscalingConfig(_Model):
    """KEDA scaling on queue depth and KV-cache pressure read from Prometheus."""

    queue_per_replica: Annotated[float, at_most(1000, "waiting requests")] = Field(
        4, gt=0, description="Waiting requests per replica that trigger a scale-out. Default: 4."
    )
    kv_cache_usage: float = Field(
        0.8, gt=0, le=1, description="Mean KV-cache usage (0-1) that triggers a scale-out. Default: 0.8."
    )
    polling_interval_seconds: Annotated[int, at_most(3600, "seconds", ("milliseconds", 1000))] = Field(
        15, ge=5, description="KEDA polling interval, seconds. Default: 15.")
    cooldown_seconds: Annotated[int, at_most(86400, "seconds", ("milliseconds", 1000))] = Field(
        300, ge=0, description="KEDA cooldown period, seconds. Default: 300.")
    scale_down_stabilization_seconds: Annotated[int, at_most(3600, "seconds (the HPA maximum)",
                                                              ("milliseconds", 1000))] = Field(
        300, ge=0, description="HPA scale-down stabilisation window, seconds. Default: 300."
    )


class IngressConfig(_Model):
    """Optional TLS Ingress in front of the endpoint (the gateway is the preferred entry)."""

    host: DnsHost = Field(description="Host name clients use.")
    tls_secret: K8sName = Field(description="Existing TLS Secret in the serving namespace.")
    class_name: MaybeK8sName = Field(None, description="IngressClass. Default: the cluster default.")


class WeightsSignatureConfig(_Model):
    """The site's OpenSSF model-signing signature of a revision, verified before the model may start.

    The staging step fetches the signature file from the mirror beside the weights; a verifier container (the
    image of images/weights-verifier/, which installs the pinned ``model-signing``) then checks that the signature
    is valid for the configured signer and covers exactly the staged files, each with its signed digest."""

    method: Literal["key", "certificate", "sigstore"] = Field(
        description="How the revision was signed (`model_signing sign <method>`): `key` (an EC private key; "
        "publicKey verifies), `certificate` (a key with a certificate of the site's PKI; caChain and identity "
        "verify) or `sigstore` (keyless, logged in a Sigstore instance; identity, oidcIssuer and trustConfig "
        "verify).")
    file: Annotated[str, checked(f.signature_path)] = Field(
        "model.sig", description="Path of the signature in the repository revision, relative to its root, as the "
        "mirror serves it. Default: model.sig.")
    public_key: Annotated[str | None, checked(f.signing_public_key)] = Field(
        None, description="PEM of the EC public key (P-256, P-384 or P-521) paired with the signing key; method "
        "`key`.")
    ca_chain: Annotated[str | None, checked(f.pem_bundle)] = Field(
        None, description="PEM of the CA certificates the signing certificate must chain to (the site's PKI); "
        "method `certificate`.")
    identity: Annotated[str | None, checked(f.signer_identity)] = Field(
        None, description="Who must have signed: a subject alternative name (e-mail, URI or DNS name) or the subject "
        "DN (RFC 4514) of the signing certificate (method `certificate`), or the certificate identity Sigstore "
        "issued (method `sigstore`). Any other certificate of the same CA is refused.")
    oidc_issuer: MaybeHttpsUrl = Field(
        None, description="OpenID Connect issuer that vouched for the keyless signer's identity; method `sigstore`.")
    trust_config: Annotated[str | None, checked(f.sigstore_trust_config)] = Field(
        None, description="Client trust configuration (JSON) of the Sigstore instance that logged the signature: "
        "its trusted root lets the verifier check the signature without reaching that instance. Method `sigstore`; "
        "required in production. Default: the public Sigstore's, fetched over the network when verifying.")
    verifier_image: ImageConfig = Field(
        description="The weights-verifier image the site builds from images/weights-verifier/Dockerfile (Python and "
        "the pinned model-signing from its PyPI mirror), pinned by digest.")


class EvaluationRecordConfig(_Model):
    """A passing evaluation of a revision, copied from the evaluation Job's last log line (see docs/updates.md)."""

    score: float = Field(ge=0, le=1, description="Share of the question set answered correctly, 0-1.")
    weights_manifest: Annotated[str, checked(f.identity_digest)] = Field(
        description="The weights the evaluation ran against (`weightsManifest` digest the Job printed); it must be "
        "the identity of the revision it vouches for.")
    question_set: Annotated[str, checked(f.identity_digest)] = Field(
        description="Digest of the question set the evaluation used, as the Job printed it.")
    result_digest: Annotated[str, checked(f.identity_digest)] = Field(
        description="Digest of the Job's result record (every answer and its grade), kept in the audit trail.")


class CandidateConfig(_Model):
    """A second revision served beside the current one under the same model name, for a canary."""

    revision: Annotated[str | None, checked(f.git_revision)] = Field(
        None, description="Commit to serve as the candidate. Default: the model's revision.")
    huggingface_repo: Annotated[str | None, checked(f.hf_repo)] = Field(
        None, description="Repository of the candidate (a quantized checkpoint is often its own). Default: the model's.")
    image: ImageConfig | None = Field(None, description="vLLM image of the candidate. Default: the model's.")
    quantization: Literal["awq", "gptq", "fp8", "compressed-tensors", "none"] | None = Field(
        None, description="Checkpoint quantization of the candidate; `none` for an unquantized candidate of a "
        "quantized model. Default: the model's.")
    weights_manifest: Annotated[dict[str, str] | None, checked(f.weights_manifest)] = Field(
        None, description="The candidate's weights manifest (as models.<key>.weightsManifest); required in production "
        "when its repository or revision differs. Default: the model's, when both are the same.")
    weight: int = Field(
        ge=1, le=99, description="Percent of the model's requests the gateway sends to the candidate; the rest go to "
        "the current revision.")
    replicas: Annotated[int, at_most(64, "replicas")] = Field(
        1, ge=1, description="Replicas of the candidate, fixed (no autoscaling); each holds a whole copy of the model, "
        "so its GPUs count against the pool whatever the weight. Default: 1.")
    error_rate_margin: float = Field(
        0.01, gt=0, le=1, description="Alert when the candidate's share of failed (5xx) requests exceeds the current "
        "revision's by more than this (0.01: one point). Default: 0.01.")
    latency_margin: float = Field(
        0.2, gt=0, le=10, description="Alert when the candidate's p95 end-to-end latency exceeds the current revision's "
        "by more than this fraction (0.2: 20 %). Default: 0.2.")
    evaluation: EvaluationRecordConfig | None = Field(
        None, description="The candidate's passing evaluation, copied from the evaluation Job's log; on promotion "
        "it moves to models.<key>.evaluation. Default: none.")


MAX_TOKENS_SHARE = 4
"""Without models.<key>.maxTokens a request may generate a quarter of the model's context (maxModelLen)."""


class ModelConfig(_Model):
    """Models, one endpoint each; the key names its objects and gateway.modelAccess entry, clients send servedModelName."""

    huggingface_repo: Annotated[str, checked(f.hf_repo)] = Field(
        description="Source repository id, e.g. meta-llama/Llama-2-7b-chat-hf.")
    revision: Annotated[str, checked(f.git_revision)] = Field(
        description="Commit of the repository to stage; a branch name is not reproducible."
    )
    served_model_name: Annotated[str, checked(f.served_model_name)] = Field(
        description="Name clients send as `model` in their requests and the metrics label; it may differ from the map "
        "key (models.<name>), which names the Kubernetes objects and keys gateway.modelAccess.")
    architecture: str = Field(
        description="Sizing catalogue key: llama-2-7b, llama-2-13b, llama-2-70b, mistral-7b (v0.1, sliding window), "
        "mistral-7b-v0.1, mistral-7b-v0.2, mistral-7b-v0.3, llama-3.1-8b, llama-3.1-70b, llama-3.3-70b, qwen2.5-7b, "
        "qwen2.5-72b, qwen3-8b, or a key of catalog.models."
    )
    traffic_share: float | None = Field(
        None, gt=0, le=1,
        description="Share of cost.requestsPerMonth this model serves. Default: an equal share of what is left.",
    )
    source: Literal["huggingface", "mirror"] = Field(
        "mirror",
        description="Where the download Job fetches weights: Hugging Face (needs `hfToken`) or an internal mirror. "
        "Default: mirror.",
    )
    mirror_url: MaybeHttpsUrl = Field(None, description="Base URL of the internal model mirror (source=mirror).")
    image: ImageConfig = Field(description="vLLM OpenAI server image.")
    weights_manifest: Annotated[dict[str, str] | None, checked(f.weights_manifest)] = Field(
        None,
        description="SHA-256 of every file the model needs at this revision, `{path: hex digest}` as recorded when "
        "it was mirrored (`python -m tools.weights_manifest <dir>`, or the LFS oids of the pinned commit). Staging "
        "fetches only these files and fails, naming the file, on a changed, missing or extra one; the manifest's "
        "digest is the served revision's identity (pod annotation, metric label, stack output). Required in "
        "production. Default: none (file patterns enforced, digests not).",
    )
    weights_signature: WeightsSignatureConfig | None = Field(
        None,
        description="The site's model-signing signature of this revision, checked after the manifest and before "
        "the model may start; a candidate of the same model is verified with the same signer. "
        "compliance.requireWeightsSignature makes it required in production. Default: none.",
    )
    allow_pickle: bool = Field(
        False,
        description="Accept pickle checkpoints (`*.bin`, `*.pt`, `*.pth`, `*.pkl`, `*.ckpt`), which run code when "
        "loaded. Refused in production. Default: false (safetensors, JSON configs and tokenizer files only).",
    )
    tensor_parallel_size: TensorParallel = Field(
        1,
        description="GPUs of one node a replica uses, its tensor-parallel size (`--tensor-parallel-size`); above "
        "gpuPool.gpusPerNode the group spans nodesPerReplica nodes, which only a fabric that carries its all-reduces "
        "may (gpuPool.interNodeGbps). `auto`: chosen with nodesPerReplica by the capacity plan. Default: 1.",
    )
    nodes_per_replica: NodesPerReplica = Field(
        1,
        description="Nodes one replica spans, one pod each. Above 1 the replica is a LeaderWorkerSet group: its pods "
        "form a Ray cluster and a pipeline of stages (`--pipeline-parallel-size`), tensor parallelism within each "
        "node. `auto`: the layout (with tensorParallelSize) with the fewest GPUs that holds the weights and a "
        "maxModelLen sequence and carries the model's share of the busiest hour; the capacity table explains the "
        "choice. Default: 1.",
    )
    replicas: ReplicaConfig = Field(default_factory=ReplicaConfig, description="Replica bounds.")
    max_model_len: Tokens = Field(4096, ge=256, description="Context length (`--max-model-len`), tokens. Default: 4096.")
    max_tokens: Annotated[int | None, at_most(10_485_760, "tokens")] = Field(
        None, ge=1,
        description="Most tokens one request may generate, its `max_tokens` ceiling: vLLM caps every request's "
        "`max_tokens`/`max_completion_tokens` at it (`--override-generation-config {\"max_new_tokens\": N}`; a "
        "request asking for more stops there with finish_reason `length`, one asking for none gets it), the gateway "
        "sets `n` to 1, and each request reserves this many tokens of gateway.tokenLimits.reservedPerUser when it is "
        "admitted. Below maxModelLen. Default: a quarter of maxModelLen (1024 for 4096).")
    gpu_memory_utilization: float = Field(
        0.9, gt=0.1, le=0.98, description="GPU memory fraction vLLM may use (`--gpu-memory-utilization`). Default: 0.9."
    )
    max_num_seqs: int = Field(256, ge=1, le=4096, description="Concurrent sequences (`--max-num-seqs`). Default: 256.")
    measured_throughput_factor: float | None = Field(
        None, gt=0, le=10,
        description="Measured over predicted tok/s of this model on the site's GPUs, as `python -m offline capacity "
        "--measured` reports it from `vllm bench serve` runs; the capacity plan then scales its decode speed by it "
        "and labels its figures measured. Default: none (predicted figures).")
    dtype: Literal["auto", "bfloat16", "float16"] = Field("auto", description="Weight dtype (`--dtype`). Default: auto.")
    quantization: Literal["awq", "gptq", "fp8", "compressed-tensors"] | None = Field(
        None, description="Checkpoint quantization (`--quantization`). Default: none."
    )
    kv_cache_dtype: Literal["auto", "fp8"] = Field("auto", description="KV-cache dtype (`--kv-cache-dtype`). Default: auto.")
    weights: WeightsVolumeConfig = Field(description="Weights volume(s).")
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, description="CPU and memory per replica.")
    startup_timeout_seconds: Annotated[int, at_most(14400, "seconds", ("milliseconds", 1000))] = Field(
        1200, ge=600,
        description="Time a replica may take to load weights and capture CUDA graphs before it is restarted, seconds. "
        "Default: 1200.",
    )
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="KEDA settings.")
    download_egress_cidrs: Cidrs = Field(
        ("0.0.0.0/0",),
        description="Networks the weights download may reach on TCP 443 (the mirror or Hugging Face). Only the "
        "staging Job or init container gets this opening, never the serving container. Required in production. "
        "Default: any address.",
    )
    api_key_rotation: Annotated[int, at_most(1_000_000, "(a counter)")] = Field(
        0, ge=0,
        description="Generation of the endpoint's API key (the key between the gateway and vLLM): raise it by one to "
        "issue a new key, with apiKeyStage `prepare`. Default: 0.",
    )
    api_key_stage: Literal["prepare", "switch", "done"] = Field(
        "done",
        description="Where a rotation of the API key stands, one `pulumi up` each: `prepare` (with the raised "
        "apiKeyRotation) makes every replica accept the new key beside the old while the gateway still sends the old, "
        "`switch` moves the gateway to the new key, `done` drops the old one. No request is refused at any step; "
        "raising apiKeyRotation with `done` at once refuses requests until every replica restarted (the plan says "
        "so). Default: done.",
    )
    ingress: IngressConfig | None = Field(None, description="TLS Ingress. Default: none (ClusterIP only).")
    candidate: CandidateConfig | None = Field(
        None, description="A canary beside the current revision: a second workload and weighted gateway backends under "
        "the same servedModelName. Promotion: its revision (manifest, image, quantization) becomes the model's and the "
        "section goes; rollback: the section goes. Default: none.")
    evaluation: EvaluationRecordConfig | None = Field(
        None, description="The passing evaluation of the revision served (moved here from candidate.evaluation on "
        "promotion); evaluation.requirePassing refuses a model without one in production. Default: none.")
    extra_args: tuple[str, ...] = Field((), description="Further `vllm serve` flags, appended verbatim. Default: none.")

    _layout_requested: dict[str, int | str] | None = PrivateAttr(None)
    _layout_note: str | None = PrivateAttr(None)

    @property
    def candidate_model(self) -> ModelConfig | None:
        """The candidate as a model entry of its own: the current one with the candidate's changes, fixed replicas."""
        c = self.candidate
        if c is None:
            return None
        repo, revision = c.huggingface_repo or self.huggingface_repo, c.revision or self.revision
        same_bytes = (repo, revision) == (self.huggingface_repo, self.revision)
        quantization = self.quantization if c.quantization is None else (None if c.quantization == "none" else c.quantization)
        return self.model_copy(update={
            "huggingface_repo": repo, "revision": revision, "image": c.image or self.image, "quantization": quantization,
            "weights_manifest": c.weights_manifest or (self.weights_manifest if same_bytes else None),
            "replicas": ReplicaConfig(min=c.replicas, max=c.replicas), "candidate": None, "evaluation": c.evaluation,
        })

    @property
    def max_tokens_ceiling(self) -> int:
        """The ``max_tokens`` ceiling vLLM enforces and the gateway reserves: maxTokens, or a quarter of the context."""
        return self.max_tokens if self.max_tokens is not None else max(1, self.max_model_len // MAX_TOKENS_SHARE)

    @property
    def weights_identity(self) -> str:
        """What the served revision is known by: its manifest's digest, or ``unverified`` without one."""
        return manifest_digest(self.weights_manifest) if self.weights_manifest else "unverified"

    @property
    def weights_signer(self) -> str:
        """Who must have signed the revision, as the verifier reports a success: ``key sha256:<fingerprint>``,
        ``certificate <identity>`` or ``sigstore <identity> from <issuer>``; ``unsigned`` without a signature."""
        sig = self.weights_signature
        if sig is None:
            return "unsigned"
        if sig.method == "key":
            return f"key {public_key_fingerprint(sig.public_key)}" if sig.public_key else "key (no public key)"
        if sig.method == "certificate":
            return f"certificate {sig.identity}"
        return f"sigstore {sig.identity} from {sig.oidc_issuer}"

    @property
    def layout_requested(self) -> dict[str, int | str] | None:
        """The layout keys as the stack file set them, when config resolved an ``auto``; else None."""
        return self._layout_requested

    @property
    def layout_note(self) -> str | None:
        """Why ``auto`` chose this layout (the capacity table prints it); None when nothing was chosen."""
        return self._layout_note

    def with_layout(self, tensor_parallel: int, nodes: int, note: str | None) -> ModelConfig:
        """This entry with ``auto`` replaced by the chosen layout, remembering what was asked and why."""
        resolved = self.model_copy(update={"tensor_parallel_size": tensor_parallel, "nodes_per_replica": nodes})
        resolved._layout_requested = self._layout_requested or {
            "tensorParallelSize": self.tensor_parallel_size, "nodesPerReplica": self.nodes_per_replica}
        resolved._layout_note = note
        return resolved

    @field_validator("extra_args")
    @classmethod
    def _no_managed_flags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from components.config.vllm_args import check_extra_args

        check_extra_args(value)
        return value


# ---------------------------------------------------------------------------------------------
# Observability, DR, compliance, cost
# ---------------------------------------------------------------------------------------------


class AlertEmailConfig(_Model):
    """E-mail receiver of Alertmanager."""

    to: Annotated[str, checked(f.email_list)] = Field(description="Recipient address (an on-call list).")
    sender: Annotated[str, checked(lambda v: f.email(v, display_name=True))] = Field(description="From address.")
    smarthost: Annotated[str, checked(f.host_port)] = Field(description="SMTP relay as host:port; TLS is required.")
    username: Annotated[str | None, checked(lambda v: f._one_line(v, "user name"))] = Field(
        None, description="SMTP user; its password is the secret `alertSmtpPassword`.")


class ObservabilityConfig(_Model):
    """Metrics, dashboards and alerting."""

    enabled: Bool = Field(True, description="Deploy Prometheus, Grafana and Alertmanager. Default: true.")
    prometheus_retention_days: int = Field(15, ge=1, le=3650, description="Metrics retention, days. Default: 15.")
    prometheus_storage_gib: DiskGiB = Field(50, ge=1, description="Prometheus volume size, GiB. Default: 50.")
    latency_p95_threshold_seconds: Annotated[float, at_most(120, "seconds", ("milliseconds", 1000))] = Field(
        2.0, gt=0, description="p95 end-to-end latency alert threshold, seconds. Default: 2."
    )
    queue_per_replica_alert: Annotated[float, at_most(1000, "waiting requests")] = Field(
        5, gt=0, description="Waiting requests per replica that raise an alert. Default: 5.")
    gpu_temperature_alert_celsius: int = Field(85, ge=50, le=110, description="GPU temperature alert, deg C. Default: 85.")
    alert_email: AlertEmailConfig | None = Field(None, description="Alertmanager e-mail receiver. Default: none.")
    alert_webhook: Bool = Field(
        False, description="Send alerts to the webhook in the secret `alertWebhookUrl` (pager, Aria Operations). Default: false."
    )
    alert_egress_cidrs: Cidrs = Field(
        ("0.0.0.0/0",),
        description="Networks Alertmanager may reach for SMTP, webhooks and the dead-man's switch. Required in "
        "production. Default: any address.",
    )
    runbook_base_url: LinkUrl = Field(
        "docs/operating.md",
        description="Where the runbook lives; alerts link to <url>#alert-<name>. Default: docs/operating.md."
    )


class SiteConfig(_Model):
    """Which site this stack deploys: the primary, or the standby that mirrors it from the primary's outputs."""

    role: Literal["primary", "standby"] = Field(
        "primary",
        description="`primary`: the site serving traffic, whose models and access rules are this stack's own. "
        "`standby`: the recovery site; its models and gateway access rules come from the primary stack's outputs "
        "(`siteMirror`), never from this file, and it never calls the primary's vCenter or Supervisor. "
        "Default: primary.")
    primary_stack: Annotated[str | None, checked(f.stack_name)] = Field(
        None,
        description="Standby only: fully qualified name of the primary's stack (`organization/project/stack`), read "
        "through a StackReference from the state backend. Required for a standby unless primaryOutputsFile is set.")
    primary_outputs_file: Annotated[str | None, checked(f.relative_path)] = Field(
        None,
        description="Standby only: a JSON file holding the primary's last known `siteMirror` output (written by "
        "`pulumi stack output mirroredPrimary --json` on this stack), used instead of the StackReference when the "
        "primary's state cannot be read. The preview says so. Default: none.")
    trust_bundle: Annotated[str | None, checked(f.pem_bundle)] = Field(
        None,
        description="PEM certificates of the site's own CA(s), trusted wherever the platform calls an internal HTTPS "
        "service: the gateway's JWKS fetch from the IdP, the weights download, the audit store (shipping and "
        "sealing) and Alertmanager's SMTP relay (Velero takes dr.backupStorage.caCert, the nodes tanzu.trustedCas). "
        "Production needs it when gateway.oidc.jwksUri is on a private name or address, unless trustBundleWaiver "
        "says why not. Default: none (public CAs only).")
    trust_bundle_waiver: str | None = Field(
        None,
        description="Why production runs without site.trustBundle although the IdP is on a private name (e.g. its "
        "certificate is from a public CA). Default: none.")
    weights_storage_class: MaybeK8sName = Field(
        None,
        description="Standby only: a ReadWriteMany (vSAN File Services) class of this site for the models' weights, "
        "one shared volume per model filled by a download Job, so serving pods get no egress (as on a primary with "
        "ReadWriteMany weights). Default: a ReadWriteOnce volume per replica, staged by the replica itself.")


class BackupStorageConfig(_Model):
    """S3-compatible object store at the secondary site that receives the primary's backups."""

    s3_url: HttpsUrl = Field(description="S3 endpoint URL; TLS only.")
    bucket: Annotated[str, checked(f.s3_bucket)] = Field(
        description="Bucket, created with versioning (and replication where the store offers it).")
    region: Annotated[str, checked(f.s3_region)] = Field(
        "us-east-1", description="Region string the store expects. Default: us-east-1.")
    prefix: Annotated[str, checked(f.s3_prefix)] = Field(
        "onprem-llm", description="Prefix inside the bucket. Default: onprem-llm.")
    ca_cert: Annotated[str | None, checked(f.base64_pem)] = Field(
        None, description="Base64 PEM of the store's private CA. Default: system trust.")
    egress_cidrs: Cidrs = Field(
        ("0.0.0.0/0",),
        description="Addresses of the store; Velero may reach them on 443. Required in production. Default: any address.",
    )
    server_side_encryption: Literal["AES256", "aws:kms"] = Field(
        "AES256",
        description="Server-side encryption Velero asks the store for on every object it writes (the BackupStorage"
        "Location's serverSideEncryption). Default: AES256.",
    )
    kms_key_id: Annotated[str | None, checked(lambda v: f._one_line(v, "KMS key id"))] = Field(
        None, description="Key id for serverSideEncryption aws:kms (the store's KMS). Default: the store's default key.",
    )
    object_lock_days: Annotated[int | None, at_most(36500, "days", ("hours", 24))] = Field(
        None, ge=1,
        description="Where the store supports it: the bucket was created with Object Lock, and a deploy-time Job "
        "verifies a default retention of at least this many days (GOVERNANCE or COMPLIANCE) before Velero starts. "
        "Read the trade-offs in docs/disaster-recovery.md first. Default: not locked.",
    )


class DrConfig(_Model):
    """Disaster recovery: pattern, targets and backups."""

    enabled: Bool = Field(
        False, description="Back the site up to dr.backupStorage (primary) or restore from it (standby). Default: false.")
    mode: Literal["backup-restore", "pilot-light", "warm-standby"] = Field(
        "warm-standby", description="Recovery pattern. Default: warm-standby."
    )
    rpo_minutes: DrMinutes = Field(60, ge=1, description="Recovery point objective, minutes. Default: 60.")
    rto_minutes: DrMinutes = Field(15, ge=1, description="Recovery time objective, minutes. Default: 15.")
    backup_interval_minutes: DrMinutes = Field(
        30, ge=5, description="Velero schedule interval, minutes; must divide an hour or a day. Default: 30."
    )
    backup_duration_minutes: DrMinutes = Field(10, ge=1, description="Longest a backup run takes (measure it). Default: 10.")
    replication_lag_minutes: DrMinutes = Field(
        5, ge=0, description="Delay until a backup is readable at the secondary site. Default: 5."
    )
    backup_ttl_hours: RetentionHours = Field(720, ge=24, description="Backup retention, hours. Default: 720 (30 days).")
    long_term_ttl_hours: Annotated[int | None, at_most(131400, "hours", ("minutes", 60))] = Field(
        None, ge=24, description="Also keep one daily backup this long (e.g. 52560 for six years). Default: none."
    )
    file_system_backup: Bool = Field(
        False,
        description="Back volumes up file by file with the node agent (needs a privileged `velero` namespace) "
        "instead of CSI snapshot data movement. Default: false.",
    )
    detection_minutes: DrMinutes = Field(5, ge=1, description="Time to detect the outage and declare failover. Default: 5.")
    dns_ttl_seconds: Annotated[int, at_most(3600, "seconds", ("milliseconds", 1000))] = Field(
        60, ge=0, description="TTL of the DNS/GSLB record clients resolve. Default: 60.")
    copy_gib_per_minute: Annotated[float, at_most(6000, "GiB per minute", ("MiB per minute", 1024))] = Field(
        5.5, gt=0, description="Weights copy speed into the secondary site when not pre-staged. Default: 5.5 (~100 MB/s)."
    )
    standby_replicas: Annotated[int, at_most(64, "replicas")] = Field(
        1, ge=1, description="Standby stack, warm-standby: replicas per model kept Ready while not active. Default: 1.")
    standby_gpu_nodes: Annotated[int | None, at_most(64, "GPU nodes")] = Field(
        None, ge=0,
        description="Standby stack: GPU workers while not active (0 allowed in pilot-light); `gpuPool.nodes` is the "
        "size it scales to on failover. Default: gpuPool.nodes in warm-standby, 0 in pilot-light.")
    active: Bool = Field(
        False,
        description="Standby stack: serve. `true` is failover: the standby scales to gpuPool.nodes and the primary's "
        "replica bounds, and in pilot-light and backup-restore deploys what it kept in reserve. `false` again is the "
        "last step of failback. Default: false.")
    restore_from_schedule: Annotated[str | None, checked(f.dns_label)] = Field(
        None,
        description="Standby stack, when active: restore the newest completed backup of this Velero schedule of the "
        "primary (e.g. `platform-frequent`) into this site, as a Velero Restore the stack owns. Default: none (warm "
        "standby needs no restore: its models are staged).")
    backup_storage: BackupStorageConfig | None = Field(None, description="Backup target; required when enabled.")


class ComplianceConfig(_Model):
    """Compliance tier and the allow-lists the platform and its policies enforce."""

    tier: Literal["production", "non-production"] = Field(
        "production", description="Production stacks get the strict checks. Default: production."
    )
    allowed_registries: Registries = Field(min_length=1, description="Registries images may come from.")
    require_image_digest: Bool = Field(True, description="Images must carry a sha256 digest. Default: true.")
    privileged_namespaces: Annotated[dict[str, str], checked(lambda entries: [
        (f.namespace(ns), f.reason(text)) for ns, text in entries.items()])] = Field(
        default_factory=lambda: {"gpu-operator": "GPU driver and toolkit load kernel modules and reconfigure containerd"},
        description="Namespaces allowed the privileged Pod Security level, with the reason. Default: gpu-operator.",
    )
    baseline_namespaces: Annotated[dict[str, str], checked(lambda entries: [
        (f.namespace(ns), f.reason(text)) for ns, text in entries.items()])] = Field(
        default_factory=dict,
        description="Namespaces that run at the Pod Security baseline level, with the reason: e.g. `velero`, whose "
        "data mover pods run as root. Default: none.",
    )
    encrypted_storage_classes: Annotated[tuple[str, ...], checked(lambda values: [
        f.dns_subdomain(v) for v in values])] = Field(
        (),
        description="Storage classes besides the sites' `storagePolicy` that are backed by encryption (e.g. a vSAN "
        "File Services class for ReadWriteMany weights). Default: none.",
    )
    require_weights_signature: Bool = Field(
        False,
        description="Production models (and candidates) must carry models.<key>.weightsSignature: the revision "
        "starts only once the site's model-signing signature covers every staged file. Default: false (the pinned "
        "weightsManifest already fixes every byte; a signature adds who approved them).",
    )
    minimum_backup_ttl_hours: RetentionHours = Field(
        720, ge=24, description="Shortest retention any backup schedule may have, hours. Default: 720."
    )


class AriaConfig(_Model):
    """VMware Aria Automation: the vSphere cloud account, a GPU cloud zone and the project, as code."""

    enabled: Bool = Field(
        False, description="Create the Aria objects; the refresh token is the secret `ariaRefreshToken`. Default: false."
    )
    url: MaybeHttpsUrl = Field(None, description="Aria Automation URL (https).")
    accept_self_signed_cert: Bool = Field(
        False, description="Accept vCenter's certificate without a trusted CA. Refused in production. Default: false."
    )
    project_name: str = Field("llm-inference", description="Project name. Default: llm-inference.")
    project_description: str = Field(
        "On-premise LLM serving infrastructure", description="Project description. Default: the design document's."
    )
    administrators: Emails = Field((), description="E-mail addresses of project administrators. Default: none.")
    members: Emails = Field((), description="E-mail addresses of project members. Default: none.")
    cpu_limit: int = Field(0, ge=0, description="vCPUs the project may use in the zone (0 = unlimited). Default: 0.")
    memory_limit_mb: Annotated[int, at_most(1_073_741_824, "MB", ("KB", 1000))] = Field(
        0, ge=0, description="Memory the project may use, MB (0 = unlimited). Default: 0.")
    storage_limit_gb: int = Field(0, ge=0, description="Storage the project may use, GB (0 = unlimited). Default: 0.")
    max_instances: int = Field(0, ge=0, description="Machines the project may deploy (0 = unlimited). Default: 0.")


class OidcConfig(_Model):
    """The site's identity provider, whose tokens the gateway accepts."""

    issuer: IssuerUrl = Field(description="Token issuer (the `iss` claim).")
    audiences: Annotated[tuple[str, ...], checked(f.no_duplicates)] = Field(min_length=1, description="Accepted `aud` values.")
    jwks_uri: HttpsUrl = Field(description="URL of the issuer's signing keys (JWKS).")
    user_claim: Annotated[str, checked(f.claim_name)] = Field(
        "sub", description="Claim that identifies the caller in logs, limits and usage metrics. Default: sub.")
    group_claim: Annotated[str, checked(f.group_claim)] = Field(
        description="Claim naming the caller's group, one string per token (a department or cost centre, e.g. "
        "`department`): model access, group limits, quotas, usage and chargeback key on it. A list claim such as "
        "`groups` cannot be used: Envoy Gateway copies only single-valued claims into headers.")


Groups = Annotated[tuple[str, ...], checked(lambda values: [f.claim_value(v) for v in values], f.no_duplicates)]
TokenQuotas = Annotated[dict[str, int], BeforeValidator(f.ordered_quotas), checked(f.token_quotas)]
OPENAI_ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions", "embeddings": "/v1/embeddings"}
"""The OpenAI API paths a model may serve through the gateway, by the name config uses."""


class ModelAccessConfig(_Model):
    """Who may call one model through the gateway, and which of its OpenAI endpoints."""

    groups: Groups = Field(min_length=1, description="Values of oidc.groupClaim admitted to the model.")
    endpoints: Annotated[tuple[Literal["chat", "completions", "embeddings"], ...], checked(f.no_duplicates)] = Field(
        ("chat", "completions"), min_length=1,
        description="OpenAI endpoints the model serves: chat (/v1/chat/completions), completions (/v1/completions), "
        "embeddings (/v1/embeddings, embedding models only). Default: [chat, completions].")


TokenCount = Annotated[int, at_most(1_000_000_000_000, "tokens")]


class TokenWindowConfig(_Model):
    """A token budget over one fixed window of the rate-limit service."""

    tokens: TokenCount = Field(ge=1, description="Prompt plus completion tokens allowed per window.")
    per: Literal["Minute", "Hour", "Day", "Week", "Month"] = Field(
        description="Window: Minute, Hour, Day, Week or Month (fixed windows; Month is 30 days, not a calendar month).")


class TokenLimitsConfig(_Model):
    """Token limits counted on tokens, shared by every gateway replica (global rate limit with Redis)."""

    per_user: tuple[TokenWindowConfig, ...] = Field(
        (TokenWindowConfig(tokens=100_000, per="Hour"),),
        description="Budgets of each caller (oidc.userClaim) on each model. Default: 100000 tokens per hour.")
    per_group: tuple[TokenWindowConfig, ...] = Field(
        (), description="Budgets of each group (oidc.groupClaim) on each model. Default: none.")
    reserved_per_user: tuple[TokenWindowConfig, ...] = Field(
        (TokenWindowConfig(tokens=32768, per="Minute"),),
        description="Tokens each caller (oidc.userClaim) may reserve on each model per window. The budgets above are "
        "charged when a response completes, so generations already running are not counted; here every request "
        "reserves its model's models.<key>.maxTokens when it is admitted, whatever it later uses, and gets 429 "
        "when the window's reservations would pass the figure: at most tokens / maxTokens generations start per "
        "caller, model and window. Each figure must hold one request of every model. Required in production. "
        "Default: 32768 tokens per minute.")

    @field_validator("per_user", "per_group", "reserved_per_user")
    @classmethod
    def _one_budget_per_window(cls, value: tuple[TokenWindowConfig, ...]) -> tuple[TokenWindowConfig, ...]:
        windows = [w.per for w in value]
        repeated = sorted({w for w in windows if windows.count(w) > 1})
        if repeated:
            raise ValueError(f"lists the window {repeated} more than once; give one budget per window, e.g. "
                             "[{tokens: 20000, per: Minute}, {tokens: 500000, per: Day}]")
        return value


class UpstreamTlsConfig(_Model):
    """TLS from the gateway's proxies to the model servers, whose traffic is the prompts and completions."""

    enabled: Bool = Field(
        False,
        description="vLLM serves HTTPS with `certificate` and the secret `upstreamTlsKey`; the gateway verifies it "
        "against site.trustBundle (a BackendTLSPolicy per model backend), and Prometheus scrapes it over HTTPS the "
        "same way. Required in production. Default: false (plain HTTP on the pod network).")
    certificate: Annotated[str | None, checked(server_chain)] = Field(
        None,
        description="PEM certificate chain vLLM serves, the server certificate first, then any intermediate CAs, "
        "issued by a CA of site.trustBundle for the model Services' names "
        "(`*.<tanzu.servingNamespace>.svc.cluster.local`, or each `<model>-api` and `<model>-candidate-api` there); "
        "its key is the secret `upstreamTlsKey`. Public material, reviewed in version control; a new one rolls the "
        "replicas. Required when enabled. Default: none.")


class GatewayConfig(_Model):
    """The authenticating gateway: one OpenAI base URL for every model, the only way into the model endpoints."""

    namespace: Namespace = Field("api-gateway", description="Namespace of the gateway. Default: api-gateway.")
    hostname: DnsHost = Field(
        description="Host name clients use; its certificate is the secrets `gatewayTlsCert`/`gatewayTlsKey`.")
    oidc: OidcConfig = Field(description="Identity provider.")
    model_access: dict[str, ModelAccessConfig] = Field(
        default_factory=dict,
        description="Per model key, the groups that may use it and its endpoints; every model needs an entry. "
        "Default: none.")
    token_limits: TokenLimitsConfig = Field(default_factory=TokenLimitsConfig, description="Token limits.")
    monthly_token_quotas: TokenQuotas = Field(
        default_factory=dict,
        description="Per group, tokens it may use in a month across all models; past it the group gets 429 until "
        "the window resets. A list of {group, tokens} keeps its order, and each group's counter is keyed by its "
        "position: add departments at the end (a mapping is taken in sorted order, so a new group that sorts first "
        "restarts the others' month-to-date counts; the plan says so). Default: none.")
    quota_alert_ratio: float = Field(
        0.8, gt=0, lt=1, description="Share of a monthly quota at which the quota alert fires. Default: 0.8.")
    requests_per_minute_per_user: Annotated[int, at_most(100_000, "requests per minute")] = Field(
        60, ge=1, description="Requests each caller may send per minute, counted across all gateway replicas. "
        "Default: 60.")
    request_timeout_seconds: Annotated[int, at_most(3600, "seconds", ("milliseconds", 1000))] = Field(
        300, ge=10, description="Longest a completion may take, streaming included, seconds. Default: 300.")
    client_namespaces: Namespaces = Field(
        (), description="In-cluster namespaces whose pods may call the gateway (its NetworkPolicy admits them on the "
        "proxy port). Default: none.")
    client_cidrs: Cidrs = Field(
        ("0.0.0.0/0",), description="Networks allowed to connect to the gateway on 443. Default: any address."
    )
    idp_egress_cidrs: Cidrs = Field(
        ("0.0.0.0/0",), description="Addresses of the identity provider (JWKS fetch on 443). Default: any address."
    )
    rate_limit_failure: Literal["open", "closed"] | None = Field(
        None,
        description="What the gateway does while its rate-limit service or counter store cannot answer: `open` lets "
        "requests through unlimited (token limits and quotas unenforced meanwhile), `closed` refuses them (every model "
        "unavailable meanwhile). Production must choose. Default: open outside production.")
    replicas: Annotated[int, at_most(10, "replicas")] = Field(
        2, ge=1,
        description="Replicas of the Envoy proxy, the rate-limit service and both gateway controllers, spread over nodes "
        "with a disruption budget each, so a node drain or a Kubernetes upgrade never takes the front door down. "
        "Production needs at least 2. Default: 2.")
    upstream_tls: UpstreamTlsConfig = Field(
        default_factory=UpstreamTlsConfig,
        description="TLS from the gateway to vLLM. Default: off outside production.")


class AccessConfig(_Model):
    """Who may do what on the workload cluster and in vCenter (groups from the identity provider)."""

    break_glass_group: Group = Field(description="Platform administrators: the only group bound to cluster-admin.")
    operator_group: Group = Field(description="Operators: edit in the serving and monitoring namespaces.")
    auditor_group: Group = Field(description="Auditors: read-only across the cluster (no Secrets).")
    vsphere_operator_group: Annotated[str, checked(f.vsphere_group)] = Field(
        description="vCenter group granted the read-only operator role on the GPU cluster, e.g. HOSPITAL.EXAMPLE\\llm-operators."
    )


class AnchorStoreConfig(_Model):
    """Where each day's manifest digest is anchored: a second locked bucket, outside the audit bucket's reach."""

    s3_url: HttpsUrl = Field(description="S3 endpoint of the anchor store (e.g. the secondary site's); TLS only.")
    bucket: Annotated[str, checked(f.s3_bucket)] = Field(
        description="Bucket with Object Lock (COMPLIANCE) that holds the anchors; credentials are the secrets "
        "`auditAnchorAccessKeyId`/`auditAnchorSecretAccessKey` (s3:PutObject on the prefix only).")
    region: Annotated[str, checked(f.s3_region)] = Field(
        "us-east-1", description="Region string the store expects. Default: us-east-1.")
    prefix: Annotated[str, checked(f.s3_prefix)] = Field(
        "onprem-llm-audit-anchors", description="Prefix inside the bucket. Default: onprem-llm-audit-anchors.")
    egress_cidrs: Cidrs = Field(description="Addresses of the anchor store; the sealing Job may reach them on 443.")


class AuditConfig(_Model):
    """Audit trail: API-server audit and gateway access logs shipped to locked object storage."""

    enabled: Bool = Field(False, description="Ship audit logs. Required in production. Default: false.")
    s3_url: MaybeHttpsUrl = Field(None, description="S3 endpoint of the audit store; TLS only.")
    bucket: Annotated[str | None, checked(f.s3_bucket)] = Field(
        None, description="Bucket created with Object Lock in COMPLIANCE mode and default retention of retentionDays."
    )
    region: Annotated[str, checked(f.s3_region)] = Field(
        "us-east-1", description="Region string the store expects. Default: us-east-1.")
    retention_days: Annotated[int, at_most(36500, "days", ("hours", 24))] = Field(
        2555, ge=1, description="Object Lock retention, days; at least 2190 (six years). Default: 2555 (seven years)."
    )
    flush_seconds: int = Field(60, ge=10, le=300, description="Upload interval: the audit log's RPO, seconds. Default: 60.")
    egress_cidrs: Cidrs = Field(
        ("0.0.0.0/0",), description="Addresses of the audit store. Required in production. Default: any address.")
    tools_image: ImageConfig | None = Field(
        None,
        description="Image with Python 3, boto3 and cryptography that checks the bucket and writes the daily signed "
        "manifests.",
    )
    create_bucket: Bool = Field(
        False,
        description="Let the deploy-time bucket Job create the bucket (Object Lock on, COMPLIANCE default retention) "
        "when it does not exist; otherwise the Job only verifies the bucket and refuses to let shipping start. "
        "Default: false.",
    )
    signing_public_key: Annotated[str | None, checked(f.ed25519_public_key)] = Field(
        None,
        description="Ed25519 public key (PEM, SubjectPublicKeyInfo) of the manifest signing key, the secret "
        "`auditSigningKey`; auditors verify the manifests with it alone. Required when enabled.",
    )
    anchor: AnchorStoreConfig | None = Field(
        None,
        description="A store outside the audit bucket that receives each day's manifest digest and signature, so a "
        "rewritten chain shows. Required in production.",
    )


class ModelArchConfig(_Model):
    """A model architecture, from its config.json."""

    params_billion: Annotated[float, at_most(10_000, "billions of parameters", ("a parameter count", 1e9))] = Field(
        gt=0, description="Parameters, billions.")
    layers: Annotated[int, at_most(1024, "layers")] = Field(ge=1, description="num_hidden_layers.")
    hidden: Annotated[int, at_most(131_072, "(hidden size)")] = Field(ge=1, description="hidden_size.")
    attention_heads: Annotated[int, at_most(1024, "heads")] = Field(ge=1, description="num_attention_heads.")
    kv_heads: Annotated[int, at_most(1024, "heads")] = Field(
        ge=1, description="num_key_value_heads (equal to attention heads without GQA).")
    head_dim: Annotated[int, at_most(1024, "(head dimension)")] = Field(
        ge=1, description="hidden_size / num_attention_heads unless set explicitly.")
    max_context: Tokens = Field(ge=1, description="max_position_embeddings.")
    sliding_window: Annotated[int | None, at_most(10_485_760, "tokens")] = Field(
        None, ge=1, description="Sliding attention window, tokens. Default: none.")
    vocab: Annotated[int | None, at_most(4_194_304, "tokens (vocabulary entries)")] = Field(
        None, ge=1,
        description="vocab_size: places the embeddings on the first pipeline stage and lm_head on the last. Default: "
        "none (spread with the layers).",
    )


class GpuSpecConfig(_Model):
    """A GPU model's memory, bandwidth and dense compute."""

    memory_gib: Annotated[float, at_most(1024, "GiB", ("MiB", 1024))] = Field(gt=0, description="Memory visible to CUDA, GiB.")
    bandwidth_tbps: Annotated[float, at_most(20, "TB/s", ("GB/s", 1000))] = Field(
        gt=0, description="Memory bandwidth, TB/s.")
    bf16_tflops: Annotated[float, at_most(5000, "TFLOP/s", ("GFLOP/s", 1000))] = Field(
        gt=0, description="Dense BF16 tensor TFLOP/s (not the sparse figure).")


class CatalogConfig(_Model):
    """Additions to the sizing catalogue for models and GPUs it does not know."""

    models: dict[str, ModelArchConfig] = Field(default_factory=dict, description="Extra model architectures. Default: none.")
    gpus: dict[str, GpuSpecConfig] = Field(default_factory=dict, description="Extra GPU models. Default: none.")


class CostConfig(_Model):
    """Inputs of the capacity and cost model."""

    capital_usd: float = Field(203_000, ge=0, description="Hardware and licence capital, USD. Default: 203000.")
    amortisation_years: Annotated[int, at_most(10, "years", ("months", 12))] = Field(
        3, ge=1, description="Years the capital is spread over. Default: 3.")
    monthly_operations_usd: float = Field(9_400, ge=0, description="Monthly staff, power and support, USD. Default: 9400.")
    requests_per_month: Annotated[int, at_most(100_000_000_000, "requests per month")] = Field(
        1_000_000, ge=0, description="Expected requests per month. Default: 1000000.")
    cloud_price_per_request_usd: Annotated[float, at_most(10, "USD per request", ("cents", 100))] = Field(
        0.01, ge=0, description="Cloud price to compare with, USD. Default: 0.01.")
    avg_prompt_tokens: Tokens = Field(300, ge=1, description="Mean prompt length, tokens. Default: 300.")
    avg_output_tokens: Tokens = Field(150, ge=1, description="Mean completion length, tokens. Default: 150.")
    peak_to_average: Annotated[float, at_most(100, "(a ratio)")] = Field(
        3.0, ge=1, description="Busiest-hour request rate over the monthly average. Default: 3."
    )
    itl_target_seconds: Annotated[float, at_most(2, "seconds", ("milliseconds", 1000))] = Field(
        0.05, gt=0, description="Inter-token latency each stream must keep at peak, seconds. Default: 0.05 (20 tokens/s)."
    )


class BenchmarkConfig(_Model):
    """The site's measured baseline: one `vllm bench serve` Job per model, through the gateway, on demand."""

    enabled: bool = Field(False, description="Create the benchmark Jobs (needs the secret benchmarkToken). Default: "
                          "false.")
    run_id: int = Field(1, ge=1, description="Run number: a Job's template cannot change, so each run is a new Job "
                        "named after it; raise it to run the benchmark again. Default: 1.")
    namespace: Namespace = Field("llm-benchmark", description="Namespace of the benchmark Jobs, admitted to the "
                                 "gateway as a client. Default: llm-benchmark.")
    models: tuple[str, ...] = Field((), description="Model keys to benchmark. Default: every model.")
    concurrency: tuple[int, ...] = Field(
        (1, 4, 16), min_length=1, description="The sweep: concurrent requests of each level, in order. Default: "
        "[1, 4, 16].")
    prompts_per_concurrency: Annotated[int, at_most(1000, "prompts per concurrent request")] = Field(
        10, ge=1, description="Requests of each level per concurrent request (`--num-prompts` = this x concurrency). "
        "Default: 10.")
    prompt_tokens: int | None = Field(None, ge=1, le=10_485_760, description="Prompt length, tokens. Default: "
                                      "cost.avgPromptTokens.")
    output_tokens: int | None = Field(None, ge=1, le=10_485_760, description="Completion length, tokens. Default: "
                                      "cost.avgOutputTokens.")
    timeout_seconds: Annotated[int, at_most(86_400, "seconds", ("minutes", 60))] = Field(
        1800, ge=60, description="A Job's whole sweep is stopped after this long (activeDeadlineSeconds), seconds. "
        "Default: 1800.")

    @field_validator("concurrency")
    @classmethod
    def _levels(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [c for c in value if not 1 <= c <= 1024]
        if bad:
            raise ValueError(f"{bad}: each level is 1 to 1024 concurrent requests")
        return value


WaitSeconds = Annotated[int, at_most(7200, "seconds", ("milliseconds", 1000))]
"""A wait estimate: two hours bounds every step the platform waits for; above it, likely milliseconds."""


class EvaluationConfig(_Model):
    """The site's own question set, run against a model's candidate (or current revision) through the gateway."""

    enabled: bool = Field(False, description="Create an evaluation Job for each model with a candidate and each model "
                          "in evaluation.models (needs the secret evaluationToken). Default: false.")
    question_set: Annotated[str | None, checked(f.relative_path)] = Field(
        None, description="JSON file of the site repository with the questions, each with its expected answer or rule "
        "(exact, regex or number with tolerance; docs/updates.md#the-question-set). Required when enabled or "
        "requirePassing.")
    pass_score: float = Field(0.9, gt=0, le=1, description="Share of questions a revision must answer correctly to "
                              "pass, 0-1. Default: 0.9.")
    require_passing: bool = Field(
        False, description="Refuse any model whose served revision has no passing record (models.<key>.evaluation: "
        "this question set, these weights, at least passScore): a promotion carries the candidate's record with it. "
        "Default: false.")
    run_id: int = Field(1, ge=1, description="Run number: each run is a new Job named after it; raise it to evaluate "
                        "again. Default: 1.")
    namespace: Namespace = Field("llm-evaluation", description="Namespace of the evaluation Jobs, admitted to the "
                                 "gateway as a client. Default: llm-evaluation.")
    models: tuple[str, ...] = Field((), description="Model keys whose current revision is evaluated too (a candidate "
                                    "always is). Default: none.")
    max_tokens: int = Field(256, ge=1, le=32768, description="Completion limit of each answer, tokens. Default: 256.")
    timeout_seconds: Annotated[int, at_most(86_400, "seconds", ("minutes", 60))] = Field(
        1800, ge=60, description="A Job is stopped after this long (activeDeadlineSeconds), seconds. Default: 1800.")


class WaitsConfig(_Model):
    """How long the work takes that `pulumi up` waits for; every timeout is derived from these."""

    image_pull_seconds: WaitSeconds = Field(
        600, ge=30, description="Pulling the largest image (vLLM, about 10 GB) onto a fresh node, seconds. Default: 600."
    )
    driver_install_seconds: WaitSeconds = Field(
        900, ge=60,
        description="GPU Operator building and loading the driver on a new GPU node, seconds. Default: 900.",
    )
    cluster_node_seconds: WaitSeconds = Field(
        900, ge=120,
        description="One cluster node: VM clone, boot, join and Ready; control-plane nodes are built one at a "
        "time, workers in parallel, seconds. Default: 900.",
    )
    chart_install_seconds: WaitSeconds = Field(
        600, ge=60, description="A chart's pods pulled, started and Ready (charts without GPUs), seconds. Default: 600."
    )
    weights_download_mib_per_second: Annotated[float, at_most(10_000, "MiB/s", ("KiB/s", 1024))] = Field(
        20, gt=0,
        description="Throughput from the model source (mirror or Hugging Face) into a weights volume, MiB/s. "
        "Default: 20.",
    )
    safety_factor: float = Field(
        1.5, ge=1, le=5, description="Multiplier on every estimate before it becomes a timeout. Default: 1.5."
    )


class PlatformConfig(_Model):
    """The whole stack config, one attribute per config key."""

    vsphere: VsphereConfig
    tanzu: TanzuConfig
    gpu_pool: GpuPoolConfig
    addons: AddonsConfig
    models: dict[str, ModelConfig] = Field(min_length=1)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    dr: DrConfig = Field(default_factory=DrConfig)
    compliance: ComplianceConfig
    cost: CostConfig = Field(default_factory=CostConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    aria: AriaConfig = Field(default_factory=AriaConfig)
    gateway: GatewayConfig
    access: AccessConfig
    audit: AuditConfig = Field(default_factory=AuditConfig)
    waits: WaitsConfig = Field(default_factory=WaitsConfig)
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)

    @property
    def standby(self) -> bool:
        return self.site.role == "standby"

    @property
    def namespace_grants(self) -> tuple[NamespaceGrantConfig, ...]:
        """The vSphere Namespace's access entries: tanzu.namespaceAccess, or the automation account (it creates the
        cluster) with edit and the vCenter operator group with view."""
        if self.tanzu.namespace_access is not None:
            return self.tanzu.namespace_access
        return (NamespaceGrantConfig(principal=self.vsphere.user, type="user", role="edit"),
                NamespaceGrantConfig(principal=self.access.vsphere_operator_group, type="group", role="view"))

    @property
    def deploys_site(self) -> bool:
        """Whether this stack builds a cluster: a standby in backup-restore keeps nothing but its config until failover."""
        return not self.standby or self.dr.active or self.dr.mode != "backup-restore"

    @property
    def serves_models(self) -> bool:
        """Whether model servers run here: the primary, an active standby, and a warm standby."""
        return not self.standby or self.dr.active or self.dr.mode == "warm-standby"

    @property
    def gpu_nodes_now(self) -> int:
        """GPU workers this stack keeps: gpuPool.nodes, or a standby's reduced count while it is not active."""
        if not self.standby or self.dr.active:
            return self.gpu_pool.nodes
        if self.dr.standby_gpu_nodes is not None:
            return self.dr.standby_gpu_nodes
        return self.gpu_pool.nodes if self.dr.mode == "warm-standby" else 0

    @field_validator("models")
    @classmethod
    def _model_keys_are_labels(cls, value: dict[str, ModelConfig]) -> dict[str, ModelConfig]:
        bad = [key for key in value if not re.match(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$", key)]
        if bad:
            fixed = [re.sub(r"[^a-z0-9-]+", "-", k.lower()).strip("-")[:40].strip("-") for k in bad]
            raise ValueError(f"model keys become Kubernetes names; use lowercase DNS labels of at most 40 characters: "
                             f"{bad}, e.g. {fixed}")
        return value


SECTION_VALIDATORS: dict[str, TypeAdapter] = {
    "vsphere": TypeAdapter(VsphereConfig),
    "tanzu": TypeAdapter(TanzuConfig),
    "gpuPool": TypeAdapter(GpuPoolConfig),
    "addons": TypeAdapter(AddonsConfig),
    "models": TypeAdapter(dict[str, ModelConfig]),
    "observability": TypeAdapter(ObservabilityConfig),
    "site": TypeAdapter(SiteConfig),
    "dr": TypeAdapter(DrConfig),
    "compliance": TypeAdapter(ComplianceConfig),
    "cost": TypeAdapter(CostConfig),
    "catalog": TypeAdapter(CatalogConfig),
    "aria": TypeAdapter(AriaConfig),
    "gateway": TypeAdapter(GatewayConfig),
    "access": TypeAdapter(AccessConfig),
    "audit": TypeAdapter(AuditConfig),
    "waits": TypeAdapter(WaitsConfig),
    "benchmark": TypeAdapter(BenchmarkConfig),
    "evaluation": TypeAdapter(EvaluationConfig),
}


SECTIONS = tuple(SECTION_VALIDATORS)


# ---------------------------------------------------------------------------------------------
# Secrets: which config keys hold them, and when each is required
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretKey:
    key: str
    purpose: str
    required_when: Callable[[PlatformConfig], bool]
    from_file: str | None = None
    """For values that are files (kubeconfigs, certificates, tokens): the file the command reads."""
    when: str = "the stack deploys a site (not a backup-restore standby before failover)"
    """``required_when`` in words, for the config reference (a test holds the two together)."""

    @property
    def command(self) -> str:
        """The command that sets it: prompting for typed values, reading stdin for files."""
        base = f"pulumi config set --secret {self.key}"
        return f"{base} < {self.from_file}" if self.from_file else base


def _deploys(c: PlatformConfig) -> bool:
    return c.deploys_site


_WHEN_PRIMARY_DR = "`dr.enabled` on the primary (not `site.role: standby`)"
_WHEN_STANDBY_DR = ("`dr.enabled` on a standby (`site.role: standby`) that deploys its site (not backup-restore "
                    "before failover)")
_WHEN_DR = "`dr.enabled` on a stack that deploys its site (the primary, and a standby except backup-restore before failover)"
_WHEN_AUDIT = "the stack deploys a site with `audit.enabled`"
_WHEN_ANCHOR = "the stack deploys a site with `audit.enabled` and `audit.anchor` set"
_WHEN_ARIA = "the stack deploys a site with `aria.enabled`"

SECRET_KEYS: tuple[SecretKey, ...] = (
    SecretKey("vspherePassword", "password of vsphere.user", _deploys),
    SecretKey("supervisorKubeconfig", "kubeconfig of the Supervisor (vSphere Namespace scope)", _deploys,
              "supervisor-kubeconfig.yaml"),
    SecretKey("registryPassword", "password of tanzu.registry.username", _deploys),
    SecretKey(
        "nlsClientToken",
        "NVIDIA License System client configuration token for vGPU guest drivers",
        lambda c: c.deploys_site and c.gpu_pool.mode == "vgpu", "client_configuration_token.tok",
        "the stack deploys a site and `gpuPool.mode` is `vgpu`",
    ),
    SecretKey(
        "hfToken",
        "Hugging Face token for gated repositories",
        lambda c: c.serves_models and any(m.source == "huggingface" for m in c.models.values()),
        when="models are served here (not a cold standby before failover) and one has `source: huggingface`",
    ),
    SecretKey(
        "alertSmtpPassword", "password of observability.alertEmail.username",
        lambda c: c.deploys_site and c.observability.enabled and c.observability.alert_email is not None
        and c.observability.alert_email.username is not None,
        when="the stack deploys a site with `observability.enabled` and `observability.alertEmail.username` set",
    ),
    SecretKey(
        "alertWebhookUrl", "Alertmanager webhook URL (it often embeds a token)",
        lambda c: c.deploys_site and c.observability.enabled and c.observability.alert_webhook,
        when="the stack deploys a site with `observability.enabled` and `observability.alertWebhook: true`",
    ),
    SecretKey(
        "deadMansSwitchUrl", "heartbeat URL of the external dead-man's switch that Alertmanager pings with Watchdog "
        "(each site's stack its own check)",
        lambda c: c.deploys_site and c.observability.enabled and c.compliance.tier == "production",
        when="the stack deploys a site with `observability.enabled` and `compliance.tier: production`",
    ),
    SecretKey("backupS3AccessKeyId", "access key of the backup bucket (the primary's Velero writes)",
              lambda c: c.dr.enabled and not c.standby, when=_WHEN_PRIMARY_DR),
    SecretKey("backupS3SecretAccessKey", "secret key of the backup bucket", lambda c: c.dr.enabled and not c.standby,
              when=_WHEN_PRIMARY_DR),
    SecretKey("backupS3ReadOnlyAccessKeyId", "read-only access key of the backup bucket (the standby's Velero)",
              lambda c: c.dr.enabled and c.standby and c.deploys_site, when=_WHEN_STANDBY_DR),
    SecretKey("backupS3ReadOnlySecretAccessKey", "read-only secret key of the backup bucket",
              lambda c: c.dr.enabled and c.standby and c.deploys_site, when=_WHEN_STANDBY_DR),
    SecretKey("backupRepositoryPassword",
              "encryption key of Velero's backup repositories: the same value on the primary's and the standby's "
              "stack, kept in the site's vault, since backups cannot be read without it (at least 32 characters)",
              lambda c: c.dr.enabled and c.deploys_site, when=_WHEN_DR),
    SecretKey("ariaRefreshToken", "Aria Automation API refresh token", lambda c: c.deploys_site and c.aria.enabled,
              when=_WHEN_ARIA),
    SecretKey("gatewayTlsCert", "PEM certificate chain of gateway.hostname", _deploys, "llm.crt"),
    SecretKey("gatewayTlsKey", "PEM private key of the gateway certificate", _deploys, "llm.key"),
    SecretKey("upstreamTlsKey", "PEM private key of gateway.upstreamTls.certificate, which vLLM serves",
              lambda c: c.serves_models and c.gateway.upstream_tls.enabled, "serving.key",
              when="`gateway.upstreamTls.enabled` on a stack that serves models"),
    SecretKey("benchmarkToken", "bearer token of a group the benchmarked models admit (from the identity provider)",
              lambda c: c.serves_models and c.benchmark.enabled, "benchmark.token",
              when="`benchmark.enabled` on a stack that serves models"),
    SecretKey("evaluationToken", "bearer token of a group the evaluated models admit (from the identity provider)",
              lambda c: c.serves_models and c.evaluation.enabled, "evaluation.token",
              when="`evaluation.enabled` on a stack that serves models"),
    SecretKey("auditS3AccessKeyId", "shipping access key of the audit bucket (s3:PutObject on logs/ only)",
              lambda c: c.deploys_site and c.audit.enabled, when=_WHEN_AUDIT),
    SecretKey("auditS3SecretAccessKey", "shipping secret key of the audit bucket",
              lambda c: c.deploys_site and c.audit.enabled, when=_WHEN_AUDIT),
    SecretKey("auditSealS3AccessKeyId",
              "sealing access key of the audit bucket (list, read versions, lock configuration; put manifests/ only)",
              lambda c: c.deploys_site and c.audit.enabled, when=_WHEN_AUDIT),
    SecretKey("auditSealS3SecretAccessKey", "sealing secret key of the audit bucket",
              lambda c: c.deploys_site and c.audit.enabled, when=_WHEN_AUDIT),
    SecretKey("auditSigningKey", "Ed25519 private key (PEM, PKCS#8) that signs the daily audit manifests",
              lambda c: c.deploys_site and c.audit.enabled, "audit-signing-key.pem", _WHEN_AUDIT),
    SecretKey("auditAnchorAccessKeyId", "access key of the anchor store (s3:PutObject on its prefix only)",
              lambda c: c.deploys_site and c.audit.enabled and c.audit.anchor is not None, when=_WHEN_ANCHOR),
    SecretKey("auditAnchorSecretAccessKey", "secret key of the anchor store",
              lambda c: c.deploys_site and c.audit.enabled and c.audit.anchor is not None, when=_WHEN_ANCHOR),
)
SECRET_NAMES = frozenset(s.key for s in SECRET_KEYS)

# Keys of the two-site stack layout, where one stack held both sites: each names where its setting lives now.
RETIRED_KEYS: dict[str, str] = {
    "drVspherePassword": "the standby site is its own stack: set `vspherePassword` on the standby's stack",
    "drSupervisorKubeconfig": "the standby site is its own stack: set `supervisorKubeconfig` on the standby's stack",
    "drRegistryPassword": "the standby site is its own stack: set `registryPassword` on the standby's stack",
    "drDeadMansSwitchUrl": "the standby site is its own stack: set `deadMansSwitchUrl` on the standby's stack",
}
