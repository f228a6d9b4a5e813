"""Typed stack configuration: parsed once, validated completely, before any resource exists.

Structural rules (types, ranges, enums) live on the models in ``components.config_model``; rules
spanning fields are in ``components.config_rules``. ``load_config`` runs both and raises one
``ConfigError`` listing every problem as ``path: value: reason``, so an operator fixes a stack file
in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from components.config.model import (  # noqa: F401  (re-exported: the config API of the program)
    PROJECT,
    SECRET_KEYS,
    SECTION_VALIDATORS,
    SECTIONS,
    AddonsConfig,
    BackupStorageConfig,
    DrConfig,
    GpuOperatorConfig,
    GpuPoolConfig,
    ModelConfig,
    ObservabilityConfig,
    PlatformConfig,
    TanzuConfig,
    VsphereConfig,
    WeightsVolumeConfig,
)
from components.config.rules import MISSING, RULES, ConfigIssue, dr_figures  # noqa: F401


class ConfigError(Exception):
    """Every problem in the stack config, one per line."""

    def __init__(self, issues: Iterable[ConfigIssue]):
        self.issues = tuple(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"invalid stack config ({len(self.issues)} problem(s)):\n{lines}")


def _pydantic_issues(error: ValidationError, prefix: str) -> list[ConfigIssue]:
    issues = []
    for item in error.errors():
        path = ".".join([prefix, *(str(part) for part in item["loc"])]).strip(".")
        value = MISSING if item["type"] == "missing" else item.get("input")
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = "unknown key (misspelt?); see the config reference in README.md"
        issues.append(ConfigIssue(path, value, reason))
    return issues


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def parse_config(raw: Mapping[str, Any], present_secrets: Iterable[str] = ()) -> PlatformConfig:
    """Validate raw section objects (camelCase keys) and the set of secret keys that are set.

    Raises ConfigError with every issue found. Sections are parsed one by one so a problem in
    one does not hide problems in another; cross-field rules run once every section parses.
    """
    issues: list[ConfigIssue] = []
    unknown = sorted(set(raw) - set(SECTIONS))
    issues += [ConfigIssue(key, raw[key], f"unknown config key; expected one of {list(SECTIONS)}") for key in unknown]
    for section, validator in SECTION_VALIDATORS.items():
        if section not in raw:
            continue
        try:
            validator.validate_python(raw[section])
        except ValidationError as error:
            issues += _pydantic_issues(error, section)
    if not issues:
        try:
            cfg = PlatformConfig.model_validate({k: v for k, v in raw.items() if k in SECTIONS})
        except ValidationError as error:
            issues += _pydantic_issues(error, "")
        else:
            for rule in RULES:
                issues += rule(cfg)
            present = set(present_secrets)
            issues += [
                ConfigIssue(
                    s.key, MISSING,
                    f"secret ({s.purpose}) is required; set it with `pulumi config set --secret {s.key} ...`",
                )
                for s in SECRET_KEYS if s.required_when(cfg) and s.key not in present
            ]
    if issues:
        raise ConfigError(issues)
    return cfg


def load_config(config: Any) -> PlatformConfig:
    """Read every section from a ``pulumi.Config`` for this project and validate it."""
    raw = {section: config.get_object(section) for section in SECTIONS}
    raw = {k: v for k, v in raw.items() if v is not None}
    present = [s.key for s in SECRET_KEYS if config.get_secret(s.key) is not None]
    return parse_config(raw, present)


def load_secrets(config: Any, cfg: PlatformConfig) -> dict[str, Any]:
    """The secret config values this stack needs, as secret Outputs keyed by config key."""
    return {s.key: config.require_secret(s.key) for s in SECRET_KEYS if s.required_when(cfg)}
