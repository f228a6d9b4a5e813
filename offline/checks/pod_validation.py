"""Pod templates as the API server's own validation judges them, beyond what the OpenAPI schemas say.

The strict schemas accept a pod whose container mounts a volume the pod does not declare, two
containers of one name, or a request above its limit; the API server refuses them on create
(`pkg/apis/core/validation/validation.go`: ValidateVolumeMounts, validateContainers,
ValidateResourceRequirements, validateContainerPorts) and the workload controllers refuse a
selector its own template does not match (`pkg/apis/apps/validation/validation.go`). Under a
LeaderWorkerSet, a StatefulSet or a Job the pod is created later by a controller, so `pulumi up`
reports success and the pods never appear. This module checks those rules on every pod template,
the program's and the charts' alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from offline.checks.images import is_test_hook, pod_specs

_SERVICE_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
"""IANA_SVC_NAME: lowercase letters, digits and '-', at least one letter, no '-' at either end."""
_ENV_NAME = re.compile(r"^[!-<>-~]+$")
"""Printable ASCII without '=' or space: what every version accepts (1.32 relaxed the older C-identifier rule)."""
_WORKLOADS_WITH_SELECTOR = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
          "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number; None for what this reader does not know (then nothing is compared)."""
    match = _QUANTITY.match(str(value).strip())
    if not match or (match.group(2) and match.group(2) not in _UNITS):
        return None
    return float(match.group(1)) * _UNITS.get(match.group(2), 1)


def _containers(pod: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(key) or []):
            yield f"{key}[{index}]({container.get('name', '?')})", container


def _is_port_name(port: Any) -> bool:
    return isinstance(port, str) and len(port) <= 15 and bool(_SERVICE_PORT_NAME.match(port)) and "--" not in port


def claim_templates(document: dict[str, Any]) -> list[str]:
    """Volumes a controller adds to each pod from claim templates (a StatefulSet's, a LeaderWorkerSet's)."""
    spec = document.get("spec") or {}
    templates = spec.get("volumeClaimTemplates") or (spec.get("leaderWorkerTemplate") or {}).get("volumeClaimTemplates")
    return [(t.get("metadata") or {}).get("name") for t in templates or []]


def pod_problems(pod: dict[str, Any], claimed: list[str] | None = None) -> list[str]:
    """What the API server would refuse in one pod spec, one line each, with the field's path; ``claimed`` are the
    volumes its controller adds from claim templates."""
    problems = []
    declared = [v.get("name") for v in pod.get("volumes") or []]
    for name in sorted({n for n in declared if declared.count(n) > 1}):
        problems.append(f"volumes: {name!r} is declared twice")
    # A claim template of a pod volume's name replaces that volume in each pod.
    volumes = set(declared) | set(claimed or [])
    names: set[str] = set()
    for path, container in _containers(pod):
        name = container.get("name")
        if name in names:
            problems.append(f"{path}.name: {name!r} is the name of another container of the pod")
        names.add(name)
        mount_paths: set[str] = set()
        for index, mount in enumerate(container.get("volumeMounts") or []):
            if mount.get("name") not in volumes:
                problems.append(f"{path}.volumeMounts[{index}].name: {mount.get('name')!r} is not a volume of the pod")
            if mount.get("mountPath") in mount_paths:
                problems.append(f"{path}.volumeMounts[{index}].mountPath: {mount.get('mountPath')!r} is mounted twice")
            mount_paths.add(mount.get("mountPath"))
        port_names: set[str] = set()
        for index, port in enumerate(container.get("ports") or []):
            if "name" not in port:
                continue
            if not _is_port_name(port["name"]):
                problems.append(f"{path}.ports[{index}].name: {port['name']!r} is not a port name (at most 15 "
                                "lowercase letters, digits and '-', with a letter)")
            if port["name"] in port_names:
                problems.append(f"{path}.ports[{index}].name: {port['name']!r} names two ports of the container")
            port_names.add(port["name"])
        for index, variable in enumerate(container.get("env") or []):
            if not _ENV_NAME.match(str(variable.get("name", ""))):
                problems.append(f"{path}.env[{index}].name: {variable.get('name')!r} is not an environment variable name")
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        for resource, requested in requests.items():
            # Extended resources (GPUs) are never overcommitted: a request needs a limit, and the two are equal.
            extended = "/" in resource and not resource.startswith("kubernetes.io/")
            if resource not in limits:
                if extended:
                    problems.append(f"{path}.resources.limits.{resource}: required, as the request is set "
                                    "(extended resources are not overcommitted)")
                continue
            request, limit = quantity(requested), quantity(limits[resource])
            if request is None or limit is None:
                continue
            if request > limit:
                problems.append(f"{path}.resources.requests.{resource}: {requested} is above its limit {limits[resource]}")
            elif extended and request != limit:
                problems.append(f"{path}.resources.requests.{resource}: {requested} must equal its limit "
                                f"{limits[resource]} (extended resources are not overcommitted)")
    return problems


def _template_labels(document: dict[str, Any]) -> dict[str, str]:
    template = (document.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def selector_problem(document: dict[str, Any]) -> str | None:
    """A workload whose selector its own pod template does not match."""
    if document.get("kind") not in _WORKLOADS_WITH_SELECTOR:
        return None
    selector = (document.get("spec") or {}).get("selector") or {}
    labels = _template_labels(document)
    wanted = selector.get("matchLabels") or {}
    mismatched = sorted(k for k, v in wanted.items() if labels.get(k) != v)
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if ((operator == "In" and labels.get(key) not in values) or (operator == "NotIn" and labels.get(key) in values)
                or (operator == "Exists" and key not in labels) or (operator == "DoesNotExist" and key in labels)):
            mismatched.append(key)
    if mismatched:
        return f"spec.selector: the pod template's labels do not match it ({', '.join(mismatched)})"
    return None


def violations(documents: list[dict[str, Any]]) -> list[str]:
    """One line per problem, naming the object and the field."""
    found = []
    for document in documents:
        if is_test_hook(document):
            continue
        metadata = document.get("metadata") or {}
        label = f"{document.get('kind')} {metadata.get('namespace', '-')}/{metadata.get('name', '?')}"
        problem = selector_problem(document)
        if problem:
            found.append(f"{label}: {problem}")
        claimed = claim_templates(document)
        for where, pod in pod_specs(document):
            found += [f"{label}{where}: {problem}" for problem in pod_problems(pod, claimed)]
    return found
