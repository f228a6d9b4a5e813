"""Renders every helm.v3.Release of an evaluation as the provider would install it.

Each Release renders with its pinned chart archive, its values, release name and namespace, the
stack's Kubernetes version, and the API versions its cluster serves when it installs: the built-in
ones plus the CRDs of every Release it depends on (directly or through other resources), since
`depends_on` on a Release waits for the whole install. A chart that tests
`.Capabilities.APIVersions` (a ServiceMonitor only when the monitoring API exists) renders here
exactly as it would at that moment of `pulumi up`. Releases that do not depend on each other render
concurrently.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import versions
from offline.charts.artifacts import ArtifactsDir
from offline.charts.cache import code_digest, digest
from offline.charts.defaults import crd_folder_files, default_values
from offline.charts.helm import Helm, RenderFailed, cached
from offline.charts.values import ignored_keys
from offline.checks.crds import schemas_from
from offline.graph import HELM_RELEASE, ResourceGraph
from offline.record import Record, reveal
from offline.render import cluster_of, to_yaml_all

IGNORED_VALUES_CACHE = "ignored-values-v2"
"""Cache kind of the ignored-key probe; bumped when the probe's method changes (v2: volatile fields masked)."""


@dataclass(frozen=True)
class RenderedRelease:
    record: Record
    chart: versions.Chart
    cluster: str
    """Provider name of the cluster the release installs into."""
    namespace: str
    api_versions: tuple[str, ...]
    """API versions from CRDs offered to the chart beyond the built-in ones."""
    objects: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    """helm's refusal, when the chart does not render with these values."""
    ignored_values: tuple[str, ...] = ()
    crds_left_behind: tuple[str, ...] = ()
    """CRD files of the chart's crds/ folders that a chart upgrade would leave at their old version:
    Helm installs them once and never upgrades them, and the chart renders no hook Job that does."""

    @property
    def name(self) -> str:
        return self.record.name

    def installs(self) -> set[tuple[str, str]]:
        """(apiVersion, kind) of every custom resource kind whose CRD this release installs."""
        return served_kinds(self.objects)


def served_kinds(objects: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """(apiVersion, kind) of every served version of every CRD among the objects."""
    return set(schemas_from(list(objects)))


def _upgrades_its_crds(objects: list[dict[str, Any]]) -> bool:
    """Whether the chart renders a pre-upgrade hook Job that applies its CRDs (Velero, kube-prometheus-stack,
    the GPU Operator do, when asked)."""
    for obj in objects:
        metadata = obj.get("metadata") or {}
        hooks = (metadata.get("annotations") or {}).get("helm.sh/hook", "")
        if obj.get("kind") == "Job" and "pre-upgrade" in hooks and "crd" in metadata.get("name", "").lower():
            return True
    return False


def chart_of(record: Record) -> versions.Chart:
    """The locked chart a Release installs, from its chart reference and version."""
    # An OCI reference may end in the mirror copy's digest (``.../keda@sha256:...``).
    name = str(record.inputs["chart"]).split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    chart = versions.chart(name)
    if record.inputs.get("version") != chart.version:
        raise ValueError(f"{record.urn}: chart {name} at {record.inputs.get('version')!r}, "
                         f"but {versions.LOCK_FILE.name} pins {chart.version}")
    return chart


def dependency_closure(graph: ResourceGraph) -> dict[str, set[str]]:
    """Per URN, every URN it waits for, directly or through other resources."""
    direct = {r.urn: set(r.options.get("dependencies") or []) for r in graph}
    closure: dict[str, set[str]] = {}

    def visit(urn: str, trail: frozenset[str]) -> set[str]:
        if urn in closure:
            return closure[urn]
        found: set[str] = set()
        for dependency in direct.get(urn, ()):
            if dependency in trail:
                continue
            found |= {dependency} | visit(dependency, trail | {urn})
        closure[urn] = found
        return found

    for urn in direct:
        visit(urn, frozenset())
    return closure


def kube_version(minor: str) -> str:
    return f"v{minor}.0"


def _offered(kinds: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    offered = set()
    for api_version, kind in kinds:
        offered |= {api_version, f"{api_version}/{kind}"}
    return tuple(sorted(offered))


def render_releases(graph: ResourceGraph, kubernetes_minor: str, artifacts: ArtifactsDir, helm: Helm,
                    check_values: bool = True, workers: int = 2) -> list[RenderedRelease]:
    """Every Release of the graph rendered, in install order; independent ones concurrently."""
    releases = graph.of_type(HELM_RELEASE)
    closure = dependency_closure(graph)
    urns = {r.urn for r in releases}
    before = {r.urn: closure[r.urn] & urns for r in releases}
    done: dict[str, RenderedRelease] = {}
    version = kube_version(kubernetes_minor)

    def render_one(record: Record) -> RenderedRelease:
        chart = chart_of(record)
        archive = artifacts.chart_archive(chart)
        cluster = cluster_of(record)
        kinds = set().union(*(done[u].installs() for u in before[record.urn] if cluster_of(done[u].record) == cluster))
        offered = _offered(kinds)
        values = reveal(record.inputs.get("values") or {})
        name, namespace = record.inputs["name"], record.inputs.get("namespace") or "default"

        def render(with_values: dict[str, Any]) -> list[dict[str, Any]]:
            return helm.template(archive, chart.content_digest, name, namespace, with_values, version, offered)

        try:
            objects = render(values)
        except RenderFailed as error:
            return RenderedRelease(record, chart, cluster, namespace, offered, error=str(error))
        ignored: tuple[str, ...] = ()
        if check_values:
            key = digest([helm.key(chart.content_digest, name, namespace, values, version, offered),
                          code_digest("offline.charts.values", "offline.charts.defaults")])
            ignored = tuple(cached(key, IGNORED_VALUES_CACHE, lambda: ignored_keys(values, default_values(archive), render)))
        left = () if _upgrades_its_crds(objects) else tuple(
            cached(chart.content_digest, "crd-folder-files", lambda: crd_folder_files(archive)))
        return RenderedRelease(record, chart, cluster, namespace, offered, objects, ignored_values=ignored,
                               crds_left_behind=left)

    pending = sorted(releases, key=lambda r: r.urn)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while pending:
            ready = [r for r in pending if before[r.urn] <= done.keys()]
            if not ready:
                raise ValueError(f"Releases wait for each other in a cycle: {[r.urn for r in pending]}")
            for rendered in pool.map(render_one, ready):
                done[rendered.record.urn] = rendered
            pending = [r for r in pending if r.urn not in done]
    return [done[r.urn] for r in sorted(releases, key=lambda r: r.urn)]


def redacted(document: dict[str, Any]) -> dict[str, Any]:
    """A chart object as written to disk: Secret values (chart-generated passwords, certificates) masked."""
    if document.get("apiVersion") == "v1" and document.get("kind") == "Secret":
        return {**document, **{field: {key: "[secret]" for key in document[field]}
                               for field in ("data", "stringData") if isinstance(document.get(field), dict)}}
    return document


def write_manifests(releases: list[RenderedRelease], out_dir: Path) -> list[Path]:
    """Each release's objects under ``manifests/charts/<cluster>/<release>/``, one file per object."""
    root = out_dir / "manifests" / "charts"
    if root.exists():
        shutil.rmtree(root)
    written = []
    for release in releases:
        directory = root / release.cluster / release.name
        directory.mkdir(parents=True, exist_ok=True)
        documents = [redacted(document) for document in release.objects]
        for document, text in zip(documents, to_yaml_all(documents), strict=True):
            metadata = document.get("metadata") or {}
            parts = [metadata.get("namespace") or "cluster-scoped", document.get("kind", "object"), metadata.get("name", "?")]
            path = directory / (re.sub(r"[^a-z0-9.-]+", "-", "--".join(parts).lower()) + ".yaml")
            path.write_text(text)
            written.append(path)
    return sorted(written)
