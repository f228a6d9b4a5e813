"""Typed stack configuration: parsed once, validated completely, before any resource exists.

Structural rules (types, ranges, grammars of free-text fields) live on the models in
``components.config.model``; rules spanning fields are in ``components.config.rules``.
``parse_config`` runs both on the config keys of a stack and raises one ``ConfigError`` listing every
problem as ``path: value: reason``, so an operator fixes a stack file in one pass; values of secrets,
and anything that looks like a credential, are never part of that text.

``load_engine_config`` is the program's entry point: it takes the config exactly as the Pulumi engine
hands it to a program (every key of every namespace as ``namespace:name`` to text, plus the set of
keys that are secrets), so the same checks protect ``pulumi up`` and the offline preview.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from components.config.issues import MISSING, REDACTED, ConfigError, ConfigIssue, looks_secret_name  # noqa: F401
from components.config.messages import suggest, translate
from components.config.model import (  # noqa: F401  (re-exported: the config API of the program)
    PROJECT,
    RETIRED_KEYS,
    SECRET_KEYS,
    SECRET_NAMES,
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
    SecretKey,
    SiteConfig,
    TanzuConfig,
    VsphereConfig,
    WeightsVolumeConfig,
)
from components.config.rules import RULES, dr_figures  # noqa: F401
from components.config.site_mirror import apply_mirror
from components.config.stack_file import SecureValue
from components.planning import capacity


class SecretValue:
    """A config value the engine marks secret. Its text never appears in a repr or a message."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return REDACTED


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def misspells_project(namespace: str, project: str = PROJECT) -> bool:
    """True when a config namespace looks like a misspelling of the project's (``onprem_llm``, ``onprem-lm``)."""
    if namespace == project or not namespace:
        return False
    a, b = _normal(namespace), _normal(project)
    if a == b:
        return True
    if len(a) >= 3 and (a in b or b in a):
        return True
    return difflib.SequenceMatcher(None, namespace.lower(), project.lower()).ratio() >= 0.8 or \
        difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


_ENCRYPTED_SECTION = (
    "is stored encrypted (a whole section, or a {secure: ...} inside it), which reviews and the offline checks "
    "cannot read; write the section in plain text and keep credentials in the secret keys (see the secrets table "
    "of the config reference)")


EXPLICIT_PROVIDERS: dict[str, dict[str, str]] = {
    "vsphere": {"password": "the secret vspherePassword", "user": "vsphere.user", "vsphereServer": "vsphere.server",
                "allowUnverifiedSsl": "vsphere.allowUnverifiedSsl"},
    "kubernetes": {"kubeconfig": "the secret supervisorKubeconfig"},
    "vra": {"refreshToken": "the secret ariaRefreshToken", "url": "aria.url", "insecure": "aria.acceptSelfSignedCert"},
}
"""Providers the program builds explicitly from its own config: their stack config (``vsphere:password``) configures
only the default provider, which no resource uses, so it would be silently ignored."""


def _provider_key_issue(namespace: str, name: str, value: Any) -> ConfigIssue:
    target = EXPLICIT_PROVIDERS[namespace].get(name)
    secret = looks_secret_name(name) or isinstance(value, (SecretValue, SecureValue)) or \
        (target or "").startswith("the secret")
    plain = secret and not isinstance(value, (SecretValue, SecureValue))
    where = f"set {target} instead" if target else f"set the `{PROJECT}` keys of the config reference instead"
    return ConfigIssue(
        f"{namespace}:{name}", value,
        f"configures the default {namespace} provider, which no resource of this program uses (each takes the "
        f"provider built from the project's config), so it would be silently ignored; remove it and {where}"
        + ("; it is in plain text in version control: rotate it" if plain else ""), secret=secret)


def _key_issues(raw: Mapping[str, Any], project: str) -> tuple[list[ConfigIssue], set[str]]:
    """Problems with the keys themselves, and the secret keys that are set (as secrets)."""
    issues: list[ConfigIssue] = []
    present: set[str] = set()
    known = [*SECTIONS, *SECRET_NAMES]
    for key, value in raw.items():
        if ":" in key:
            namespace, _, name = key.partition(":")
            if namespace in EXPLICIT_PROVIDERS:
                issues.append(_provider_key_issue(namespace, name, value))
                continue
            if misspells_project(namespace, project):
                target = name if name in known else (suggest(name, known) or name)
                secret = name in SECRET_NAMES or looks_secret_name(name) or isinstance(value, (SecretValue, SecureValue))
                shown = _decode(value)
                issues.append(ConfigIssue(
                    key, "<mapping>" if isinstance(shown, (dict, list)) else value,
                    f"namespace {namespace!r} is not the project's ({project!r}), so Pulumi would hand this key to no "
                    f"one and the setting would silently vanish; write `{project}:{target}`", secret=secret))
            continue
        is_secret_value = isinstance(value, (SecretValue, SecureValue))
        if key in RETIRED_KEYS:
            issues.append(ConfigIssue(key, value, f"no longer read; {RETIRED_KEYS[key]}, then remove it here (see "
                                      "docs/disaster-recovery.md, \"One stack per site\")", secret=True))
            continue
        if key in SECRET_NAMES:
            secret = next(s for s in SECRET_KEYS if s.key == key)
            if is_secret_value:
                present.add(key)
            else:
                issues.append(ConfigIssue(
                    key, value,
                    f"is a secret ({secret.purpose}) but is set in plain text; remove it from the stack file and run "
                    f"`{secret.command}`. Rotate the value: the stack file is in version control", secret=True))
            continue
        if key in SECTIONS:
            if is_secret_value:
                issues.append(ConfigIssue(key, value, _ENCRYPTED_SECTION, secret=True))
            continue
        near = suggest(key, known)
        secretish = key in SECRET_NAMES or looks_secret_name(key) or is_secret_value
        if near in SECRET_NAMES:
            command = next(s.command for s in SECRET_KEYS if s.key == near)
            fix = f"did you mean the secret {near}? Remove this key and run `{command}`"
        elif secretish:
            fix = "secrets are the keys listed in the config reference's secrets table, set with " \
                  "`pulumi config set --secret KEY`"
        elif "." in key and key.split(".", 1)[0] in SECTIONS:
            section, rest = key.split(".", 1)
            fix = f"a `--path` style key; nest it: `{project}:{section}:` with `{rest.split('.')[0]}:` below it"
        else:
            fix = f"did you mean {near}?" if near else f"expected one of {list(SECTIONS)}"
        issues.append(ConfigIssue(key, value, f"unknown config key; {fix}", secret=secretish))
    return issues, present


def _contains_secure(value: Any) -> bool:
    if isinstance(value, (SecureValue, SecretValue)):
        return True
    if isinstance(value, dict):
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


_SECONDARY_MOVED = (
    "the standby site is its own stack now, one program run per site: move dr.secondary.vsphere to that stack's "
    "vsphere, supervisorId/supervisorNamespace/clusterName to its tanzu, registry to its tanzu.registry, gpuNodes to "
    "its dr.standbyGpuNodes and weightsStorageClass to its site.weightsStorageClass, with site.role: standby and "
    "site.primaryStack naming this stack; then remove dr.secondary here (docs/disaster-recovery.md, \"One stack per "
    "site\")")


def _site_role(raw: Mapping[str, Any]) -> Any:
    site = raw.get("site")
    return site.get("role", "primary") if isinstance(site, Mapping) else "primary"


def parse_config(raw: Mapping[str, Any], present_secrets: Iterable[str] = (), project: str = PROJECT,
                 secrets: Iterable[str] = (), primary: Mapping[str, Any] | None = None,
                 primary_source: str = "") -> PlatformConfig:
    """Validate a stack's config keys and the set of secret keys that are set.

    ``raw`` maps the project's keys (without the ``project:`` prefix) to their values; keys of other
    namespaces keep their ``namespace:`` prefix and are left alone unless the namespace looks like a
    misspelling of the project's. A secret key is set when listed in ``present_secrets`` or held as a
    ``SecretValue``/``SecureValue``. ``secrets`` are values to scrub from the message.

    A standby's models and gateway access rules come from ``primary``, the primary stack's
    ``siteMirror`` output (``primary_source`` says where it was read), and are validated as the standby
    will run them.

    Raises ConfigError with every issue found. Sections are parsed one by one so a problem in
    one does not hide problems in another; cross-field rules run once every section parses.
    """
    issues, present = _key_issues(raw, project)
    dr = raw.get("dr")
    if isinstance(dr, Mapping) and "secondary" in dr:
        issues.append(ConfigIssue("dr.secondary", "<mapping>", _SECONDARY_MOVED))
        raw = {**raw, "dr": {k: v for k, v in dr.items() if k != "secondary"}}
    if _site_role(raw) == "standby":
        raw, mirrored = apply_mirror(raw, primary, primary_source)
        issues += mirrored
        if primary is None:
            # Without the primary's models nothing else of a standby can be judged; name the one fix.
            raise ConfigError(issues, secrets)
    present |= set(present_secrets)
    sections = {k: v for k, v in raw.items() if k in SECTIONS and not isinstance(v, (SecretValue, SecureValue))}
    for section, validator in SECTION_VALIDATORS.items():
        if section not in sections:
            continue
        if _contains_secure(sections[section]):
            issues.append(ConfigIssue(section, REDACTED, _ENCRYPTED_SECTION, secret=True))
            continue
        try:
            validator.validate_python(sections[section])
        except ValidationError as error:
            model = PlatformConfig.model_fields[_field_name(section)].annotation
            issues += translate(error, section, _root_model(model))
    for name, field in PlatformConfig.model_fields.items():
        alias = field.alias or name
        if field.is_required() and alias not in raw and not any(
                suggest(k, [alias]) for k in raw if ":" not in k and k not in SECTIONS and k not in SECRET_NAMES):
            doc = (_root_model(field.annotation).__doc__ or "").strip().splitlines()[0]
            issues.append(ConfigIssue(alias, MISSING, f"required section is missing; add `{project}:{alias}:` ({doc})"))
    cfg = None
    if not issues:
        try:
            cfg = PlatformConfig.model_validate(sections)
        except ValidationError as error:
            issues += translate(error, "", PlatformConfig)
        else:
            # `auto` layouts become numbers before any rule judges them; each model remembers what it asked.
            cfg = capacity.resolve_layouts(cfg)
            for rule in RULES:
                issues += rule(cfg)
            issues += [
                ConfigIssue(s.key, MISSING, f"secret ({s.purpose}) is required; set it with `{s.command}`")
                for s in SECRET_KEYS if s.required_when(cfg) and s.key not in present
            ]
    if issues:
        raise ConfigError(issues, secrets)
    assert cfg is not None
    return cfg


def _field_name(alias: str) -> str:
    return next(n for n, f in PlatformConfig.model_fields.items() if (f.alias or n) == alias)


def _root_model(annotation: Any):
    from components.config.messages import _nested

    return _nested(annotation)


def _decode(text: Any) -> Any:
    """A config value as ``pulumi.Config.get_object`` reads it: JSON when it parses, else the text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_engine_config(config: Mapping[str, Any], secret_keys: Collection[str], project: str = PROJECT,
                       primary: Mapping[str, Any] | None = None,
                       primary_source: str = "") -> tuple[PlatformConfig, dict[str, str]]:
    """Validate the config as the engine passes it to the program; return it and the secrets it needs.

    ``config`` maps every key (``namespace:name``) to its text as the CLI passes it (objects as
    JSON); ``secret_keys`` are the keys the CLI marks secret. No resource exists yet when this runs.
    """
    prefix = f"{project}:"
    raw: dict[str, Any] = {}
    values: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for key, text in config.items():
        if not key.startswith(prefix):
            raw[key] = SecretValue(text) if key in secret_keys else text
            continue
        name = key.removeprefix(prefix)
        if key in secret_keys:
            raw[name] = SecretValue(text)
            if name in SECRET_NAMES:
                values[name] = text
                if not isinstance(text, str) or not text.strip():
                    issues.append(ConfigIssue(name, REDACTED, "secret is set but empty; set its value with "
                                              f"`{next(s.command for s in SECRET_KEYS if s.key == name)}`", secret=True))
        else:
            raw[name] = text if name in SECRET_NAMES else _decode(text)
    secrets = [v for v in values.values() if isinstance(v, str)]
    try:
        cfg = parse_config(raw, project=project, secrets=secrets, primary=primary, primary_source=primary_source)
    except ConfigError as error:
        raise ConfigError([*error.issues, *issues], secrets) from None
    if issues:
        raise ConfigError(issues, secrets)
    needed = {s.key for s in SECRET_KEYS if s.required_when(cfg)}
    return cfg, {k: v for k, v in values.items() if k in needed}


def site_of(config: Mapping[str, Any], project: str = PROJECT) -> SiteConfig:
    """The ``site`` section from the engine's config, validated alone: a standby must know where its
    primary's outputs are before the rest of its config can be judged."""
    text = config.get(f"{project}:site")
    try:
        return SiteConfig.model_validate(_decode(text) if text is not None else {})
    except ValidationError as error:
        raise ConfigError(translate(error, "site", SiteConfig)) from None
