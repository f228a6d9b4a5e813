"""Helm release arguments for a pinned chart, from its upstream repository or the site's OCI mirror."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from components.config.model import RegistryConfig
from components.versions import Chart


def chart_reference(chart: Chart, registry: RegistryConfig) -> str:
    """Where the Release pulls the chart: the registry's OCI mirror when air-gapped, else upstream."""
    if registry.air_gapped:
        return f"oci://{registry.server}/{registry.chart_path}/{chart.name}"
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
