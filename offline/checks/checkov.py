"""checkov over everything a stack renders: the program's objects and every chart's, and the exceptions it accepts.

The program's own objects carry no exception here: what they cannot fix carries checkov's own annotation on the
object (tests/test_checkov.py accepts one). A chart's object that fails a check and that no value of the pinned
chart can fix is covered by an entry of ``policies/checkov-exceptions.yaml``, which names the checks, the chart,
the kinds and the objects (by name pattern or namespace), and says why it is acceptable here. Every check of an
entry, and every name pattern, must match a failure of some rendered stack, so an entry that no longer matches
anything (a chart bump fixed it, an object was renamed) is an error instead of a silent hole.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXCEPTIONS_FILE = Path(__file__).resolve().parents[2] / "policies" / "checkov-exceptions.yaml"
CHECK_ID = re.compile(r"^CKV2?_K8S_\d+$")
FIELDS = {"checks", "chart", "kinds", "names", "namespace", "reason"}
MIN_REASON_WORDS = 8
"""A reason says why the finding is acceptable here (what needs it, what contains it), not just that it is."""


class ExceptionsError(ValueError):
    """The exceptions file is malformed: each problem names the entry."""


@dataclass(frozen=True)
class CheckovException:
    checks: tuple[str, ...]
    chart: str
    kinds: tuple[str, ...]
    names: tuple[str, ...]
    """Glob patterns of object names; empty when the entry names a namespace instead."""
    namespace: str | None
    reason: str

    def objects(self) -> str:
        """The object group, as the compliance report shows it."""
        where = f"namespace {self.namespace}" if self.namespace else ", ".join(self.names)
        return f"{'/'.join(self.kinds)} {where}"

    def covers(self, failure: Failure) -> bool:
        return (failure.chart == self.chart and failure.check in self.checks and failure.kind in self.kinds
                and (failure.namespace == self.namespace if self.namespace
                     else any(fnmatch.fnmatchcase(failure.name, pattern) for pattern in self.names)))


@dataclass(frozen=True)
class Failure:
    stack: str
    chart: str | None
    """The chart whose render holds the object; None for the program's own objects."""
    check: str
    title: str
    kind: str
    namespace: str
    """As checkov names it: ``default`` for a cluster-scoped object."""
    name: str

    def __str__(self) -> str:
        owner = f"chart {self.chart}" if self.chart else "program"
        return f"{self.stack}: {self.check} {self.kind}.{self.namespace}.{self.name} ({owner}): {self.title}"


def _strings(entry: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = entry.get(key)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
        problems.append(f"{where}: `{key}` must be a non-empty string or list of strings")
        return ()
    return tuple(items)


def parse(document: Any, source: str = str(EXCEPTIONS_FILE)) -> list[CheckovException]:
    """The entries of an exceptions document; ExceptionsError lists every malformed one."""
    entries = (document or {}).get("exceptions") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ExceptionsError(f"{source}: expected a mapping with an `exceptions` list")
    problems: list[str] = []
    found = []
    for index, entry in enumerate(entries):
        where = f"{source}: exceptions[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a mapping")
            continue
        where += f" ({entry.get('chart')}, {entry.get('checks')})"
        unknown = set(entry) - FIELDS
        if unknown:
            problems.append(f"{where}: unknown field(s) {sorted(unknown)}")
        checks = _strings(entry, "checks", where, problems)
        kinds = _strings(entry, "kinds", where, problems)
        chart = entry.get("chart")
        reason = entry.get("reason")
        # No wildcard over checks, charts or kinds: each entry is a reviewed decision about named checks.
        for check in checks:
            if not CHECK_ID.match(check):
                problems.append(f"{where}: `{check}` is not one checkov Kubernetes check id (no wildcards)")
        if not isinstance(chart, str) or not chart.strip() or any(c in chart for c in "*?["):
            problems.append(f"{where}: `chart` must name one chart")
        if any(any(c in kind for c in "*?[") for kind in kinds):
            problems.append(f"{where}: `kinds` must name kinds, not patterns")
        names = _strings(entry, "names", where, problems) if "names" in entry else ()
        namespace = entry.get("namespace")
        if bool(names) == bool(namespace):
            problems.append(f"{where}: give `names` (patterns of object names) or `namespace`, exactly one")
        if namespace is not None and (not isinstance(namespace, str) or any(c in namespace for c in "*?[")):
            problems.append(f"{where}: `namespace` must name one namespace")
        for pattern in names:
            if pattern.strip("*?") == "":
                problems.append(f"{where}: name pattern `{pattern}` matches every object; name them")
        if not isinstance(reason, str) or len(reason.split()) < MIN_REASON_WORDS:
            problems.append(f"{where}: `reason` must say why this is acceptable here (at least {MIN_REASON_WORDS} words)")
        found.append(CheckovException(checks, str(chart), kinds, names, namespace if isinstance(namespace, str) else None,
                                      " ".join(str(reason).split())))
    if problems:
        raise ExceptionsError("\n".join(problems))
    return found


def load(path: Path = EXCEPTIONS_FILE) -> list[CheckovException]:
    return parse(yaml.safe_load(path.read_text()), str(path))


def failures(report: dict[str, Any], stack_and_chart: Any) -> list[Failure]:
    """The failed checks of one checkov JSON report (``--output json``); ``stack_and_chart(file_path)`` says which
    stack rendered the object's file and which chart (None for the program's own)."""
    found = []
    for check in report.get("failed_checks") or []:
        kind, namespace, name = check["resource"].split(".", 2)
        stack, chart = stack_and_chart(check["file_path"])
        found.append(Failure(stack, chart, check["check_id"], check["check_name"], kind, namespace, name))
    return found


@dataclass(frozen=True)
class Verdict:
    uncovered: list[Failure]
    """Failures no exception covers: a chart's to fix or except, the program's to fix."""
    unused: list[str]
    """Each check or name pattern of an entry that matched no failure."""
    covered: int


def judge(found: Iterable[Failure], exceptions: list[CheckovException]) -> Verdict:
    found = list(found)
    uncovered = [f for f in found if not any(e.covers(f) for e in exceptions)]
    unused = []
    for entry in exceptions:
        matched = [f for f in found if entry.covers(f)]
        for check in entry.checks:
            if not any(f.check == check for f in matched):
                unused.append(f"{check} on chart {entry.chart} {entry.objects()}: matches no failure")
        for pattern in entry.names:
            if not any(fnmatch.fnmatchcase(f.name, pattern) for f in matched):
                unused.append(f"{'/'.join(entry.checks)} on chart {entry.chart}: name `{pattern}` matches no failure")
    return Verdict(uncovered, unused, len(found) - len(uncovered))


def report_rows(exceptions: list[CheckovException]) -> list[dict[str, str]]:
    """The exceptions as the compliance report lists them."""
    return [{"checks": ", ".join(e.checks), "chart": e.chart, "objects": e.objects(), "reason": e.reason}
            for e in exceptions]
