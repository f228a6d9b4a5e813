"""What an air-gapped site mirrors: every chart the stack installs and every image its clusters pull.

The image list comes from the rendered output (pods, hooks and operator-managed operands alike), as
the clusters will pull them from the private registries. Each is paired with its upstream source:
the same path and tag at the registry that the chart's own defaults (the chart rendered without the
platform's registry overrides) or the lock (images the program adds itself) name for that path. Images the site provides
(vLLM, the NVIDIA AI Enterprise driver, the audit tools) have no public source here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components import versions
from offline.charts.artifacts import ArtifactsDir
from offline.charts.helm import Helm, RenderFailed
from offline.charts.render import RenderedRelease, kube_version
from offline.checks.images import ImageUse, image_uses


@dataclass(frozen=True)
class ChartToMirror:
    name: str
    version: str
    source: str
    destination: str
    content_digest: str


@dataclass
class ImageToMirror:
    destination: str
    source: str | None
    used_by: list[str] = field(default_factory=list)


def split_reference(reference: str) -> tuple[str, str, str]:
    """(registry host, path, tag-or-digest suffix such as ':v1' or ':v1@sha256:...')."""
    host, _, rest = reference.partition("/")
    if "." not in host and ":" not in host and host != "localhost":
        host, rest = "docker.io", reference
    name, at, digest = rest.partition("@")
    path, colon, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    return host, path, f"{colon}{tag}{at}{digest}"


def charts_to_mirror(releases: list[RenderedRelease]) -> list[ChartToMirror]:
    found = {}
    for release in releases:
        chart = release.chart
        reference = str(release.record.inputs["chart"]).split("@", 1)[0]
        destination = reference if reference.startswith("oci://") else f"{chart.repository} (not mirrored: airGapped is off)"
        found[(chart.name, chart.version, destination)] = ChartToMirror(
            chart.name, chart.version, chart.upstream_reference, destination, chart.content_digest)
    return [found[key] for key in sorted(found)]


def _upstream_hosts(releases: list[RenderedRelease], artifacts: ArtifactsDir, helm: Helm,
                    kubernetes_minor: str) -> dict[str, str]:
    """Image path -> upstream registry host, from the lock and each chart rendered with its own defaults."""
    known = {image.path: split_reference(image.image)[0] for image in versions.images().values()}
    seen = set()
    for release in releases:
        if release.chart.name in seen:
            continue
        seen.add(release.chart.name)
        try:
            defaults: list[dict[str, Any]] = helm.template(
                artifacts.chart_archive(release.chart), release.chart.content_digest, release.record.inputs["name"],
                release.namespace, {}, kube_version(kubernetes_minor), release.api_versions)
        except RenderFailed:
            continue
        for use in image_uses(defaults):
            host, path, _ = split_reference(use.image)
            known.setdefault(path, host)
    return known


def images_to_mirror(uses: list[ImageUse], releases: list[RenderedRelease], artifacts: ArtifactsDir | None,
                     helm: Helm | None, kubernetes_minor: str) -> list[ImageToMirror]:
    hosts = _upstream_hosts(releases, artifacts, helm, kubernetes_minor) if artifacts and helm else {}
    found: dict[str, ImageToMirror] = {}
    for use in uses:
        entry = found.get(use.image)
        if entry is None:
            _, path, suffix = split_reference(use.image)
            source = f"{hosts[path]}/{path}{suffix}" if path in hosts else None
            entry = found[use.image] = ImageToMirror(use.image, source)
        entry.used_by.append(use.where)
    return [found[key] for key in sorted(found)]


def table(charts: list[ChartToMirror], images: list[ImageToMirror]) -> str:
    """The mirror list as text: what to pull from where, and where to push it."""
    lines = [f"Charts ({len(charts)}): pull the pinned version from its source, check its content digest, "
             "push it to the destination",]
    lines += [f"  {c.name} {c.version}\n    from {c.source}\n    to   {c.destination}\n    content digest {c.content_digest}"
              for c in charts]
    lines.append(f"\nImages ({len(images)}): copy each source to its destination (digest-pinned ones by digest)")
    for image in images:
        source = image.source or "provided by the site (no public source)"
        lines.append(f"  {image.destination}\n    from {source}")
    return "\n".join(lines) + "\n"


def as_json(charts: list[ChartToMirror], images: list[ImageToMirror]) -> dict[str, Any]:
    return {
        "charts": [vars(c) for c in charts],
        "images": [{"destination": i.destination, "source": i.source, "usedBy": sorted(set(i.used_by))} for i in images],
    }
