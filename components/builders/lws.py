"""The LeaderWorkerSet of a model whose replica spans nodes: one group of pods per replica.

Pure builders of typed Kubernetes args, following vLLM's multi-node recipe for the pinned image
(vllm-project/vllm ``examples/online_serving/multi-node-serving.sh`` and its LeaderWorkerSet guide):
the group's pods form a Ray cluster; the leader starts the Ray head, waits until every pod of the
group has joined, then runs ``vllm serve`` with ``--tensor-parallel-size`` (within a node),
``--pipeline-parallel-size`` (one stage per node) and ``--distributed-executor-backend ray``; each
worker joins the leader's Ray cluster at ``$LWS_LEADER_ADDRESS`` and blocks. The LeaderWorkerSet
controller (kubernetes-sigs/lws) creates the leader's StatefulSet and one worker StatefulSet per
group from the two templates and injects ``LWS_LEADER_ADDRESS`` and ``LWS_GROUP_SIZE``.

The pods are the single-node pod of ``components.builders.vllm_pod`` (security context, environment,
volumes, scheduling, weights staging) with the group's command, resources and settings on top, so
both stay alike. Every port the group uses between its pods is pinned, so the NetworkPolicies can
name them: Ray's (``RAY_PORTS``, ``RAY_WORKER_PORTS``) and, through the pod's ephemeral port range
(a safe sysctl), NCCL's, torch.distributed's and vLLM's ZeroMQ sockets (``EPHEMERAL_PORTS``).
Traffic between the pods is NCCL's socket transport over the pod network: GPUDirect RDMA would need
the IPC_LOCK capability, which Pod Security restricted refuses.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.builders import serving_tls
from components.builders.vllm_pod import api_key_args, hf_token_volume, pod_spec, scratch_volumes, vllm_args, vllm_container
from components.config import ModelConfig
from components.planning.sizing import GIB, RAY_OBJECT_STORE_GIB, Layout, group_pod_shm_gib

API_VERSION = "leaderworkerset.x-k8s.io/v1"
KIND = "LeaderWorkerSet"
ROLE_LABEL = "onprem-llm.io/group-role"
"""Label of the pod templates: ``leader`` (runs the API server) or ``worker``."""
LEADER, WORKER = "leader", "worker"
SET_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"
"""Set by the controller on every pod of a group."""
GROUP_METRIC_LABEL = "group"
"""The label the ServiceMonitor gives each leader's series: the index of its group."""

RAY_HEAD_PORT = 6379
RAY_PORTS = {
    "node-manager-port": 6380,
    "object-manager-port": 6381,
    "runtime-env-agent-port": 6382,
    "dashboard-agent-grpc-port": 6383,
    "dashboard-agent-listen-port": 6384,
    "metrics-export-port": 6385,
}
"""Ray's own ports beside the head's GCS port, pinned instead of picked at random."""
RAY_WORKER_PORTS = (10002, 10100)
"""Ports of Ray's worker processes (vLLM's GPU workers are Ray actors the engine calls)."""
EPHEMERAL_PORTS = (20000, 20999)
"""The pods' ephemeral port range: NCCL, torch.distributed and vLLM's ZeroMQ queues listen on ports the
kernel picks from it (net.ipv4.ip_local_port_range, a safe sysctl that Pod Security restricted admits)."""
GROUP_PORT_RANGES = ((RAY_HEAD_PORT, max(RAY_PORTS.values())), RAY_WORKER_PORTS, EPHEMERAL_PORTS)
"""What the pods of a group may open to each other, as (first, last) TCP port ranges."""
POD_INTERFACE = "eth0"
"""The pod's network interface (Antrea on TKG), which NCCL and Gloo must use."""
RESTART_POLICY = "RecreateGroupAfterStart"
"""A group restarts as a whole when one of its pods fails (vLLM cannot rejoin a worker to a running engine),
but not while a pod is still pending: an init container retrying a weights download does not restart its peers."""


def distributed_env() -> list[k8s.core.v1.EnvVarArgs]:
    """What Ray, NCCL and vLLM need to find each other over the pod network, and no telemetry from Ray."""
    return [
        # vLLM and Ray both identify the node by this address; the pod IP, never a guess.
        k8s.core.v1.EnvVarArgs(name="VLLM_HOST_IP", value_from=k8s.core.v1.EnvVarSourceArgs(
            field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="status.podIP"))),
        k8s.core.v1.EnvVarArgs(name="NCCL_SOCKET_IFNAME", value=POD_INTERFACE),
        k8s.core.v1.EnvVarArgs(name="GLOO_SOCKET_IFNAME", value=POD_INTERFACE),
        # Node VMs have no InfiniBand; NCCL uses its socket transport over the pod network.
        k8s.core.v1.EnvVarArgs(name="NCCL_IB_DISABLE", value="1"),
        # Ray collects usage statistics by default and sends them off-site; prompts are ePHI.
        k8s.core.v1.EnvVarArgs(name="RAY_USAGE_STATS_ENABLED", value="0"),
    ]


def ray_start_flags(model: ModelConfig, lay: Layout) -> list[str]:
    """Flags of `ray start` on every pod of the group: the pod's own resources and the pinned ports."""
    flags = [
        '--node-ip-address="$VLLM_HOST_IP"',
        f"--num-gpus={lay.gpus_per_node}",
        f"--num-cpus={model.resources.cpu}",
        f"--object-store-memory={RAY_OBJECT_STORE_GIB * GIB}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    flags += [f"--{flag}={port}" for flag, port in RAY_PORTS.items()]
    return flags + [f"--min-worker-port={RAY_WORKER_PORTS[0]}", f"--max-worker-port={RAY_WORKER_PORTS[1]}"]


def leader_script(model: ModelConfig, lay: Layout) -> str:
    """The leader: the Ray head, a wait until the whole group has joined, then `vllm serve` with the container's args."""
    flags = " ".join(ray_start_flags(model, lay))
    count = ('python3 -c "import ray; ray.init(address=\'auto\', logging_level=\'error\'); '
             'print(sum(1 for n in ray.nodes() if n[\'Alive\']))" 2>/dev/null || echo 0')
    return "\n".join([
        "set -eu",
        f"ray start --head --port={RAY_HEAD_PORT} {flags}",
        f'until [ "$({count})" -ge "$LWS_GROUP_SIZE" ]; do',
        '  echo "waiting for the ${LWS_GROUP_SIZE} pods of the group to join the Ray cluster"',
        "  sleep 5",
        "done",
        'exec vllm serve "$@"',
    ]) + "\n"


def worker_script(model: ModelConfig, lay: Layout) -> str:
    """A worker: join the leader's Ray cluster, retrying until its head is up, and block."""
    flags = " ".join(ray_start_flags(model, lay))
    return "\n".join([
        f'until ray start --address="$LWS_LEADER_ADDRESS:{RAY_HEAD_PORT}" {flags} --block; do',
        '  echo "waiting for the Ray head of the group leader $LWS_LEADER_ADDRESS"',
        "  sleep 5",
        "done",
    ]) + "\n"


def serve_args(model: ModelConfig, lay: Layout, tls: bool = False) -> list[str]:
    """`vllm serve` arguments of the leader: the single-node ones plus the pipeline and the Ray executor (and its
    serving certificate with ``tls``)."""
    return vllm_args(model) + [
        "--pipeline-parallel-size", str(lay.pipeline_parallel),
        "--distributed-executor-backend", "ray",
    ] + (serving_tls.vllm_args() if tls else []) + api_key_args(model)


def pod_resources(model: ModelConfig, lay: Layout) -> k8s.core.v1.ResourceRequirementsArgs:
    """Requests = limits per pod: its node's share of the replica's GPUs, and /dev/shm on top of the memory."""
    memory = f"{model.resources.memory_gib + group_pod_shm_gib(lay.gpus_per_node)}Gi"
    amounts = {"cpu": str(model.resources.cpu), "memory": memory, "nvidia.com/gpu": str(lay.gpus_per_node)}
    return k8s.core.v1.ResourceRequirementsArgs(requests=amounts, limits=amounts)


def _set(typed: Any, /, **fields: Any) -> Any:
    """A copy of typed args with some fields replaced (the rest as the single-node builders made them)."""
    changed = copy.copy(typed)
    for name, value in fields.items():
        pulumi.set(changed, name, value)
    return changed


def leader_container(model: ModelConfig, lay: Layout, api_key_secret: str,
                     tls_secret: str | None = None) -> k8s.core.v1.ContainerArgs:
    """The single-node vLLM container (probes, port, security, mounts) started through the Ray head."""
    base = vllm_container(model, api_key_secret, tls_secret)
    return _set(base, command=["/bin/bash", "-c", leader_script(model, lay), "vllm-leader"],
                args=serve_args(model, lay, tls_secret is not None), env=[*base.env, *distributed_env()],
                resources=pod_resources(model, lay))


def worker_container(model: ModelConfig, lay: Layout, api_key_secret: str) -> k8s.core.v1.ContainerArgs:
    """A Ray worker holding its node's GPUs: no API server, so no port, no probes (the leader's cover the group) and
    no serving certificate."""
    base = vllm_container(model, api_key_secret)
    return _set(base, name="vllm-worker", command=["/bin/bash", "-c", worker_script(model, lay)], args=None,
                env=[*base.env, *distributed_env()], resources=pod_resources(model, lay), ports=None,
                startup_probe=None, readiness_probe=None, liveness_probe=None, lifecycle=None)


def group_pod_spec(model: ModelConfig, lay: Layout, role: str, service_account: str, api_key_secret: str,
                   pull_secret: str, selector: dict[str, str], weights: k8s.core.v1.VolumeArgs | None,
                   hf_token_secret: str | None, stage_in_pod: bool, trust_bundle: bool = False,
                   tls_secret: str | None = None) -> k8s.core.v1.PodSpecArgs:
    """The pod of one member of a group, ``role`` leader or worker; the leader serves HTTPS with ``tls_secret``."""
    base = pod_spec(model, service_account=service_account, api_key_secret=api_key_secret, pull_secret=pull_secret,
                    selector=selector, weights=weights, hf_token_secret=hf_token_secret, stage_in_pod=stage_in_pod,
                    trust_bundle=trust_bundle)
    leads = role == LEADER
    container = (leader_container(model, lay, api_key_secret, tls_secret) if leads
                 else worker_container(model, lay, api_key_secret))
    shm = k8s.core.v1.VolumeArgs(name="shm", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
        medium="Memory", size_limit=f"{group_pod_shm_gib(lay.gpus_per_node)}Gi"))
    # The staging init container (per-pod weights) reads the Hugging Face token from its Secret volume.
    volumes = scratch_volumes(None) + [shm] + ([weights] if weights is not None else []) + (
        hf_token_volume(hf_token_secret, trust_bundle) if stage_in_pod else []) + (
        [serving_tls.volume(tls_secret)] if leads and tls_secret else [])
    security = _set(base.security_context, sysctls=[k8s.core.v1.SysctlArgs(
        name="net.ipv4.ip_local_port_range", value=f"{EPHEMERAL_PORTS[0]} {EPHEMERAL_PORTS[1]}")])
    return _set(base, containers=[container], volumes=volumes, security_context=security)


def leader_worker_set_spec(lay: Layout, leader: k8s.core.v1.PodTemplateSpecArgs,
                           worker: k8s.core.v1.PodTemplateSpecArgs,
                           claims: list[k8s.core.v1.PersistentVolumeClaimArgs] | None = None) -> dict[str, Any]:
    """The LeaderWorkerSet's spec: ``lay.nodes`` pods per group, groups rolled one at a time with a surge group."""
    template: dict[str, Any] = {
        "size": lay.nodes,
        "restartPolicy": RESTART_POLICY,
        "leaderTemplate": leader,
        "workerTemplate": worker,
    }
    if claims:
        # Every pod stages its own weights; the volumes outlive the group and the LeaderWorkerSet.
        template["volumeClaimTemplates"] = claims
        template["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain", "whenScaled": "Retain"}
    return {
        # No replicas: KEDA owns the group count through the scale subresource.
        "startupPolicy": "LeaderCreated",
        # A new group must be Ready before an old one goes: never drop the last one.
        "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": {"maxSurge": 1, "maxUnavailable": 0}},
        "networkConfig": {"subdomainPolicy": "Shared"},
        "leaderWorkerTemplate": template,
    }


def leader_selector(selector: dict[str, str]) -> dict[str, str]:
    """The model's pods that run the API server: one per group."""
    return {**selector, ROLE_LABEL: LEADER}


def group_ports() -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=first, end_port=last)
            for first, last in GROUP_PORT_RANGES]


def group_ingress_spec(selector: dict[str, str]) -> k8s.networking.v1.NetworkPolicySpecArgs:
    """The model's pods accept the group ports from the model's own pods, and from nothing else."""
    peers = [k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector))]
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        policy_types=["Ingress"],
        ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers, ports=group_ports())],
    )


def group_egress_spec(selector: dict[str, str]) -> k8s.networking.v1.NetworkPolicySpecArgs:
    """The model's pods reach the group ports of the model's own pods, and nothing else beyond the namespace's rules."""
    peers = [k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector))]
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        policy_types=["Egress"],
        egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=peers, ports=group_ports())],
    )


def disruption_budget_spec(selector: dict[str, str]) -> k8s.policy.v1.PodDisruptionBudgetSpecArgs:
    """A budget whose unit is the group.

    Losing any pod recreates its whole group, so the budget admits one eviction across the model's
    pods and then none until the recreated group is Ready again: drains take one group at a time and
    never block for good (a model with one group stays drainable, as a single replica does). Pods
    that are not Ready may go regardless (AlwaysAllow): a group that is down or still starting must
    not hold a drain.
    """
    return k8s.policy.v1.PodDisruptionBudgetSpecArgs(
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        max_unavailable=1,
        unhealthy_pod_eviction_policy="AlwaysAllow",
    )


def monitor_relabelings() -> list[dict[str, Any]]:
    """The ServiceMonitor endpoint's relabelings: each leader's series carry its group's index."""
    source = "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in GROUP_INDEX_LABEL)
    return [{"sourceLabels": [source], "targetLabel": GROUP_METRIC_LABEL, "action": "replace"}]
