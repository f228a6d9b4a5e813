"""The pod of one vLLM endpoint: arguments, environment, probes, security, volumes, scheduling.

Pure builders of typed Kubernetes args so VllmService reads top-down and tests can call them
directly. Everything here follows ../reference facts about the vLLM OpenAI server image: it starts
``vllm serve`` (container args are appended), serves the API, /health and /metrics on one port,
and reads its settings from flags, not environment variables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.builders import k8s as _k8s
from components.builders import serving_tls
from components.builders.cluster_spec import GPU_NODE_LABELS, GPU_TAINT
from components.config import ModelConfig
from components.planning.sizing import shm_gib, startup_failure_threshold

API_PORT = 8000
PORT_NAME = "http"
RUN_AS_USER = 10001
"""Above 10000, so no UID of the node's own users; the vLLM image's arbitrary-UID wrapper accepts any UID."""
MODELS_MOUNT = "/models"
CACHE_MOUNT = "/cache"
API_KEY_ENTRY = "api-key"
"""The Secret entry of the even key generations' slot; the odd ones' is ODD_API_KEY_ENTRY."""
ODD_API_KEY_ENTRY = "api-key-odd"


def key_entry(generation: int) -> str:
    """The Secret entry holding a key generation. Both entries always exist and a rotation rewrites only the new
    generation's, so a pod that restarts on an older template still reads the keys it was made to accept."""
    return API_KEY_ENTRY if generation % 2 == 0 else ODD_API_KEY_ENTRY


HF_TOKEN_ENTRY = "token"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"
"""The Hugging Face token is a file here (huggingface_hub reads HF_TOKEN_PATH), never an environment variable."""

# Runs in the vLLM image: fetches the revision and verifies every file against the pinned manifest
# (components/jobs/stage_weights.py says how). One staging runs per volume at a time: one Job per revision
# (replaced delete-before-create), or the init container of the pod that owns the volume.
DOWNLOAD_SCRIPT = (Path(__file__).parent.parent / "jobs" / "stage_weights.py").read_text()
WEIGHTS_IDENTITY = "onprem-llm.io/weights-manifest"
"""Pod template annotation: the digest of the weights manifest the replicas serve (``unverified`` without one)."""
# Runs in the weights-verifier image (images/weights-verifier/), after the staging step: checks the site's
# model-signing signature of the staged files (components/jobs/verify_signature.py says how).
VERIFY_SCRIPT = (Path(__file__).parent.parent / "jobs" / "verify_signature.py").read_text()
VERIFY_CONTAINER = "verify-signature"
"""The verifier's container name, the same as an init container and in the staging Job: the audit shipper finds its
log by it (components/resources/audit.py)."""
WEIGHTS_SIGNER = "onprem-llm.io/weights-signer"
"""Pod template annotation: who must have signed the weights the replicas serve (absent without a signature)."""


def model_dir(model: ModelConfig) -> str:
    """One directory per revision, so a new revision never mixes files with the one being served."""
    return f"{MODELS_MOUNT}/{model.huggingface_repo.replace('/', '--')}/{model.revision}"


def vllm_args(model: ModelConfig) -> list[str]:
    args = [
        model_dir(model),
        "--served-model-name", model.served_model_name,
        "--tensor-parallel-size", str(model.tensor_parallel_size),
        "--gpu-memory-utilization", str(model.gpu_memory_utilization),
        "--max-model-len", str(model.max_model_len),
        "--max-num-seqs", str(model.max_num_seqs),
        # A cap, not a default: the pinned vLLM takes the smallest of the request's max_tokens (or
        # max_completion_tokens), this override and what the context leaves (get_max_tokens in
        # vllm/entrypoints/serve/utils/api_utils.py, v0.34.0), with any --generation-config. The gateway reserves it.
        "--override-generation-config", json.dumps({"max_new_tokens": model.max_tokens_ceiling}, separators=(",", ":")),
        "--dtype", model.dtype,
        "--kv-cache-dtype", model.kv_cache_dtype,
        "--port", str(API_PORT),
    ]
    if model.quantization:
        args += ["--quantization", model.quantization]
    return args + list(model.extra_args)


def _env(name: str, value: str) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(name=name, value=value)


def _secret_env(name: str, secret: str, key: str) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(
        name=name,
        value_from=k8s.core.v1.EnvVarSourceArgs(secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key)),
    )


# The root filesystem is read-only: every path vLLM, PyTorch or huggingface_hub writes to is an emptyDir.
_WRITABLE_HOME = [
    _env("HOME", f"{CACHE_MOUNT}/home"),
    _env("HF_HOME", f"{CACHE_MOUNT}/huggingface"),
    _env("TMPDIR", "/tmp"),
]


def accepts_previous_key(model: ModelConfig) -> bool:
    """During a key rotation (``prepare`` and ``switch``) the replicas accept the previous key beside the new one."""
    return model.api_key_stage in ("prepare", "switch")


def api_key_args(model: ModelConfig) -> list[str]:
    """Both keys during a rotation. vLLM takes several only on its command line (`--api-key` is a list,
    VLLM_API_KEY holds one); Kubernetes expands the references from the environment, so no manifest holds a key."""
    return ["--api-key", "$(VLLM_API_KEY)", "$(VLLM_API_KEY_PREVIOUS)"] if accepts_previous_key(model) else []


def vllm_env(api_key_secret: str, generation: int = 0, previous_key: bool = False) -> list[k8s.core.v1.EnvVarArgs]:
    return [
        _secret_env("VLLM_API_KEY", api_key_secret, key_entry(generation)),
        *([_secret_env("VLLM_API_KEY_PREVIOUS", api_key_secret, key_entry(generation - 1))] if previous_key else []),
        # Usage statistics are on by default and leave the site; prompts are ePHI.
        _env("VLLM_NO_USAGE_STATS", "1"),
        _env("DO_NOT_TRACK", "1"),
        # Serve only the pre-staged weights; never reach a model hub at start.
        _env("HF_HUB_OFFLINE", "1"),
        _env("VLLM_CACHE_ROOT", f"{CACHE_MOUNT}/vllm"),
        _env("VLLM_CONFIG_ROOT", f"{CACHE_MOUNT}/vllm-config"),
        *_WRITABLE_HOME,
    ]


def download_env(model: ModelConfig, hf_token_secret: str | None,
                 trust_bundle: bool = False) -> list[k8s.core.v1.EnvVarArgs]:
    env = [
        _env("MODEL_REPO", model.huggingface_repo),
        _env("MODEL_REVISION", model.revision),
        _env("MODEL_DIR", model_dir(model)),
        _env("HF_HUB_DISABLE_TELEMETRY", "1"),
        *_WRITABLE_HOME,
    ]
    if model.weights_manifest:
        env += [_env("WEIGHTS_MANIFEST", json.dumps(model.weights_manifest, sort_keys=True, separators=(",", ":"))),
                _env("WEIGHTS_MANIFEST_DIGEST", model.weights_identity)]
    if model.allow_pickle:
        env.append(_env("ALLOW_PICKLE", "1"))
    if model.weights_signature is not None:
        env.append(_env("WEIGHTS_SIGNATURE", model.weights_signature.file))
    if model.source == "mirror":
        env.append(_env("HF_ENDPOINT", model.mirror_url or ""))
    if hf_token_secret:
        env.append(_env("HF_TOKEN_PATH", f"{HF_TOKEN_DIR}/{HF_TOKEN_ENTRY}"))
    if trust_bundle:
        env.append(_env("SITE_TRUST_BUNDLE", _k8s.TRUST_BUNDLE_FILE))
    return env


def hf_token_volume(hf_token_secret: str | None, trust_bundle: bool = False) -> list[k8s.core.v1.VolumeArgs]:
    """What staging reads besides the weights: the Hugging Face token Secret as a read-only file (none without a
    token), and the site's trust bundle (with ``trust_bundle``)."""
    trust = [_k8s.trust_bundle_volume()] if trust_bundle else []
    if not hf_token_secret:
        return trust
    return trust + [k8s.core.v1.VolumeArgs(name="hf-token", secret=k8s.core.v1.SecretVolumeSourceArgs(
        secret_name=hf_token_secret, default_mode=0o400,
        items=[k8s.core.v1.KeyToPathArgs(key=HF_TOKEN_ENTRY, path=HF_TOKEN_ENTRY)],
    ))]


def container_security() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def pod_security() -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def _probe(period: int, failures: int, timeout: int = 5, tls: bool = False) -> k8s.core.v1.ProbeArgs:
    # Over TLS the kubelet does not verify the certificate; /health carries no prompt. Plain HTTP keeps the default
    # unset, so a stack without TLS keeps its templates (and its running replicas) as they were.
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path="/health", port=PORT_NAME, scheme="HTTPS" if tls else None),
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failures,
    )


def resources(model: ModelConfig) -> k8s.core.v1.ResourceRequirementsArgs:
    # /dev/shm is memory-backed and counts against the limit, so it is added on top.
    memory = f"{model.resources.memory_gib + shm_gib(model.tensor_parallel_size)}Gi"
    amounts = {"cpu": str(model.resources.cpu), "memory": memory, "nvidia.com/gpu": str(model.tensor_parallel_size)}
    return k8s.core.v1.ResourceRequirementsArgs(requests=amounts, limits=amounts)


def download_resources() -> k8s.core.v1.ResourceRequirementsArgs:
    amounts = {"cpu": "2", "memory": "4Gi"}
    return k8s.core.v1.ResourceRequirementsArgs(requests=amounts, limits=amounts)


def vllm_container(model: ModelConfig, api_key_secret: str, tls_secret: str | None = None) -> k8s.core.v1.ContainerArgs:
    """The server; with ``tls_secret`` (its serving certificate's Secret) it serves HTTPS and its probes follow."""
    tls = tls_secret is not None
    return k8s.core.v1.ContainerArgs(
        name="vllm",
        image=model.image.reference,
        image_pull_policy="IfNotPresent",
        args=vllm_args(model) + (serving_tls.vllm_args() if tls else []) + api_key_args(model),
        env=vllm_env(api_key_secret, model.api_key_rotation, accepts_previous_key(model)),
        ports=[k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=API_PORT, protocol="TCP")],
        resources=resources(model),
        # Loading weights and capturing CUDA graphs takes minutes; liveness only starts after this.
        startup_probe=_probe(10, startup_failure_threshold(model.startup_timeout_seconds), tls=tls),
        readiness_probe=_probe(5, 3, tls=tls),
        liveness_probe=_probe(10, 3, tls=tls),
        # Let the Service drop the endpoint before vLLM stops taking requests.
        lifecycle=k8s.core.v1.LifecycleArgs(pre_stop=k8s.core.v1.LifecycleHandlerArgs(
            exec_=k8s.core.v1.ExecActionArgs(command=["sleep", "10"])
        )),
        security_context=container_security(),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="weights", mount_path=MODELS_MOUNT, read_only=True),
            k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_MOUNT),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
            k8s.core.v1.VolumeMountArgs(name="shm", mount_path="/dev/shm"),
            *([serving_tls.mount()] if tls else []),
        ],
    )


def download_container(model: ModelConfig, hf_token_secret: str | None,
                       trust_bundle: bool = False) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name="stage-weights",
        image=model.image.reference,
        image_pull_policy="IfNotPresent",
        command=["python3", "-c", DOWNLOAD_SCRIPT],
        env=download_env(model, hf_token_secret, trust_bundle),
        resources=download_resources(),
        security_context=container_security(),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="weights", mount_path=MODELS_MOUNT),
            k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_MOUNT),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
            *([k8s.core.v1.VolumeMountArgs(name="hf-token", mount_path=HF_TOKEN_DIR, read_only=True)]
              if hf_token_secret else []),
            *([_k8s.trust_bundle_mount()] if trust_bundle else []),
        ],
    )


def verify_env(model: ModelConfig) -> list[k8s.core.v1.EnvVarArgs]:
    """What the verifier checks the staged revision against: all of it public (keys, CA chain, trust root)."""
    sig = model.weights_signature
    material = {"SIGNING_PUBLIC_KEY": sig.public_key, "SIGNING_CA_CHAIN": sig.ca_chain, "SIGNER_IDENTITY": sig.identity,
                "SIGSTORE_OIDC_ISSUER": sig.oidc_issuer, "SIGSTORE_TRUST_CONFIG": sig.trust_config}
    return [
        _env("MODEL_REPO", model.huggingface_repo),
        _env("MODEL_REVISION", model.revision),
        _env("MODEL_DIR", model_dir(model)),
        _env("WEIGHTS_MANIFEST_DIGEST", model.weights_identity),
        _env("SIGNATURE_FILE", sig.file),
        _env("SIGNATURE_METHOD", sig.method),
        *[_env(name, value) for name, value in material.items() if value is not None],
        _env("PYTHONDONTWRITEBYTECODE", "1"),
        *_WRITABLE_HOME,
    ]


def verify_container(model: ModelConfig) -> k8s.core.v1.ContainerArgs:
    """The signature check of the staged revision; it only reads the weights."""
    return k8s.core.v1.ContainerArgs(
        name=VERIFY_CONTAINER,
        image=model.weights_signature.verifier_image.reference,
        image_pull_policy="IfNotPresent",
        command=["python3", "-c", VERIFY_SCRIPT],
        env=verify_env(model),
        # Hashing streams each file once; the signature and keys are small.
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "1", "memory": "1Gi"},
                                                       limits={"cpu": "1", "memory": "1Gi"}),
        security_context=container_security(),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="weights", mount_path=MODELS_MOUNT, read_only=True),
            k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_MOUNT),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
        ],
    )


def staging_containers(model: ModelConfig, hf_token_secret: str | None,
                       trust_bundle: bool = False) -> list[k8s.core.v1.ContainerArgs]:
    """Staging, then (with a signature) its verification: in this order, each must succeed before the next runs."""
    verify = [verify_container(model)] if model.weights_signature is not None else []
    return [download_container(model, hf_token_secret, trust_bundle), *verify]


def scratch_volumes(model: ModelConfig | None) -> list[k8s.core.v1.VolumeArgs]:
    """emptyDirs for caches and temp files; with a model, also the memory-backed /dev/shm."""
    volumes = [
        k8s.core.v1.VolumeArgs(name="cache", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="20Gi")),
        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="4Gi")),
    ]
    if model is not None:
        shm = f"{shm_gib(model.tensor_parallel_size)}Gi"
        volumes.append(k8s.core.v1.VolumeArgs(
            name="shm", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=shm),
        ))
    return volumes


def gpu_scheduling(selector: dict[str, str]) -> dict:
    """Node selection, tolerations and spreading of replicas across GPU nodes."""
    return {
        "node_selector": GPU_NODE_LABELS,
        "tolerations": [k8s.core.v1.TolerationArgs(
            key=GPU_TAINT["key"], operator="Equal", value=GPU_TAINT["value"], effect=GPU_TAINT["effect"]
        )],
        "topology_spread_constraints": [k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key="kubernetes.io/hostname",
            when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        )],
        "affinity": k8s.core.v1.AffinityArgs(pod_anti_affinity=k8s.core.v1.PodAntiAffinityArgs(
            preferred_during_scheduling_ignored_during_execution=[k8s.core.v1.WeightedPodAffinityTermArgs(
                weight=100,
                pod_affinity_term=k8s.core.v1.PodAffinityTermArgs(
                    topology_key="kubernetes.io/hostname",
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                ),
            )],
        )),
    }


def pod_spec(model: ModelConfig, service_account: str, api_key_secret: str, pull_secret: str, selector: dict[str, str],
             weights: k8s.core.v1.VolumeArgs | None, hf_token_secret: str | None,
             stage_in_pod: bool, trust_bundle: bool = False, tls_secret: str | None = None) -> k8s.core.v1.PodSpecArgs:
    """The vLLM pod. ``stage_in_pod`` adds the download as an init container (per-replica volumes); ``tls_secret``
    serves HTTPS with that Secret's certificate."""
    volumes = scratch_volumes(model) + ([weights] if weights is not None else []) + (
        hf_token_volume(hf_token_secret, trust_bundle) if stage_in_pod else []) + (
        [serving_tls.volume(tls_secret)] if tls_secret else [])
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account,
        automount_service_account_token=False,
        # Service links would inject <SVC>_PORT variables; vLLM parses VLLM_PORT and crashes on them.
        enable_service_links=False,
        image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=pull_secret)],
        security_context=pod_security(),
        init_containers=staging_containers(model, hf_token_secret, trust_bundle) if stage_in_pod else None,
        containers=[vllm_container(model, api_key_secret, tls_secret)],
        volumes=volumes,
        # In-flight generations finish within this window after SIGTERM.
        termination_grace_period_seconds=120,
        **gpu_scheduling(selector),
    )


def labels_for(pulumi_name: str) -> dict[str, pulumi.Input[str]]:
    return {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": pulumi_name}
