"""Reader of artifacts.lock.json: every third-party chart, CRD and image the platform pins.

Pure data, no Pulumi: components turn a ``Chart`` into Release arguments (components/builders/charts.py),
the offline engine finds the archive of a pinned version in the artifacts directory and checks it,
and the mirror list for air-gapped sites starts here. Bump a version in the lock only after reading
the chart's release notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LOCK_FILE = Path(__file__).resolve().parent.parent / "artifacts.lock.json"


@dataclass(frozen=True)
class PinnedImage:
    name: str
    image: str
    """Upstream repository including its registry host, e.g. docker.io/velero/velero-plugin-for-aws."""
    tag: str
    digest: str | None = None

    @property
    def path(self) -> str:
        """The repository without its registry host: where the private registry mirrors it."""
        return self.image.split("/", 1)[1]

    @property
    def key(self) -> str:
        """``<path>:<tag>``: how tanzu.registry.imageDigests names the site's copy."""
        return f"{self.path}:{self.tag}"


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str
    """Upstream chart repository: an https index or an ``oci://`` registry path."""
    content_digest: str
    """sha256 over the archive's sorted member paths and their sha256 (archives differ in timestamps)."""
    images: tuple[PinnedImage, ...] = ()
    """The images the chart renders with the platform's values, each at the chart's own tag."""

    def image(self, upstream: str) -> PinnedImage:
        """The pinned tag (and any locked digest) of one of the chart's images, by upstream repository."""
        for image in self.images:
            if image.image == upstream:
                return image
        raise KeyError(f"chart {self.name} {self.version} has no image {upstream!r} in {LOCK_FILE.name}; "
                       f"it renders: {sorted(i.image for i in self.images)}")

    @property
    def archive(self) -> str:
        """File name of the packaged chart, as `helm pull` and `helm package` write it."""
        return f"{self.name}-{self.version}.tgz"

    @property
    def upstream_reference(self) -> str:
        """Where a connected machine pulls the chart from."""
        if self.repository.startswith("oci://"):
            return f"{self.repository}/{self.name}"
        return f"{self.repository} {self.name}"


@dataclass(frozen=True)
class Crd:
    file: str
    """Path under the artifacts directory's crds/."""
    repository: str
    tag: str
    path: str
    git_blob: str


@cache
def lock() -> dict[str, Any]:
    return json.loads(LOCK_FILE.read_text())


def charts() -> dict[str, Chart]:
    return {
        name: Chart(name, entry["version"], entry["repository"], entry["contentDigest"], tuple(
            PinnedImage(f"{name}:{image}", image, pin["tag"], pin.get("digest"))
            for image, pin in entry.get("images", {}).items()))
        for name, entry in lock()["charts"].items()
    }


def chart(name: str) -> Chart:
    found = charts().get(name)
    if found is None:
        raise KeyError(f"chart {name!r} is not pinned in {LOCK_FILE.name}; pinned: {sorted(charts())}")
    return found


def crds() -> dict[str, Crd]:
    return {
        file: Crd(file, entry["repository"], entry["tag"], entry["path"], entry["gitBlob"])
        for file, entry in lock()["crds"].items()
    }


def images() -> dict[str, PinnedImage]:
    return {
        name: PinnedImage(name, entry["image"], entry["tag"], entry.get("digest"))
        for name, entry in lock()["images"].items()
    }


def helm() -> dict[str, str]:
    return dict(lock()["helm"])


GPU_OPERATOR = chart("gpu-operator")
KEDA = chart("keda")
KUBE_PROMETHEUS_STACK = chart("kube-prometheus-stack")
VELERO = chart("velero")
ENVOY_GATEWAY = chart("gateway-helm")
AI_GATEWAY_CRDS = chart("ai-gateway-crds-helm")
AI_GATEWAY = chart("ai-gateway-helm")
FLUENT_BIT = chart("fluent-bit")
LWS = chart("lws")
VELERO_AWS_PLUGIN = images()["velero-plugin-for-aws"]
ENVOY_PROXY = images()["envoy-proxy"]
BUSYBOX = images()["busybox"]
KUBECTL = images()["kubectl"]
AI_GATEWAY_CONTROLLER = images()["ai-gateway-controller"]
AI_GATEWAY_EXTPROC = images()["ai-gateway-extproc"]
ENVOY_RATELIMIT = images()["envoy-ratelimit"]
REDIS = images()["redis"]


def vllm() -> dict[str, Any]:
    """The pinned vLLM release: version, image tag (its digest is the site's mirror's) and the wheel its
    `vllm serve` flags were derived from."""
    return dict(lock()["vllm"])
