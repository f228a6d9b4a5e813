"""Every PromQL expression the objects carry, parsed by promql-parser; metric names from the parse tree.

Expressions are found where Prometheus, Grafana and KEDA read them: the rules of a PrometheusRule
(and queries its annotations' templates run with ``{{ query "..." }}``), the targets of every Grafana
dashboard held in a ConfigMap (``expr`` anywhere in the board, and a template variable's
``label_values(...)`` or ``query_result(...)``), and the triggers of type ``prometheus`` of KEDA
ScaledObjects and ScaledJobs. The parser checks syntax and types (``rate`` of an instant vector is
an error, as in Prometheus). Grafana's interval variables (``$__rate_interval``, ``$__interval``,
``$__range``) are replaced by a duration before parsing, as Grafana does before sending the query.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import promql_parser

from offline.checks.crds import describe

_GRAFANA_DURATIONS = re.compile(r"\$\{?__(rate_interval|interval|range)\}?")
_GRAFANA_NUMBERS = re.compile(r"\$\{?__(interval_ms|range_s|range_ms)\}?")
_TEMPLATE_QUERY = re.compile(r"\bquery\s+\"((?:[^\"\\]|\\.)*)\"|\bquery\s+`([^`]*)`")
_VARIABLE_QUERY = re.compile(r"^\s*(label_values|query_result)\s*\((.*)\)\s*$", re.S)


class PromqlError(ValueError):
    """An expression promql-parser refuses."""


def parse(expression: str) -> promql_parser.Expr:
    try:
        return promql_parser.parse(expression)
    except ValueError as error:
        raise PromqlError(str(error)) from None


def metric_names(expression: str) -> set[str]:
    """The metric names the expression selects (a selector's name or its ``__name__`` matcher)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            groups = [node.matchers.matchers, *(node.matchers.or_matchers or [])]
            names.update(m.value for group in groups for m in group
                         if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal)

    promql_parser.walk(parse(expression), visit)
    return names


@dataclass(frozen=True)
class Expression:
    object: str
    """apiVersion/kind namespace/name."""
    where: str
    """Where in the object: the rule, panel or trigger."""
    text: str
    """As the object holds it."""
    query: str
    """As Prometheus receives it (Grafana variables replaced)."""


def _rule_expressions(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for group in (document.get("spec") or {}).get("groups") or []:
        for index, rule in enumerate(group.get("rules") or []):
            name = rule.get("alert") or rule.get("record") or f"rules[{index}]"
            where = f"group {group.get('name')} rule {name}"
            if isinstance(rule.get("expr"), str):
                found.append((where, rule["expr"], rule["expr"]))
            for key, text in sorted((rule.get("annotations") or {}).items()):
                for match in _TEMPLATE_QUERY.finditer(str(text)):
                    query = match.group(1).encode().decode("unicode_escape") if match.group(1) is not None \
                        else match.group(2)
                    found.append((f"{where} annotation {key}", query, query))
    return found


def _grafana(text: str) -> str:
    return _GRAFANA_NUMBERS.sub("300", _GRAFANA_DURATIONS.sub("5m", text))


def _board_expressions(board: Any, path: str = "") -> list[tuple[str, str, str]]:
    found = []
    if isinstance(board, dict):
        title = f"{path} panel {board['title']!r}".strip() if "targets" in board and board.get("title") else path
        for key, value in board.items():
            if key == "expr" and isinstance(value, str) and value.strip():
                found.append((f"{title} target {board.get('refId', '')}".strip(), value, _grafana(value)))
            elif key == "query" and isinstance(value, (str, dict)) and "name" in board:
                text = value.get("query", "") if isinstance(value, dict) else value
                match = _VARIABLE_QUERY.match(text or "")
                if match:
                    argument = match.group(2)
                    if match.group(1) == "label_values":
                        argument = argument.rsplit(",", 1)[0] if "," in argument else ""
                    if argument.strip():
                        found.append((f"variable {board['name']}", text, _grafana(argument)))
            else:
                found += _board_expressions(value, title)
    elif isinstance(board, list):
        for item in board:
            found += _board_expressions(item, path)
    return found


def _dashboard_expressions(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for key, text in sorted((document.get("data") or {}).items()):
        try:
            board = json.loads(text)
        except (TypeError, ValueError):
            continue  # not JSON: the sidecar skips it too
        found += [(f"{key}: {where}", expr, query) for where, expr, query in _board_expressions(board)]
    return found


def _trigger_expressions(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for index, trigger in enumerate((document.get("spec") or {}).get("triggers") or []):
        query = (trigger.get("metadata") or {}).get("query")
        if trigger.get("type") == "prometheus" and isinstance(query, str):
            found.append((f"trigger {trigger.get('name') or index}", query, query))
    return found


def expressions(documents: list[dict[str, Any]]) -> list[Expression]:
    """The PromQL expressions of rules, dashboards and KEDA triggers among the documents."""
    found = []
    for document in documents:
        kind = (document.get("apiVersion", "").split("/")[0], document.get("kind"))
        labels = (document.get("metadata") or {}).get("labels") or {}
        if kind == ("monitoring.coreos.com", "PrometheusRule"):
            rows = _rule_expressions(document)
        elif kind == ("v1", "ConfigMap") and "grafana_dashboard" in labels:
            rows = _dashboard_expressions(document)
        elif kind in (("keda.sh", "ScaledObject"), ("keda.sh", "ScaledJob")):
            rows = _trigger_expressions(document)
        else:
            continue
        found += [Expression(describe(document), where, text, query) for where, text, query in rows]
    return found


def syntax_errors(found: list[Expression]) -> list[str]:
    """One line per expression the parser refuses: the object, where in it, the error and the expression."""
    errors = []
    for expression in found:
        try:
            parse(expression.query)
        except PromqlError as error:
            errors.append(f"{expression.object}: {expression.where}: {error}: {expression.text!r}")
    return errors
