"""What a DR configuration can actually achieve: worst-case RPO and RTO per recovery pattern.

Pure functions, no Pulumi. Config validation refuses targets these figures cannot meet; the stack
exports them so auditors see achieved numbers next to promised ones. The per-step durations are
planning figures from the project's DR reference (cluster build tens of minutes, driver install
minutes per node, multi-GB image pulls, weights at storage speed, model load with CUDA-graph
capture about ten minutes for large models); replace them with the durations your drills measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Minutes for each step of bringing service up at the secondary site.
CLUSTER_BUILD = 45
"""Supervisor namespace, workload cluster and add-ons from Pulumi (backup-restore only)."""
GPU_NODES_UP = 15
"""Scaling GPU node VMs from zero and installing the guest driver (pilot light)."""
IMAGE_PULL = 10
VELERO_RESTORE = 15
MODEL_LOAD = 10
"""Weights into GPU memory and CUDA-graph capture."""
VERIFY = 2
"""Synthetic request through the gateway before traffic is declared switched."""


@dataclass(frozen=True)
class DrInputs:
    mode: str
    backup_interval_minutes: int
    backup_duration_minutes: int
    replication_lag_minutes: int
    detection_minutes: int
    dns_ttl_seconds: int
    weights_gib: float
    """Total weights the secondary must copy before serving (0 when pre-staged)."""
    copy_gib_per_minute: float


@dataclass(frozen=True)
class DrFigures:
    rpo_minutes: int
    rto_minutes: int
    rto_steps: tuple[tuple[str, float], ...]

    def explain_rto(self) -> str:
        return " + ".join(f"{step} {minutes:g}" for step, minutes in self.rto_steps)


def achievable(inputs: DrInputs) -> DrFigures:
    # Worst case: the disaster strikes just before the next backup finishes replicating.
    rpo = inputs.backup_interval_minutes + inputs.backup_duration_minutes + inputs.replication_lag_minutes
    switch = [("detection", inputs.detection_minutes), ("DNS TTL", math.ceil(inputs.dns_ttl_seconds / 60))]
    copy = round(inputs.weights_gib / inputs.copy_gib_per_minute, 1) if inputs.weights_gib else 0
    if inputs.mode == "warm-standby":
        steps = switch + [("verify", VERIFY)]
    elif inputs.mode == "pilot-light":
        steps = switch + [("GPU nodes", GPU_NODES_UP), ("image pull", IMAGE_PULL), ("weights copy", copy),
                          ("model load", MODEL_LOAD), ("verify", VERIFY)]
    else:
        steps = switch + [("cluster build", CLUSTER_BUILD), ("restore", VELERO_RESTORE), ("image pull", IMAGE_PULL),
                          ("weights copy", copy), ("model load", MODEL_LOAD), ("verify", VERIFY)]
    return DrFigures(rpo_minutes=rpo, rto_minutes=math.ceil(sum(m for _, m in steps)), rto_steps=tuple(steps))


def cron_for_interval(minutes: int) -> str:
    """A cron schedule firing every ``minutes``; the interval must divide an hour or a day evenly."""
    if minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    raise ValueError(f"{minutes} minutes does not divide an hour or a day into equal intervals")
