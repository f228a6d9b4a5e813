"""Sizing: pure functions, no Pulumi. Used by config validation, components and reports."""

from __future__ import annotations


def shm_gib(tensor_parallel_size: int) -> int:
    """/dev/shm for one vLLM replica: NCCL needs several GiB once tensor parallelism spans GPUs."""
    if tensor_parallel_size == 1:
        return 2
    return min(20, 4 * tensor_parallel_size)


def startup_failure_threshold(startup_timeout_seconds: int, period_seconds: int = 10) -> int:
    """Startup probe failures allowed so the probe budget covers the configured load time."""
    return -(-startup_timeout_seconds // period_seconds)
