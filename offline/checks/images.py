"""Every image a stack makes its clusters pull, and whether it comes from an allowed registry.

Images hide in more places than pod templates: operators start operands from their custom
resources (the GPU Operator's ClusterPolicy names a repository, image and version per operand,
Prometheus and Alertmanager objects name their image, an EnvoyProxy names the proxy image or leaves
the controller's built-in default), from flags (`--prometheus-config-reloader=...`), from
environment variables (`DRIVER_MANAGER_IMAGE`) and from their own config files (Envoy Gateway's
ConfigMap). Each of those is found here, so the mirror list and the registry check cover them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from hipaa._k8s import containers
from hipaa.image_provenance import image_problems

# As Envoy Gateway v1.9's chart resolves it when nothing overrides the proxy image.
ENVOY_PROXY_DEFAULT = "docker.io/envoyproxy/envoy:distroless-v1.39.0"
_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9._:/-]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
_IMAGE_FLAG = re.compile(r"^--[\w-]*(image|config-reloader)[\w-]*=(.+)$", re.IGNORECASE)
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


@dataclass(frozen=True)
class ImageUse:
    image: str
    where: str
    """The object and field that makes the cluster pull it."""


def pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    spec = document.get("spec") or {}
    kind = document.get("kind")
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if kind in WORKLOAD_KINDS:
        return (spec.get("template") or {}).get("spec")
    return None


LEADER_WORKER_SET = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")


def pod_specs(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, pod spec) of every pod template of a workload: a LeaderWorkerSet has a leader's and a worker's."""
    if (document.get("apiVersion"), document.get("kind")) == LEADER_WORKER_SET:
        template = (document.get("spec") or {}).get("leaderWorkerTemplate") or {}
        return [(f" spec.leaderWorkerTemplate.{role}", (template[role] or {}).get("spec") or {})
                for role in ("leaderTemplate", "workerTemplate") if template.get(role)]
    pod = pod_spec(document)
    return [("", pod)] if pod is not None else []


def _looks_like_image(value: Any) -> bool:
    return isinstance(value, str) and "/" in value and bool(_REFERENCE.match(value))


def _label(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{document.get('kind')} {where}{metadata.get('name', '?')}"


def _from_pod(document: dict[str, Any], pod: dict[str, Any], where: str = "") -> Iterator[ImageUse]:
    label = _label(document) + where
    for path, container in containers(pod):
        if container.get("image"):
            yield ImageUse(container["image"], f"{label} {path}")
        for arg in (container.get("args") or []) + (container.get("command") or []):
            match = _IMAGE_FLAG.match(str(arg))
            if match and _looks_like_image(match.group(2)):
                yield ImageUse(match.group(2), f"{label} {path} flag {arg.split('=', 1)[0]}")
        for variable in container.get("env") or []:
            if variable.get("name", "").endswith("_IMAGE") and _looks_like_image(variable.get("value")):
                yield ImageUse(variable["value"], f"{label} {path} env {variable['name']}")


def _cluster_policy(document: dict[str, Any]) -> Iterator[ImageUse]:
    """GPU Operator operands: ``repository/image:version`` per enabled component (and nested managers)."""
    label = _label(document)

    def walk(node: Any, path: str, enabled: bool) -> Iterator[ImageUse]:
        if not isinstance(node, dict):
            return
        enabled = enabled and node.get("enabled", True) is not False
        image = node.get("image")
        if enabled and isinstance(image, str) and image and ("repository" in node or "version" in node):
            reference = "/".join(p for p in (node.get("repository"), image) if p)
            version = node.get("version")
            if version:
                reference += f"@{version}" if str(version).startswith("sha256:") else f":{version}"
            yield ImageUse(reference, f"{label} spec.{path}")
        for key, child in node.items():
            yield from walk(child, f"{path}.{key}".lstrip("."), enabled)

    yield from walk(document.get("spec") or {}, "", True)


def _envoy_proxy(document: dict[str, Any]) -> Iterator[ImageUse]:
    deployment = ((((document.get("spec") or {}).get("provider") or {}).get("kubernetes") or {})
                  .get("envoyDeployment") or {})
    image = (deployment.get("container") or {}).get("image")
    where = f"{_label(document)} spec.provider.kubernetes.envoyDeployment.container.image"
    yield ImageUse(image or ENVOY_PROXY_DEFAULT, where if image else f"{where} (unset: the controller's default)")


def _config_files(document: dict[str, Any]) -> Iterator[ImageUse]:
    """Images named in YAML config files that a ConfigMap carries to an operator."""
    for key, text in (document.get("data") or {}).items():
        if not isinstance(text, str) or "image:" not in text or not key.endswith((".yaml", ".yml")):
            continue
        try:
            parsed = yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            continue
        yield from (ImageUse(image, f"{_label(document)} data[{key}] {path}") for path, image in _image_keys(parsed, ""))


def _image_keys(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "image" and _looks_like_image(child):
                yield f"{path}.image".lstrip("."), child
            else:
                yield from _image_keys(child, f"{path}.{key}".lstrip("."))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _image_keys(child, f"{path}[{index}]")


OPERANDS = {
    ("nvidia.com/v1", "ClusterPolicy"): _cluster_policy,
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"): _envoy_proxy,
}


def is_test_hook(document: dict[str, Any]) -> bool:
    """`helm test` pods: rendered by `helm template`, never installed by a Release."""
    hooks = ((document.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return any(h.strip().startswith("test") for h in hooks.split(","))


def image_uses(documents: list[dict[str, Any]]) -> list[ImageUse]:
    found: list[ImageUse] = []
    for document in documents:
        if is_test_hook(document):
            continue
        for where, pod in pod_specs(document):
            found += _from_pod(document, pod, where)
        extractor = OPERANDS.get((document.get("apiVersion"), document.get("kind")))
        if extractor:
            found += extractor(document)
        if document.get("apiVersion", "").startswith("monitoring.coreos.com/") and document.get("kind") in (
                "Prometheus", "Alertmanager") and (document.get("spec") or {}).get("image"):
            found.append(ImageUse(document["spec"]["image"], f"{_label(document)} spec.image"))
        if document.get("kind") == "ConfigMap":
            found += _config_files(document)
    return found


DIGEST_KEY = "tanzu.registry.imageDigests"


def site_key(reference: str) -> str:
    """``<path>:<tag>`` of a reference: how tanzu.registry.imageDigests names the site's copy of the image."""
    host, _, rest = reference.partition("/")
    if "." not in host and ":" not in host and host != "localhost":
        rest = reference
    return rest.split("@", 1)[0]


def problems(uses: list[ImageUse], allowed_registries: list[str], require_digest: bool = False) -> list[str]:
    """Images outside the allowed registries, without a release tag, or (``require_digest``) without a digest.

    With compliance.requireImageDigest every image the clusters pull, charts' and operands' included, must name
    its digest, so a tag moved in the registry never changes what runs; the message names the config key that
    gives the program the digest of the site's copy."""
    config = {"allowedRegistries": allowed_registries, "requireDigest": False}
    # A digest pins content more tightly than any tag, and some charts and operators take it in place of the tag
    # (Velero's image.digest; the GPU Operator's driver version, which would otherwise get the node's OS appended).
    found = {f"{use.where}: {problem.removeprefix('.image ')}"
             for use in uses for problem in image_problems("", use.image, config)
             if not ("@sha256:" in use.image and "must carry a release tag" in problem)}
    if require_digest:
        found |= {f"{use.where}: {use.image} has no digest (compliance.requireImageDigest); set "
                  f"{DIGEST_KEY}.\"{site_key(use.image)}\" to the digest of the site's copy "
                  f"(`crane digest {use.image}`)"
                  for use in uses if "@sha256:" not in use.image}
    return sorted(found)


def unpinned_charts(references: dict[str, tuple[str, str]], require_digest: bool) -> list[str]:
    """Releases whose chart is not pulled by digest: ``references`` maps a Release's URN to (chart name, reference)."""
    if not require_digest:
        return []
    found = []
    for urn, (name, reference) in sorted(references.items()):
        if not reference.startswith("oci://"):
            found.append(f"{urn}: chart {name} comes from its upstream repository {reference!r}, which serves it by "
                         "version only (compliance.requireImageDigest); set tanzu.registry.airGapped to true and "
                         f"tanzu.registry.chartDigests.{name} to the digest of the mirror's copy")
        elif "@sha256:" not in reference:
            found.append(f"{urn}: chart {reference} is pulled by version, not digest (compliance.requireImageDigest); "
                         f"set tanzu.registry.chartDigests.{name} to the digest `helm push` printed for it")
    return found
