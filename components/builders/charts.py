"""Helm release arguments for a pinned chart, from its upstream repository or the site's OCI mirror."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi_kubernetes as k8s

from components.config.model import RegistryConfig
from components.versions import KUBECTL, Chart, PinnedImage


def chart_reference(chart: Chart, registry: RegistryConfig) -> str:
    """Where the Release pulls the chart: the registry's OCI mirror when air-gapped, else upstream.

    With the mirror copy's manifest digest (tanzu.registry.chartDigests) the reference ends in ``@sha256:...``:
    helm 3.18 and later pull an OCI chart by digest and refuse other content (helm/helm#12690), so a chart
    replaced in the registry under the same version is never installed.
    """
    if registry.air_gapped:
        digest = registry.chart_digests.get(chart.name)
        return f"oci://{registry.server}/{registry.chart_path}/{chart.name}" + (f"@{digest}" if digest else "")
    if chart.repository.startswith("oci://"):
        return f"{chart.repository}/{chart.name}"
    return chart.name


def release_args(chart: Chart, registry: RegistryConfig) -> dict[str, Any]:
    """chart, version and (for an https repository) repository_opts of a helm.v3.Release of this chart.

    OCI pulls authenticate with the helm registry login of the machine running `pulumi up`:
    helm.v3.Release passes no credentials to OCI registries (pulumi/pulumi-kubernetes#1914).
    """
    reference = chart_reference(chart, registry)
    args: dict[str, Any] = {"chart": reference, "version": chart.version}
    if not reference.startswith("oci://"):
        args["repository_opts"] = k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository)
    return args


def mirrored(registry_server: str, upstream_repository: str) -> str:
    """An upstream image repository (``registry/path``) as the private registry mirrors it: same path."""
    host, _, path = upstream_repository.partition("/")
    if "." not in host and ":" not in host and host != "localhost":
        path = upstream_repository  # no registry host: a Docker Hub path such as velero/velero
    return f"{registry_server}/{path}"


def image_digest(registry: RegistryConfig, image: PinnedImage) -> str | None:
    """The digest the site's copy of a pinned image is pulled by: tanzu.registry.imageDigests, else the lock's."""
    return registry.digest_of(image.key, image.digest)


def pinned_reference(registry: RegistryConfig, image: PinnedImage) -> str:
    """A pinned image at the private registry: ``<server>/<path>:<tag>@<digest>`` when its digest is known."""
    digest = image_digest(registry, image)
    return f"{mirrored(registry.server, image.image)}:{image.tag}" + (f"@{digest}" if digest else "")


def tag_and_digest(registry: RegistryConfig, image: PinnedImage) -> str:
    """The tag value for a chart that writes ``<repository>:<tag>``: ``<tag>@<digest>`` pulls by digest, the tag
    kept for people reading it."""
    digest = image_digest(registry, image)
    return f"{image.tag}@{digest}" if digest else image.tag


def pinned_tag(registry: RegistryConfig, image: PinnedImage) -> dict[str, str]:
    """``{"tag": "<tag>@<digest>"}`` for a chart that writes ``<repository>:<tag>``, when the digest is known; else
    nothing, so the chart keeps its own tag (and the preview names the digest to set)."""
    return {"tag": tag_and_digest(registry, image)} if image_digest(registry, image) else {}


def kubectl_image(kubernetes_version: str) -> PinnedImage:
    """The kubectl the CRD upgrade Jobs of Velero and kube-prometheus-stack run: the charts tag it with the cluster's
    Kubernetes version (v<minor>.0), so that tag is the one whose digest the site gives."""
    return dataclasses.replace(KUBECTL, tag=f"v{kubernetes_version}.0",
                               digest=KUBECTL.digest if KUBECTL.tag == f"v{kubernetes_version}.0" else None)


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, map by map (as helm merges values)."""
    result = dict(base)
    for key, value in override.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result
