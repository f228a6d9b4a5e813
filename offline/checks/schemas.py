"""Built-in Kubernetes objects against the API server's schemas at the stack's Kubernetes version.

Uses the strict OpenAPI-derived schemas that ship with kubernetes-validate (unknown fields are
errors, as with server-side field validation Strict). An apiVersion/kind the version does not serve
is an error too: the API server would answer "no matches for kind". Alpha API versions count as not
served, since clusters leave them off. Validators are built once per kind; results are cached by the
objects' content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from offline.charts.cache import cached, code_digest, digest

CLUSTER_SCOPED = {
    (group, kind) for group, kinds in {
        "": ("Namespace", "Node", "PersistentVolume", "ComponentStatus"),
        "rbac.authorization.k8s.io": ("ClusterRole", "ClusterRoleBinding"),
        "apiextensions.k8s.io": ("CustomResourceDefinition",),
        "apiregistration.k8s.io": ("APIService",),
        "admissionregistration.k8s.io": ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                                         "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                                         "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"),
        "storage.k8s.io": ("StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"),
        "scheduling.k8s.io": ("PriorityClass",),
        "node.k8s.io": ("RuntimeClass",),
        "networking.k8s.io": ("IngressClass",),
        "certificates.k8s.io": ("CertificateSigningRequest",),
        "flowcontrol.apiserver.k8s.io": ("FlowSchema", "PriorityLevelConfiguration"),
    }.items() for kind in kinds
}
"""(API group, kind) of the built-in kinds that live outside namespaces."""

SCHEMA_ROOT = Path(str(resources.files("kubernetes_validate"))) / "kubernetes-json-schema"


@dataclass(frozen=True)
class ObjectError:
    object: str
    """apiVersion/kind namespace/name."""
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.object}: {self.path or '<root>'}: {self.reason}"


def describe(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{document.get('apiVersion')}/{document.get('kind')} {where}{metadata.get('name', '?')}"


@cache
def _schema_dir(minor: str) -> Path:
    wanted = f"v{minor}.0-local-strict"
    if not (SCHEMA_ROOT / wanted).is_dir():
        known = sorted(p.name.removesuffix("-local-strict") for p in SCHEMA_ROOT.glob("v*-local-strict"))
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {minor}; it knows {known[0]}..{known[-1]}")
    return SCHEMA_ROOT / wanted


@cache
def _registry(minor: str):
    # Imported here: a warm preview answers from the cache and never builds a validator.
    from referencing import Registry, Resource

    definitions = json.loads((_schema_dir(minor) / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


def _schema_file(minor: str, api_version: str, kind: str) -> Path:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return _schema_dir(minor) / f"{kind.lower()}-{group_version}.json"


@cache
def _validator(minor: str, api_version: str, kind: str):
    import jsonschema
    from referencing import Resource

    path = _schema_file(minor, api_version, kind)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ _registry(minor))


def served(minor: str, api_version: str, kind: str) -> bool:
    version = api_version.rsplit("/", 1)[-1]
    return "alpha" not in version and _schema_file(minor, api_version, kind).is_file()


def _path(error) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")


def _reason(error) -> str:
    if error.validator == "additionalProperties":
        return f"unknown field(s): {error.message.split('(', 1)[-1].rstrip(')')}"
    return error.message if len(error.message) < 300 else error.message[:297] + "..."


def _validate(documents: list[dict[str, Any]], minor: str) -> list[list[str]]:
    found = []
    for document in documents:
        api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
        validator = _validator(minor, api_version, kind) if served(minor, api_version, kind) else None
        if validator is None:
            found.append([describe(document), "", f"Kubernetes {minor} does not serve {api_version} {kind}"])
            continue
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
            found.append([describe(document), _path(error), _reason(error)])
    return found


def check(documents: list[dict[str, Any]], minor: str) -> list[ObjectError]:
    """Schema errors of built-in objects; cached by the documents' content, the version and the validator (this
    module's code, the schemas' and the validator's packages)."""
    if not documents:
        return []
    key = digest([minor, code_digest(__name__), package_version("kubernetes-validate"), package_version("jsonschema"),
                  documents])
    return [ObjectError(*row) for row in cached(key, "builtin-schemas", lambda: _validate(documents, minor))]
