"""vGPU profiles: which GPU a profile belongs to and how much of the card it gives a VM.

A profile name is ``grid_<board>-<framebuffer GB><series>`` (``nvidia_`` on newer releases), with an
optional MIG slice count (``grid_a100-3-20c``). Series C is the compute profile NVIDIA AI Enterprise
licenses for CUDA workloads. A profile smaller than the card is time-sliced (or MIG-partitioned) with
other VMs, so sizing uses the profile's share of the card's memory, bandwidth and compute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PROFILE = re.compile(r"^(?P<prefix>grid|nvidia)_(?P<board>[a-z0-9]+)-(?:(?P<slices>[1-7])-)?(?P<fb>\d+)(?P<series>[abcq])$")

BOARDS: dict[str, tuple[tuple[str, ...], int]] = {
    "A10": (("a10",), 24),
    "L4": (("l4",), 24),
    "L40S": (("l40s",), 48),
    "A100-40GB": (("a100", "a100x"), 40),
    "A100-80GB": (("a100", "a100d", "a100dx"), 80),
    "H100-PCIe": (("h100",), 80),
    "H100-SXM": (("h100xm", "h100"), 80),
    "H200": (("h200", "h200x"), 141),
}
"""GPU model: (board names its profiles use, framebuffer of the full card in GB)."""


@dataclass(frozen=True)
class Profile:
    name: str
    board: str
    framebuffer_gb: int
    series: str
    mig_slices: int | None


def parse(name: str) -> Profile | None:
    match = _PROFILE.match(name)
    if not match:
        return None
    slices = int(match["slices"]) if match["slices"] else None
    return Profile(name, match["board"], int(match["fb"]), match["series"], slices)


def full_profile(gpu_model: str) -> str:
    """The full-card compute profile of a known GPU model, for examples in messages."""
    boards, fb = BOARDS.get(gpu_model, (("a100",), 80))
    return f"grid_{boards[0]}-{fb}c"


def owner(profile: Profile) -> list[str]:
    """GPU models whose profiles this could be."""
    return [gpu for gpu, (boards, fb) in BOARDS.items() if profile.board in boards and profile.framebuffer_gb <= fb]


def share(profile: Profile | None, gpu_model: str, memory_gib: float) -> float:
    """Fraction of the card a VM gets: 1 for a full-card profile (or passthrough)."""
    if profile is None:
        return 1.0
    full_gb = BOARDS[gpu_model][1] if gpu_model in BOARDS else memory_gib * 2**30 / 1e9
    if profile.framebuffer_gb >= full_gb * 0.97:
        return 1.0
    return profile.framebuffer_gb / full_gb
