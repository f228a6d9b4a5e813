"""Runs the policy pack on recorded resources, in-process, the way the engine would call it.

Each inventory entry becomes the `ResourceValidationArgs` the engine builds (type, props, urn,
name, options, provider, this policy's config with defaults applied), and the stack policies get
`StackValidationArgs` over every resource. Config follows the engine's precedence: a policy's own
entry, then `all`, then the policy's declared level.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hipaa
from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from offline.checks import PACK_DIR  # noqa: F401  (re-exported for the analyzer)


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    level: str


@dataclass
class PolicyReport:
    violations: list[Violation] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    """Per policy, how many resources (or 1 for stack policies) it judged."""
    levels: dict[str, str] = field(default_factory=dict)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY.value]



def effective_level(policy_name: str, declared: str, pack_config: dict[str, Any]) -> str:
    """The engine's precedence: the policy's own config entry, then `all`, then the level the policy declares."""
    entry = pack_config.get(policy_name)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and "enforcementLevel" in entry:
        return entry["enforcementLevel"]
    if isinstance(pack_config.get("all"), str):
        return pack_config["all"]
    return declared


def _rule_config(rule, pack_config: dict[str, Any]) -> dict[str, Any]:
    entry = pack_config.get(rule.name)
    return rule.settings(entry if isinstance(entry, dict) else None)


def _run(result) -> None:
    if inspect.isawaitable(result):
        asyncio.run(result)


def _options(entry: dict[str, Any]) -> PolicyResourceOptions:
    options = entry.get("options") or {}
    return PolicyResourceOptions(
        protect=bool(options.get("protect")), ignore_changes=list(options.get("ignoreChanges") or []),
        delete_before_replace=bool(options.get("deleteBeforeReplace")), aliases=[], custom_timeouts=None,
        additional_secret_outputs=list(options.get("additionalSecretOutputs") or []),
        parent=entry.get("parent") or None,
    )


def _provider(entry: dict[str, Any], by_urn: dict[str, dict]) -> PolicyProviderResource | None:
    provider = by_urn.get(entry.get("provider") or "")
    if provider is None:
        return None
    return PolicyProviderResource(provider["type"], provider["inputs"], provider["urn"], provider["name"])


def _props(entry: dict[str, Any]):
    """Props as the analyzer hands them to policies: wrapped in the proxy that raises on unknowns."""
    return unknown_checking_proxy(entry["inputs"])


def analysed(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources the engine asks the analyzer about: registrations, not reads."""
    return [r for r in inventory["resources"] if not r.get("read")]


def run_pack(inventory: dict[str, Any], pack_config: dict[str, Any]) -> PolicyReport:
    report = PolicyReport()
    entries = analysed(inventory)
    by_urn = {r["urn"]: r for r in inventory["resources"]}
    # Each resource's proxied props, options and provider are built once and shared by every policy: they are
    # read-only views, and building them per policy was three quarters of the pack's time.
    views = [(entry, _props(entry), _options(entry), _provider(entry, by_urn)) for entry in entries]
    stack_resources = [PolicyResource(e["type"], props, e["urn"], e["name"], options, provider, None, [], {})
                       for e, props, options, provider in views]
    for rule, policy in zip(hipaa.RULES, hipaa.policies(), strict=True):
        level = effective_level(rule.name, rule.enforcement.value, pack_config)
        report.levels[rule.name] = level
        if level == EnforcementLevel.DISABLED.value:
            continue
        config = _rule_config(rule, pack_config)

        def reporter(default_urn: str, policy_name: str = rule.name, policy_level: str = level):
            def report_violation(message: str, urn: str | None = None) -> None:
                report.violations.append(Violation(policy_name, urn or default_urn, message, policy_level))
            return report_violation

        if rule.stack:
            _run(policy.validate(StackValidationArgs(stack_resources, config), reporter("")))
            report.checked[rule.name] = 1
            continue
        for entry, props, options, provider in views:
            args = ResourceValidationArgs(entry["type"], props, entry["urn"], entry["name"], options, provider, config)
            _run(policy.validate(args, reporter(entry["urn"])))
        report.checked[rule.name] = len(entries)
    report.violations.sort(key=lambda v: (v.policy, v.urn, v.message))
    return report


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
