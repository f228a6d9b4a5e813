"""How long `pulumi up` waits for each kind of work: pure arithmetic on the ``waits`` config section.

pulumi-kubernetes waits for Deployments, StatefulSets, Jobs and ``pulumi.com/waitFor`` conditions
under a 10-minute default, and a ``helm.v3.Release`` waits 300 s by default; both are too short for
building clusters, installing GPU drivers, pulling multi-GB images, downloading weights and loading
models. Each function here returns seconds: the sum of the steps the wait covers, times the safety
factor, rounded up. ``duration`` renders seconds as a ``customTimeouts`` string.
"""

from __future__ import annotations

import math

from components.config.model import WaitsConfig


def _padded(seconds: float, waits: WaitsConfig) -> int:
    return math.ceil(seconds * waits.safety_factor)


def duration(seconds: int) -> str:
    """A Go duration string (what ``customTimeouts`` takes), whole minutes rounded up: ``"45m"``."""
    return f"{math.ceil(seconds / 60)}m"


def cluster_create_seconds(control_plane_nodes: int, worker_nodes: int, waits: WaitsConfig) -> int:
    """A new cluster to Ready: control-plane nodes one after another, then the workers in parallel."""
    rounds = control_plane_nodes + (1 if worker_nodes else 0)
    return _padded(rounds * waits.cluster_node_seconds, waits)


def cluster_update_seconds(control_plane_nodes: int, worker_nodes: int, waits: WaitsConfig) -> int:
    """A rolling replacement of every node (a Kubernetes version or VM class change), one at a time."""
    return _padded((control_plane_nodes + worker_nodes) * waits.cluster_node_seconds, waits)


def gpu_operator_release_seconds(waits: WaitsConfig) -> int:
    """The GPU Operator Release: operand images pulled, then the driver built on each node in parallel."""
    return _padded(waits.image_pull_seconds + waits.driver_install_seconds, waits)


def release_seconds(waits: WaitsConfig) -> int:
    """Any other Release (``--wait``): its pods pulled, started and Ready."""
    return _padded(waits.chart_install_seconds, waits)


def download_seconds(size_gib: int, waits: WaitsConfig) -> float:
    """Filling a weights volume of ``size_gib`` at the configured throughput (unpadded)."""
    return size_gib * 1024 / waits.weights_download_mib_per_second


def download_job_seconds(size_gib: int, waits: WaitsConfig) -> int:
    """The staging Job: its image pulled, then the weights downloaded."""
    return _padded(waits.image_pull_seconds + download_seconds(size_gib, waits), waits)


def replica_start_seconds(startup_seconds: int, waits: WaitsConfig, staged_in_pod: bool = False,
                          size_gib: int = 0, new_node: bool = True) -> float:
    """One vLLM replica to Ready (unpadded): on a new cluster its GPU worker VM built and joined (the
    Cluster's Ready condition covers the control plane only) and the GPU Operator's driver installed there
    (its Release ends before any driver exists), then the image pull, weights staged in the pod's init
    container (per-replica volumes), and the model load the config allows. Nothing else waits for the
    workers or the driver, so this wait must cover them."""
    seconds = waits.image_pull_seconds + startup_seconds
    if new_node:
        seconds += waits.cluster_node_seconds + waits.driver_install_seconds
    if staged_in_pod:
        seconds += download_seconds(size_gib, waits)
    return seconds


def workload_create_seconds(startup_seconds: int, waits: WaitsConfig, staged_in_pod: bool = False,
                            size_gib: int = 0) -> int:
    """A new vLLM workload: its replicas start in parallel, on nodes that may still be installing drivers."""
    return _padded(replica_start_seconds(startup_seconds, waits, staged_in_pod, size_gib), waits)


def workload_update_seconds(startup_seconds: int, max_replicas: int, waits: WaitsConfig,
                            staged_in_pod: bool = False, size_gib: int = 0) -> int:
    """A rolling update: one replica at a time (surge 1, or a StatefulSet's ordered roll), up to the
    autoscaler's maximum, each pulling the new image and loading again."""
    per_replica = replica_start_seconds(startup_seconds, waits, staged_in_pod, size_gib, new_node=False)
    return _padded(max(1, max_replicas) * per_replica, waits)


def progress_deadline_seconds(startup_seconds: int, waits: WaitsConfig) -> int:
    """A Deployment's ``progressDeadlineSeconds``: the longest one replica may take to become Ready.

    Kubernetes marks the rollout failed after this long without a newly Ready replica, and
    pulumi-kubernetes then fails the wait, whatever the Pulumi timeout says.
    """
    return _padded(replica_start_seconds(startup_seconds, waits), waits)
