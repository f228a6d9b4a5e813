"""Validates custom resources against their CRD's openAPIV3Schema, as the API server would.

The schemas come from the CRDs the charts of the pinned versions install (rendered) and, for the
kinds the vSphere Supervisor serves, from the CRD files in the artifacts directory.

Strict field validation: a field the schema does not declare is an error unless the schema keeps
unknown fields (`x-kubernetes-preserve-unknown-fields`) or allows additional properties. Also
checked: types (with `x-kubernetes-int-or-string`), required fields, enums, nullability, patterns,
lengths, item counts and numeric bounds. The CEL rules (`x-kubernetes-validations`) run through
``offline.checks.cel_rules``; their results are cached by the objects' and the schemas' content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from offline.charts.cache import cached, code_digest, digest
from offline.kube_yaml import load_all

_METADATA_FIELDS = {"name", "namespace", "labels", "annotations", "generateName", "finalizers", "ownerReferences"}
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
Schemas = dict[tuple[str, str], dict[str, Any]]


@dataclass(frozen=True)
class SchemaError:
    object: str
    """apiVersion/kind namespace/name of the object."""
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.object}: {self.path or '<root>'}: {self.reason}"


def schemas_from(documents: list[dict[str, Any]]) -> Schemas:
    """(apiVersion, kind) -> openAPIV3Schema for every served version of every CRD among the documents."""
    found: Schemas = {}
    for document in documents:
        if (document.get("apiVersion"), document.get("kind")) != CRD:
            continue
        spec = document["spec"]
        for version in spec["versions"]:
            if version.get("served") and "schema" in version:
                found[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return found


def crd_documents(path: Path) -> list[dict[str, Any]]:
    """The CRDs in a YAML file (parsed by libyaml)."""
    return [d for d in load_all(path.read_text()) if isinstance(d, dict)]


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _check(value: Any, schema: dict[str, Any], path: str) -> list[tuple[str, str]]:
    if value is None:
        return [] if schema.get("nullable") else [(path, "null is not allowed")]
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return [(path, f"must be an integer or a string, not {type(value).__name__}")]
        return []
    errors: list[tuple[str, str]] = []
    for sub in schema.get("allOf") or []:
        errors += _check(value, sub, path)
    if schema.get("anyOf") and not any(not _check(value, sub, path) for sub in schema["anyOf"]):
        errors.append((path, "matches none of the allowed forms (anyOf)"))
    if schema.get("oneOf") and sum(not _check(value, sub, path) for sub in schema["oneOf"]) != 1:
        errors.append((path, "must match exactly one allowed form (oneOf)"))
    kind = schema.get("type")
    if kind and not _TYPES[kind](value):
        return errors + [(path, f"must be of type {kind}, not {type(value).__name__}")]
    if "enum" in schema and value not in schema["enum"]:
        errors.append((path, f"{value!r} is not one of {schema['enum']}"))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append((path, f"{value!r} does not match {schema['pattern']}"))
        if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
            errors.append((path, f"length {len(value)} outside [{schema.get('minLength', 0)}, {schema.get('maxLength')}]"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append((path, f"{value} is below the minimum {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append((path, f"{value} is above the maximum {schema['maximum']}"))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append((path, f"needs at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append((path, f"allows at most {schema['maxItems']} items"))
        for index, item in enumerate(value):
            errors += _check(item, schema.get("items") or {}, f"{path}[{index}]")
    if isinstance(value, dict):
        errors += _check_object(value, schema, path)
    return errors


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[tuple[str, str]]:
    errors = [(f"{path}.{key}".lstrip("."), "required field is missing")
              for key in schema.get("required") or [] if key not in value]
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or additional is True
    for key, item in value.items():
        child = f"{path}.{key}".lstrip(".")
        if key in properties:
            errors += _check(item, properties[key], child)
        elif isinstance(additional, dict):
            errors += _check(item, additional, child)
        elif not keeps_unknown and (properties or additional is False):
            errors.append((child, "unknown field"))
    return errors


def validate(document: dict[str, Any], schemas: Schemas) -> list[SchemaError] | None:
    """Errors of one custom resource, or None when no CRD schema is known for its kind."""
    api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
    schema = schemas.get((api_version, kind))
    if schema is None:
        return None
    metadata = document.get("metadata") or {}
    name = describe(document)
    body = {k: v for k, v in document.items() if k != "metadata"}
    errors = [(f"metadata.{key}", "unknown field") for key in metadata if key not in _METADATA_FIELDS]
    root = {**schema, "properties": {k: v for k, v in (schema.get("properties") or {}).items() if k != "metadata"}}
    errors += _check(body, root, "")
    return [SchemaError(name, path, reason) for path, reason in errors]


BUILTIN_GROUPS = {
    "", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "scheduling.k8s.io", "node.k8s.io", "certificates.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "apiregistration.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
}


@dataclass(frozen=True)
class CrdReport:
    validated: int
    errors: list[SchemaError]
    unvalidated: list[str]
    """apiVersion/kind of custom resources with no published schema."""
    rules_evaluated: int = 0
    """CEL rule evaluations (a rule on list items counts once per item)."""
    sites_reached: int = 0
    """Distinct rule sites those evaluations ran; the others guard fields no custom resource sets."""
    rule_errors: list[SchemaError] = field(default_factory=list)
    """Custom resources a CEL validation rule of their CRD refuses."""
    rule_sites: int = 0
    """Rule sites in the schemas of every CRD the stack installs."""
    transition_sites: int = 0
    """Of those, the transition rules (``oldSelf``): evaluated on updates only."""
    skipped_sites: list[str] = field(default_factory=list)
    """Rule sites the checker cannot evaluate, each with the reason."""


def is_custom(document: dict[str, Any]) -> bool:
    api_version = document.get("apiVersion", "")
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return group not in BUILTIN_GROUPS


def describe(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    return f"{document.get('apiVersion')}/{document.get('kind')} {metadata.get('namespace', '')}/{metadata.get('name', '?')}"


_RULES_FORMAT = 4
"""Bumped when the rules' evaluation or its cached result changes."""


def _rules(documents: list[dict[str, Any]], schemas: Schemas) -> dict[str, Any]:
    # Imported here: a warm preview answers from the cache and never loads the CEL library.
    from offline.checks import cel_rules

    sites = cel_rules.sites(schemas)
    evaluated, refusals, reached, failed = 0, [], set(), set()
    for document in documents:
        outcome = cel_rules.evaluate(document, schemas[(document["apiVersion"], document["kind"])])
        evaluated += outcome.evaluated
        refusals += [[describe(document), path, reason] for path, reason in outcome.refusals]
        reached |= {(document["apiVersion"], document["kind"], *site) for site in outcome.sites}
        failed |= {f"{document['apiVersion']}/{document['kind']} {path or '<root>'}: {name!r}: {reason}"
                   for path, name, reason in outcome.unevaluated}
    skipped = [str(s) for s in sites if s.skip] + sorted(failed)
    return {"evaluated": evaluated, "refusals": refusals, "sites": len(sites), "reached": len(reached),
            "transition": sum(site.transition for site in sites), "skipped": skipped}


def rule_results(documents: list[dict[str, Any]], schemas: Schemas) -> dict[str, Any]:
    """The CEL rules of the schemas on the documents (each of a kind the schemas know), cached by content."""
    # The key also names the evaluator: its code, its library's version and this module's result format.
    key = digest([_RULES_FORMAT, code_digest(__name__, "offline.checks.cel_rules", "offline.checks.cel_library"),
                  package_version("cel-python"), documents, sorted(schemas.items())])
    return cached(key, "crd-rules", lambda: _rules(documents, schemas))


def check(documents: list[dict[str, Any]], schemas: Schemas) -> CrdReport:
    validated, errors, unvalidated, known = 0, [], set(), []
    for document in documents:
        if not is_custom(document):
            continue
        found = validate(document, schemas)
        if found is None:
            unvalidated.add(f"{document.get('apiVersion')}/{document.get('kind')}")
            continue
        validated += 1
        errors += found
        known.append(document)
    rules = rule_results(known, schemas)
    return CrdReport(validated, errors, sorted(unvalidated), rules["evaluated"], rules["reached"],
                     [SchemaError(*row) for row in rules["refusals"]], rules["sites"], rules["transition"],
                     rules["skipped"])
