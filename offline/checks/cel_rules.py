"""The CEL validation rules of CRD schemas (``x-kubernetes-validations``), evaluated as the API server does.

Each rule runs at its schema node with ``self`` bound to the value there, after the schema's defaults
are applied: for an object, its declared properties (names escaped as in Kubernetes: ``__dash__``,
``__dot__``, reserved words as ``__namespace__``...; null fields count as absent); for a map
(``additionalProperties``) its entries; for a list, its items; for a scalar, the value (integers as
int, numbers as double, int-or-string as whichever it holds). At the root ``self`` also has
``apiVersion``, ``kind`` and ``metadata.name``/``generateName``, and no other metadata. A rule on a
field the object does not set is not evaluated.

Transition rules (those reading ``oldSelf``) run only on an update, where the old object has the same
node: fields correlate by name, map entries by key, items of ``x-kubernetes-list-type: map`` lists by
their keys; items of other lists do not correlate. A failed rule is refused with its ``message``
(or ``messageExpression``, or ``failed rule: <rule>``) at the node's path plus its ``fieldPath``; an
evaluation error (a missing key, an index out of range) is refused as the API server refuses it.

Rules compile once per process (cached by expression) with cel-python and the Kubernetes functions of
``offline.checks.cel_library``. A rule the checker cannot evaluate (it does not parse, calls a function
the library lacks, or asks for ``optionalOldSelf``) is a skipped site, listed with the reason.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.evaluation import CELEvalError

from offline.checks import cel_library

_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
                       "if", "import", "let", "loop", "package", "namespace", "return"})
_ABSENT = object()
_INDEX = re.compile(r"\[[^\]]*\]")


def escape(name: str) -> str:
    """A property name as a CEL rule selects it."""
    if name in _RESERVED:
        return f"__{name}__"
    return (name.replace("__", "__underscores__").replace(".", "__dot__").replace("-", "__dash__")
            .replace("/", "__slash__"))


@dataclass(frozen=True)
class Compiled:
    program: Any
    transition: bool
    skip: str | None
    """Why the checker cannot evaluate the rule; None when it can."""


def _calls(tree) -> set[str]:
    names = set()
    for node in tree.iter_subtrees():
        if node.data in ("member_dot_arg", "ident_arg", "dot_ident_arg"):
            names.update(str(t) for t in node.children if getattr(t, "type", None) == "IDENT")
    return names


def _idents(tree) -> set[str]:
    return {str(t) for node in tree.iter_subtrees() if node.data == "ident" for t in node.children}


@cache
def _environment() -> celpy.Environment:
    return celpy.Environment()


@cache
def compile_rule(text: str) -> Compiled:
    """The rule's program (compiled once per process), whether it is a transition rule, and any reason to skip it."""
    environment = _environment()
    try:
        tree = environment.compile(text)
    except Exception as error:  # cel-python raises its parser's own error types
        return Compiled(None, False, f"cel-python cannot parse it: {str(error).splitlines()[0]}")
    unknown = sorted(_calls(tree) - cel_library.KNOWN)
    transition = "oldSelf" in _idents(tree)
    if unknown:
        return Compiled(None, transition, f"calls {', '.join(unknown)}, which the checker's CEL library lacks")
    return Compiled(environment.program(tree, functions=cel_library.FUNCTIONS), transition, None)


def skip_reason(rule: dict[str, Any]) -> str | None:
    if rule.get("optionalOldSelf"):
        return "optionalOldSelf needs CEL optional values on create, which cel-python lacks"
    compiled = compile_rule(rule["rule"])
    if compiled.skip:
        return compiled.skip
    if rule.get("messageExpression"):
        return compile_rule(rule["messageExpression"]).skip
    return None


# -- rule sites -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSite:
    kind: str
    """apiVersion/kind."""
    path: str
    """Schema path of the node that carries the rule (``[*]`` for list items and map values)."""
    rule: str
    message: str
    transition: bool
    skip: str | None

    def __str__(self) -> str:
        return f"{self.kind} {self.path or '<root>'}: {self.message or self.rule!r}: {self.skip}"


def _site_nodes(schema: dict[str, Any], path: str):
    yield path, schema
    for key, child in (schema.get("properties") or {}).items():
        yield from _site_nodes(child, f"{path}.{key}".lstrip("."))
    if isinstance(schema.get("items"), dict):
        yield from _site_nodes(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _site_nodes(schema["additionalProperties"], f"{path}[*]")
    for combinator in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(combinator) or []:
            yield from _site_nodes(child, path)


def sites(schemas: dict[tuple[str, str], dict[str, Any]]) -> list[RuleSite]:
    """Every rule site of the schemas, each with whether it is a transition rule and why it is skipped."""
    found = []
    for (api_version, kind), schema in sorted(schemas.items()):
        for path, node in _site_nodes(schema, ""):
            for rule in node.get("x-kubernetes-validations") or []:
                found.append(RuleSite(f"{api_version}/{kind}", path, rule["rule"], rule.get("message", ""),
                                      compile_rule(rule["rule"]).transition, skip_reason(rule)))
    return found


# -- evaluation -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    evaluated: int = 0
    """Rule evaluations (a rule on list items counts once per item)."""
    refusals: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of each refused rule."""
    sites: set[tuple[str, str]] = field(default_factory=set)
    """(schema path, rule) of each rule site evaluated, paths as ``RuleSite.path`` writes them."""
    unevaluated: list[tuple[str, str, str]] = field(default_factory=list)
    """(schema path, message or rule, reason) of rules cel-python failed on: neither passed nor refused."""


def _scalar(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.DoubleType(value) if schema.get("type") == "number" else celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return value


def _with_defaults(value: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    missing = {key: copy.deepcopy(child["default"]) for key, child in properties.items()
               if "default" in child and value.get(key) is None}
    return {**value, **missing} if missing else value


def _list_key(item: Any, keys: list[str]) -> tuple | None:
    return tuple(item.get(k) for k in keys) if isinstance(item, dict) else None


class _Walk:
    def __init__(self, transitions: bool, transitions_only: bool = False):
        self.transitions, self.transitions_only = transitions, transitions_only
        self.outcome = Outcome()

    def value(self, value: Any, schema: dict[str, Any], path: str, old: Any, run: bool) -> Any:
        """The CEL value of ``value`` under ``schema``; with ``run``, the node's rules and its children's run too."""
        if value is None:
            return None
        if isinstance(value, dict):
            cel = self._object(value, schema, path, old, run)
        elif isinstance(value, list):
            cel = self._list(value, schema, path, old, run)
        else:
            cel = _scalar(value, schema)
        if run:
            self._rules(cel, schema, path, old)
        return cel

    def _object(self, value: dict[str, Any], schema: dict[str, Any], path: str, old: Any, run: bool):
        old = old if isinstance(old, dict) else {}
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        entries = {}
        if properties or not isinstance(additional, dict):
            properties = properties or {}
            # The stored object was defaulted too: a transition rule sees the old default.
            value, old = _with_defaults(value, properties), _with_defaults(old, properties)
            for key, item in value.items():
                if item is None or key not in properties:
                    continue
                entries[escape(key)] = self.value(item, properties[key], f"{path}.{key}".lstrip("."),
                                                  old.get(key, _ABSENT), run)
        else:
            for key, item in value.items():
                if item is not None:
                    entries[key] = self.value(item, additional, f"{path}[{key}]", old.get(key, _ABSENT), run)
        return celtypes.MapType({celtypes.StringType(k): v for k, v in entries.items()})

    def _list(self, value: list[Any], schema: dict[str, Any], path: str, old: Any, run: bool):
        items = schema.get("items") or {}
        keys = schema.get("x-kubernetes-list-map-keys") or []
        old_items = {}
        if schema.get("x-kubernetes-list-type") == "map" and keys and isinstance(old, list):
            old_items = {_list_key(item, keys): item for item in old}
        return celtypes.ListType([
            self.value(item, items, f"{path}[{index}]", old_items.get(_list_key(item, keys), _ABSENT), run)
            for index, item in enumerate(value)])

    def _rules(self, cel: Any, schema: dict[str, Any], path: str, old: Any) -> None:
        for rule in schema.get("x-kubernetes-validations") or []:
            if skip_reason(rule):
                continue
            compiled = compile_rule(rule["rule"])
            if self.transitions_only and not compiled.transition:
                continue
            activation = {"self": cel, **cel_library.VARIABLES}
            if compiled.transition:
                if not self.transitions or old is _ABSENT or old is None:
                    continue
                activation["oldSelf"] = self.value(old, schema, path, _ABSENT, run=False)
            where = f"{path}.{rule['fieldPath'].lstrip('.')}".lstrip(".") if rule.get("fieldPath") else path
            try:
                result = compiled.program.evaluate(activation)
            except CELEvalError as error:
                result = error
            except Exception as error:  # a gap of the evaluator, not of the object: named, not passed
                self.outcome.unevaluated.append((_INDEX.sub("[*]", path), _named(rule),
                                                 f"cel-python failed: {type(error).__name__}: {error}"))
                continue
            self.outcome.evaluated += 1
            self.outcome.sites.add((_INDEX.sub("[*]", path), rule["rule"]))
            if isinstance(result, CELEvalError):
                self.outcome.refusals.append((where, f"{result.args[0]} evaluating rule: {_named(rule)}"))
            elif not (isinstance(result, (bool, celtypes.BoolType)) and result):
                self.outcome.refusals.append((where, _message(rule, activation)))


def _named(rule: dict[str, Any]) -> str:
    return rule.get("message") or rule["rule"]


def _message(rule: dict[str, Any], activation: dict[str, Any]) -> str:
    reason = f" (reason: {rule['reason']})" if rule.get("reason") else ""
    if rule.get("messageExpression"):
        try:
            text = compile_rule(rule["messageExpression"]).program.evaluate(activation)
            if isinstance(text, str) and text.strip():
                return str(text) + reason
        except Exception:  # noqa: BLE001 - the API server falls back to the message on any failure, as here
            pass
    return (rule.get("message") or f"failed rule: {rule['rule']}") + reason


def evaluate(document: dict[str, Any], schema: dict[str, Any], old: dict[str, Any] | None = None,
             transitions_only: bool = False) -> Outcome:
    """Every rule of the schema on one custom resource; transition rules too when ``old`` is given.

    With ``transitions_only``, only the transition rules: what an update adds to the rules a create runs.
    """
    walk = _Walk(transitions=old is not None, transitions_only=transitions_only)
    walk.value(_root(document), root_schema(schema), "", _root(old) if old is not None else _ABSENT, run=True)
    return walk.outcome


def _root(document: dict[str, Any]) -> dict[str, Any]:
    metadata = document.get("metadata") or {}
    return {**document, "metadata": {k: metadata[k] for k in ("name", "generateName") if k in metadata}}


ROOT_METADATA = {"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}}


def root_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The CRD's schema with the metadata rules can read at the root (the CRD declares only ``type: object``)."""
    properties = {**(schema.get("properties") or {}), "metadata": ROOT_METADATA,
                  "apiVersion": {"type": "string"}, "kind": {"type": "string"}}
    return {**schema, "properties": properties}
