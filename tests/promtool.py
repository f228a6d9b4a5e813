"""Runs promtool, the Prometheus project's own checker, from tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml


def promtool() -> str:
    """Path of promtool. Locally a missing promtool skips; in CI (CI=true) it fails."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found: install the Debian package `prometheus` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def write_rules(directory: Path, groups: list[dict], name: str = "rules.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def _needed_groups(groups: list[dict], case: dict) -> list[dict]:
    """The rule groups a unit-test case can observe: those defining its alerts and queried series, and every group
    whose recording rules they read (by name, transitively; ALERTS reads every alerting group).

    promtool evaluates every loaded group at every step up to a case's last eval_time, so a case of a few
    days at 30 s steps spends almost all its time on groups it never looks at. Groups are evaluated
    independently, so leaving those out changes no result; matching names as text only ever keeps more."""
    wanted = {test["alertname"] for test in case.get("alert_rule_test", [])}
    texts = [test["expr"] for test in case.get("promql_expr_test", [])]
    chosen: list[int] = []
    while True:
        added = [index for index, group in enumerate(groups) if index not in chosen and any(
            rule.get("alert") in wanted or (rule.get("record") and any(rule["record"] in text for text in texts))
            or ("alert" in rule and any("ALERTS" in text for text in texts)) for rule in group["rules"])]
        if not added:
            return [groups[index] for index in sorted(chosen)]
        chosen += added
        texts += [str(rule["expr"]) for index in added for rule in groups[index]["rules"]]


def _step(groups: list[dict], evaluation_interval: str) -> str:
    """The interval Prometheus evaluates ``groups`` at: their own ``interval`` when they all set the same one,
    else the global ``evaluation_interval``.

    promtool evaluates every loaded group at each step of the file's ``evaluation_interval`` and ignores a
    group's own interval, so a group Prometheus runs every 5 minutes would be run ten times as often as in
    production; over a case of days that is most of the suite's promtool time."""
    own = {group.get("interval") for group in groups}
    return own.pop() if len(own) == 1 and None not in own else evaluation_interval


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    """A Prometheus duration (``90m``, ``1h30m``) in seconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a Prometheus duration: {duration!r}"
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def write_unit_tests(directory: Path, groups: list[dict], cases: list[dict], evaluation_interval: str) -> list[str]:
    """One promtool test file per case, each with the rule groups it can observe (``_needed_groups``), stepped
    as Prometheus steps them (``_step``); every alert a case names must be among them. Returns the file names,
    for one `promtool test rules` run."""
    names = []
    for index, case in enumerate(cases):
        needed = _needed_groups(groups, case)
        defined = {rule.get("alert") for group in needed for rule in group["rules"]}
        missing = {test["alertname"] for test in case.get("alert_rule_test", [])} - defined
        assert not missing, f"unit test {index} names alerts no rule defines: {sorted(missing)}"
        step = _step(needed, evaluation_interval)
        # promtool judges an eval_time between two steps at the earlier one: a "not yet" would pass early.
        between = [test["eval_time"] for test in case.get("alert_rule_test", []) + case.get("promql_expr_test", [])
                   if seconds(test["eval_time"]) % seconds(step)]
        assert not between, f"unit test {index} evaluates at {between}, between its rules' {step} steps"
        rules = write_rules(directory, needed, f"rules-{index}.yaml")
        name = f"tests-{index}.yaml"
        (directory / name).write_text(yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": step, "tests": [case]}, sort_keys=False))
        names.append(name)
    return names
