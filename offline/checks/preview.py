"""Every check of one preview, over the program's own objects and what its charts install.

Kubernetes objects are grouped by cluster (the provider that deploys them). Built-in kinds go
through the API server's strict schemas at the stack's Kubernetes version; custom resources through
the CRDs of the pinned charts (and of the Supervisor, from the artifacts directory), their schemas
and their CEL validation rules; PromQL expressions through the parser; pods through the
Pod Security level of their namespace and the API server's own pod validation; every image, operands included, through the allowed
registries; every Release's values through the ignored-key probe. What cannot run (no artifacts
directory, no helm) is listed as skipped with the reason, never passed silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from components import versions
from offline.charts.artifacts import HOW_TO_GET, ArtifactsDir, ArtifactsMissing
from offline.charts.cache import cached
from offline.charts.helm import Helm, HelmMissing
from offline.charts.render import RenderedRelease, chart_of, render_releases
from offline.checks import capability, crds, images, pod_security, pod_validation, promql, schemas
from offline.checks.crds import CrdReport
from offline.graph import HELM_RELEASE, ResourceGraph
from offline.render import cluster_of, manifest


@dataclass
class PreviewChecks:
    releases: list[RenderedRelease] = field(default_factory=list)
    charts_rendered: bool = False
    """Whether every Release was rendered (an artifacts directory and helm were there)."""
    skipped: list[str] = field(default_factory=list)
    render_errors: list[str] = field(default_factory=list)
    ignored_values: list[str] = field(default_factory=list)
    builtin_errors: list[schemas.ObjectError] = field(default_factory=list)
    crd_report: CrdReport = field(default_factory=lambda: CrdReport(0, [], []))
    pod_security: list[str] = field(default_factory=list)
    pod_validation: list[str] = field(default_factory=list)
    """What the API server's own validation refuses in a pod template (tests of charts excluded)."""
    images: list[str] = field(default_factory=list)
    digests_required: bool = False
    """compliance.requireImageDigest: every image and chart pulled by digest."""
    unpinned_charts: list[str] = field(default_factory=list)
    """Releases that would install a chart by version alone where every artifact must be pinned by digest."""
    image_uses: list[images.ImageUse] = field(default_factory=list)
    promql_expressions: list[promql.Expression] = field(default_factory=list)
    """The PromQL of the program's own rules, dashboards and KEDA triggers."""
    promql_errors: list[str] = field(default_factory=list)
    capability: capability.CapabilityReport | None = None
    """What each subject can reach, charts' RBAC included (None without the pack's effective-capability settings)."""

    @property
    def problems(self) -> list[str]:
        """Every failure, one line each."""
        return [*self.render_errors, *self.ignored_values, *(str(e) for e in self.builtin_errors),
                *(str(e) for e in self.crd_report.errors), *(str(e) for e in self.crd_report.rule_errors),
                *self.pod_security, *self.pod_validation, *self.images, *self.unpinned_charts, *self.promql_errors,
                *(self.capability.problems if self.capability else [])]

    @property
    def failures(self) -> int:
        return len(self.problems)

    def failures_by_kind(self) -> list[tuple[int, str]]:
        """How many failures of each kind, for the preview's verdict line (same sum as ``failures``)."""
        return [(len(self.render_errors), "chart render error(s)"), (len(self.ignored_values), "ignored chart value(s)"),
                (len(self.builtin_errors), "object schema error(s)"),
                (len(self.crd_report.errors) + len(self.crd_report.rule_errors), "custom resource error(s)"),
                (len(self.pod_security), "Pod Security violation(s)"), (len(self.pod_validation), "invalid pod(s)"),
                (len(self.images), "image registry or digest problem(s)"),
                (len(self.unpinned_charts), "chart(s) not pulled by digest"), (len(self.promql_errors), "PromQL error(s)")]


def objects_by_cluster(graph: ResourceGraph, releases: list[RenderedRelease],
                       cluster_scoped: set[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """The program's Kubernetes objects and every chart's objects, per cluster."""
    clusters: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in graph.kubernetes_objects():
        clusters[cluster_of(record)].append(manifest(record))
    for release in releases:
        for obj in release.objects:
            if not images.is_test_hook(obj):
                clusters[release.cluster].append(_in_namespace(obj, release.namespace, cluster_scoped))
    return clusters


def _in_namespace(document: dict[str, Any], namespace: str, cluster_scoped: set[tuple[str, str]]) -> dict[str, Any]:
    """Helm installs namespaced objects that name no namespace into the release's namespace."""
    metadata = document.get("metadata") or {}
    group = document.get("apiVersion", "").rpartition("/")[0]
    if metadata.get("namespace") or (group, document.get("kind")) in cluster_scoped:
        return document
    return {**document, "metadata": {**metadata, "namespace": namespace}}


def supervisor_crds(artifacts: ArtifactsDir) -> list[dict[str, Any]]:
    """The Supervisor's CRDs from the artifacts directory (checked by git blob, parsed once and cached)."""
    found = []
    for crd in versions.crds().values():
        path = artifacts.crd_file(crd)
        found += cached(crd.git_blob, "crd-documents", lambda path=path: crds.crd_documents(path))
    return found


def crd_schemas(graph: ResourceGraph, kubernetes_minor: str, artifacts: ArtifactsDir, helm: Helm) -> crds.Schemas:
    """The schemas of the Supervisor's CRDs and of those every chart of the graph installs (renders are cached)."""
    documents = supervisor_crds(artifacts)
    for release in render_releases(graph, kubernetes_minor, artifacts, helm, check_values=False):
        documents += [o for o in release.objects if (o.get("apiVersion"), o.get("kind")) == crds.CRD]
    return crds.schemas_from(documents)


def run(graph: ResourceGraph, kubernetes_minor: str, allowed_registries: list[str],
        artifacts: ArtifactsDir | None, helm: Helm | HelmMissing | None,
        capability_config: dict[str, Any] | None = None, require_digest: bool = False) -> PreviewChecks:
    """``capability_config``: the pack's effective-capability settings; the preview always passes them, callers that
    want only the schema and image checks leave them out. ``require_digest``: compliance.requireImageDigest, every
    image and every chart pulled by digest."""
    result = PreviewChecks(digests_required=require_digest)
    crd_documents: list[dict[str, Any]] = []
    if artifacts is None:
        result.skipped.append(f"chart rendering, CRD schemas and ignored-value checks: no artifacts directory; {HOW_TO_GET}")
    elif isinstance(helm, HelmMissing) or helm is None:
        result.skipped.append(f"chart rendering and ignored-value checks: {helm or 'no helm'}")
        crd_documents = supervisor_crds(artifacts)
    else:
        crd_documents = supervisor_crds(artifacts)
        try:
            result.releases = render_releases(graph, kubernetes_minor, artifacts, helm)
            result.charts_rendered = True
        except ArtifactsMissing as error:
            result.skipped.append(f"chart rendering: {error}")
    for release in result.releases:
        label = f"{release.name} ({release.chart.name} {release.chart.version})"
        if release.error:
            result.render_errors.append(f"{label}: {release.error}")
        result.ignored_values += [f"{label}: value {key} is neither defaulted nor read by the chart; helm ignores it"
                                  for key in release.ignored_values]
        crd_documents += [o for o in release.objects if (o.get("apiVersion"), o.get("kind")) == crds.CRD]

    cluster_scoped = schemas.CLUSTER_SCOPED | {
        (d["spec"]["group"], d["spec"]["names"]["kind"]) for d in crd_documents if d["spec"].get("scope") == "Cluster"
    }
    clusters = objects_by_cluster(graph, result.releases, cluster_scoped)
    crd_schemas = crds.schemas_from(crd_documents)
    custom: list[dict[str, Any]] = []
    for documents in clusters.values():
        builtin = [d for d in documents if not crds.is_custom(d)]
        custom += [d for d in documents if crds.is_custom(d)]
        result.builtin_errors += schemas.check(builtin, kubernetes_minor)
        result.pod_security += pod_security.violations(documents, pod_security.namespace_levels(documents), "default")
        result.pod_validation += pod_validation.violations(documents)
        result.image_uses += images.image_uses(documents)
    if crd_schemas:
        result.crd_report = crds.check(custom, crd_schemas)
    else:
        result.skipped.append("custom resources against CRD schemas: no CRDs without the artifacts directory")
    result.images = images.problems(result.image_uses, allowed_registries, require_digest)
    result.unpinned_charts = images.unpinned_charts(
        {r.urn: (chart_of(r).name, str(r.inputs["chart"])) for r in graph.of_type(HELM_RELEASE)}, require_digest)
    result.promql_expressions = promql.expressions([manifest(record) for record in graph.kubernetes_objects()])
    result.promql_errors = promql.syntax_errors(result.promql_expressions)
    if capability_config is not None:
        result.capability = capability.check(clusters, capability_config)
    return result


def summary(result: PreviewChecks, kubernetes_minor: str, helm_version: str | None) -> str:
    """The checks as the preview prints them: one line per check, then every failure."""
    lines = []
    if result.releases:
        lines.append(f"Charts: {len(result.releases)} releases rendered with helm {helm_version} at Kubernetes "
                     f"{kubernetes_minor}, {sum(len(r.objects) for r in result.releases)} objects")
    crd = result.crd_report
    pods = len({u.where.split(' containers')[0].split(' initContainers')[0] for u in result.image_uses})
    lines += [
        f"  built-in objects against Kubernetes {kubernetes_minor} schemas (strict): {len(result.builtin_errors)} error(s)",
        f"  custom resources against their CRDs: {crd.validated} validated, {len(crd.errors)} error(s); "
        f"no schema: {crd.unvalidated or 'none'}",
        f"  CRD validation rules (CEL): {crd.rules_evaluated} evaluations of {crd.sites_reached} rule sites, "
        f"{len(crd.rule_errors)} refused; of all {crd.rule_sites} sites of the CRDs, {crd.transition_sites} "
        f"transition rules (updates only), {len(crd.skipped_sites)} skipped; "
        "the rest are on kinds, versions or fields no object uses",
        f"  pods against their namespace's Pod Security level: {len(result.pod_security)} rejected",
        f"  pod templates against the API server's validation (mounts, names, ports, resources, selectors): "
        f"{len(result.pod_validation)} rejected",
        f"  images: {len({u.image for u in result.image_uses})} pulled by {pods} objects, "
        f"{len(result.images)} outside compliance.allowedRegistries, without a release tag"
        + (" or without a digest" if result.digests_required else ""),
        f"  charts pulled by digest: {len(result.unpinned_charts)} by version only"
        + ("" if result.digests_required else " (not required: compliance.requireImageDigest is off)"),
        f"  PromQL of the program's rules, dashboards and KEDA triggers: {len(result.promql_expressions)} expressions "
        f"parsed, {len(result.promql_errors)} refused",
        f"  chart values: {len(result.ignored_values)} key(s) the charts ignore; {len(result.render_errors)} render failure(s)",
    ]
    if result.capability is not None:
        lines.append(f"  capabilities of every subject, charts' RBAC included: {len(result.capability.problems)} beyond "
                     f"least privilege, {len(result.capability.excepted)} recorded exception(s)")
        lines += [f"  exception: {item}" for item in result.capability.excepted]
        for cluster, readers in result.capability.secret_readers.items():
            lines += [f"  Secrets of {namespace} ({cluster}) reachable by: {', '.join(subjects) or 'nobody'}"
                      for namespace, subjects in readers.items()]
    for title, items in (("render failure", result.render_errors), ("ignored value", result.ignored_values),
                         ("schema error", result.builtin_errors), ("CRD schema error", crd.errors),
                         ("CRD validation rule", crd.rule_errors), ("skipped CEL rule", crd.skipped_sites),
                         ("Pod Security", result.pod_security), ("pod validation", result.pod_validation),
                         ("image", result.images), ("chart", result.unpinned_charts), ("PromQL", result.promql_errors),
                         ("capability", result.capability.problems if result.capability else [])):
        lines += [f"  {title}: {item}" for item in items]
    for release in result.releases:
        if release.crds_left_behind:
            lines.append(f"  note: {release.name} ({release.chart.name}): helm upgrade leaves its "
                         f"{len(release.crds_left_behind)} CRD file(s) of crds/ folders at their old version; "
                         "apply them before a chart bump (docs/updates.md)")
    lines += [f"  skipped: {reason}" for reason in result.skipped]
    return "\n".join(lines) + "\n"
