"""pydantic's errors rewritten as what to write: the key, the value (redacted where needed) and the fix."""

from __future__ import annotations

import difflib
import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from components.config.fields import SecretValueError
from components.config.issues import MISSING, ConfigIssue, looks_secret_name

_UNITS = (
    ("_seconds", "seconds"), ("_minutes", "minutes"), ("_hours", "hours"), ("_days", "days"), ("_years", "years"),
    ("_gib", "GiB"), ("_mib", "MiB"), ("_mhz", "MHz"), ("_mb", "MB"), ("_gb", "GB"), ("_tbps", "TB/s"),
    ("_tflops", "TFLOP/s"), ("_celsius", "degrees Celsius"), ("_usd", "USD"), ("_billion", "billion parameters"),
    ("_tokens", "tokens"), ("_len", "tokens"), ("_context", "tokens"), ("_window", "tokens"),
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def unit_of(field: str) -> str:
    snake = _snake(field)
    return next((unit for suffix, unit in _UNITS if snake.endswith(suffix)), "")


def _model_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc`` (skipping map keys)."""
    for part in loc[:-1]:
        if model is None:
            return None
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part or n == part), None)
        if field is None:
            continue  # a map key (models.<name>) or an index
        model = _nested(field.annotation)
    return model


def _nested(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested(arg)
        if found is not None:
            return found
    return None


def _field(model: type[BaseModel] | None, name: Any):
    if model is None:
        return None
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == name or n == name), None)


def suggest(word: str, choices: list[str]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _example_list(value: Any) -> str:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()] or ["..."]
        return "[" + ", ".join(items) + "]"
    return "[...]"


# Per section, the secret keys a credential written there belongs to (longest prefix wins); None: the platform
# needs no such credential there.
_SECTION_SECRETS: dict[str, tuple[str, ...] | None] = {
    "vsphere": ("vspherePassword",),
    "tanzu.registry": ("registryPassword",),
    "tanzu": ("supervisorKubeconfig",),
    "aria": ("ariaRefreshToken",),
    "observability.alertEmail": ("alertSmtpPassword",),
    "observability": ("alertWebhookUrl", "deadMansSwitchUrl"),
    "gateway.oidc": None,
    "gateway": ("gatewayTlsCert", "gatewayTlsKey"),
    "audit.anchor": ("auditAnchorAccessKeyId", "auditAnchorSecretAccessKey"),
    "audit": ("auditS3AccessKeyId", "auditS3SecretAccessKey", "auditSealS3AccessKeyId", "auditSealS3SecretAccessKey",
              "auditSigningKey"),
    "dr": ("backupS3AccessKeyId", "backupS3SecretAccessKey", "backupRepositoryPassword"),
    "models": ("hfToken",),
    "addons.gpuOperator": ("nlsClientToken",),
}
_STANDBY_SECRETS = {"backupS3AccessKeyId": "backupS3ReadOnlyAccessKeyId",
                    "backupS3SecretAccessKey": "backupS3ReadOnlySecretAccessKey"}


def _secret_for(path: list[str]) -> str | None:
    """The secret config key a misplaced credential under ``path`` was probably meant to be ("" if none)."""
    from components.config.model import SECRET_KEYS

    words = [p for p in path if not p.isdigit()]
    if not words:
        return None
    names = [s.key for s in SECRET_KEYS]
    section = next((p for p in sorted(_SECTION_SECRETS, key=len, reverse=True)
                    if ".".join(words[:-1]) == p or ".".join(words[:-1]).startswith(p + ".")), None)
    if section is not None and _SECTION_SECRETS[section] is None:
        return ""
    candidates = list(_SECTION_SECRETS[section]) if section is not None else names
    leaf = words[-1].lower()
    best = max(candidates, key=lambda name: difflib.SequenceMatcher(None, leaf, name.lower()).ratio())
    if section is None and difflib.SequenceMatcher(None, leaf, best.lower()).ratio() < 0.6:
        return None
    return best


def _unknown_key(path: str, loc: tuple[Any, ...], root: type[BaseModel] | None, value: Any) -> ConfigIssue:
    key = str(loc[-1])
    parts = path.split(".")
    if looks_secret_name(key):
        secret = _secret_for(parts)
        if secret == "":
            fix = ("the platform needs no such credential here (the gateway verifies tokens with the issuer's public "
                   "keys, gateway.oidc.jwksUri): remove it")
        elif secret:
            fix = f"secrets are separate config keys: remove it and run `pulumi config set --secret {secret}`"
            if secret in _STANDBY_SECRETS:
                fix += f" (on a standby stack: {_STANDBY_SECRETS[secret]})"
        else:
            fix = "secrets never go in the stack file; see the secrets table in the config reference"
        return ConfigIssue(path, value, f"unknown key that looks like a credential; {fix}. If it was committed, "
                           "rotate it", secret=True)
    holder = _model_at(root, loc)
    known = [f.alias or n for n, f in holder.model_fields.items()] if holder else []
    near = suggest(key, known) if known else None
    hint = f"did you mean {near}?" if near else (f"known keys here: {', '.join(known)}" if known else "")
    return ConfigIssue(path, value, f"unknown key (misspelt?); {hint}".rstrip("; "))


# Unit suffixes people write after a number, in the base unit of each family.
_SUFFIXES = {
    "ms": ("time", 0.001), "s": ("time", 1), "sec": ("time", 1), "m": ("time", 60), "min": ("time", 60),
    "h": ("time", 3600), "hr": ("time", 3600), "d": ("time", 86400), "w": ("time", 604800), "y": ("time", 31536000),
    "ki": ("bytes", 2**10), "kib": ("bytes", 2**10), "mi": ("bytes", 2**20), "mib": ("bytes", 2**20),
    "gi": ("bytes", 2**30), "gib": ("bytes", 2**30), "ti": ("bytes", 2**40), "tib": ("bytes", 2**40),
    "kb": ("bytes", 1e3), "mb": ("bytes", 1e6), "gb": ("bytes", 1e9), "g": ("bytes", 1e9), "tb": ("bytes", 1e12),
}
# Suffixes of counts (tokens, requests): thousand, million, billion, trillion.
_COUNT_SUFFIXES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mio": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9,
                   "g": 1e9, "billion": 1e9, "t": 1e12, "trillion": 1e12}
_FIELD_UNITS = {"seconds": ("time", 1), "minutes": ("time", 60), "hours": ("time", 3600), "days": ("time", 86400),
                "years": ("time", 31536000), "GiB": ("bytes", 2**30), "MiB": ("bytes", 2**20), "MB": ("bytes", 1e6),
                "GB": ("bytes", 1e9)}


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _with_unit_fix(value: str, unit: str, field: str, fraction: bool) -> str | None:
    """What to write for a number given with a unit suffix ('40Gi', '20m', '90%', '8k', '8000m' CPU)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z%]+)\s*", value)
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2)
    lowered = suffix.lower()
    if suffix == "%":
        return _number_text(number / 100) if fraction else _number_text(number)
    if _snake(field) == "cpu" and lowered == "m":
        return _number_text(number / 1000)
    if lowered == "k" and unit in ("tokens", ""):
        return _number_text(number * (1024 if unit == "tokens" else 1000))
    if unit in ("tokens", "") and lowered in _COUNT_SUFFIXES:
        return _number_text(round(number * _COUNT_SUFFIXES[lowered]))
    if unit in _FIELD_UNITS and lowered in _SUFFIXES:
        family, factor = _SUFFIXES[lowered]
        target, base = _FIELD_UNITS[unit]
        if family == target:
            return _number_text(round(number * factor / base, 6))
    return _number_text(number)


def _text_forms(value: float | int) -> list[str]:
    """What a number YAML read may have been meant as text: as written, and with the zero YAML dropped (1.3 -> 1.30)."""
    forms = [json.dumps(value)]
    if isinstance(value, float) and "e" not in forms[0]:
        forms.append(forms[0] + "0")
    return forms


def _field_refusal(field: Any, text: str) -> str | None:
    """Why the field would still refuse ``text`` once quoted (None if it takes it)."""
    if field is None:
        return None
    from pydantic import TypeAdapter

    try:
        TypeAdapter(Annotated[str, *field.metadata] if field.metadata else str).validate_python(text)
    except ValidationError as error:
        return error.errors()[0]["msg"].removeprefix("Value error, ")
    except Exception:  # noqa: BLE001 - a validator of another type: nothing to say about the text
        return None
    return None


def _quote_hint(value: Any, field: Any = None) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and field is not None:
        forms = _text_forms(value)
        refusals = [(form, _field_refusal(field, form)) for form in forms]
        taken = [form for form, refusal in refusals if refusal is None]
        read = f"YAML read it as the number {json.dumps(value)} (which can drop digits: 1.10 reads as 1.1)"
        if taken:
            return f"{read}; quote it as you mean it, e.g. \"{taken[0]}\""
        return f"{read}; quote it, and as text it must still be valid: \"{forms[-1]}\" {refusals[-1][1]}"
    if value is None:
        return "it is empty (null); give a value, or remove the key where it has a default"
    if isinstance(value, bool):
        return f"YAML read {str(value).lower()} as a boolean; quote it: \"{str(value).lower()}\""
    if isinstance(value, (int, float)):
        return (f"YAML read it as the number {json.dumps(value)} (which can drop digits: 1.10 reads as 1.1); "
                f"quote it as you mean it, e.g. \"{json.dumps(value)}\"")
    if isinstance(value, (dict, list)):
        return f"it is a {'mapping' if isinstance(value, dict) else 'list'}; give one text value"
    return "give it as text"


_LITERAL_ALIASES = {"rwx": "ReadWriteMany", "rwo": "ReadWriteOnce", "prod": "production",
                    "nonprod": "non-production", "non-prod": "non-production", "dev": "non-production",
                    "test": "non-production", "hf": "huggingface", "bf16": "bfloat16", "fp16": "float16",
                    "passthru": "passthrough", "directpath": "passthrough"}


def _example(field: Any, kind: Any, fallback: Any) -> Any:
    default = getattr(field, "default", None)
    return default if isinstance(default, kind) and not isinstance(default, bool) else fallback


def translate(error: ValidationError, prefix: str, root: type[BaseModel] | None) -> list[ConfigIssue]:
    """One ConfigIssue per pydantic error, with a reason saying what to write."""
    issues = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = ".".join([prefix, *(str(part) for part in loc)]).strip(".")
        kind, value = item["type"], item.get("input")
        holder = _model_at(root, loc) if loc else None
        field = _field(holder, loc[-1]) if loc else None
        unit = unit_of(str(loc[-1])) if loc else ""
        in_unit = f" ({unit})" if unit else ""
        ctx = item.get("ctx") or {}
        secret = False
        if kind == "missing":
            what = f": {field.description}" if field is not None and field.description else ""
            issues.append(ConfigIssue(path, MISSING, f"required key is missing; add it{what}"))
            continue
        if kind == "extra_forbidden":
            issues.append(_unknown_key(path, loc, root, value))
            continue
        if kind in ("value_error", "assertion_error"):
            reason = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            secret = isinstance(ctx.get("error"), SecretValueError)
        elif kind in ("string_type",):
            reason = f"must be text; {_quote_hint(value, field)}"
        elif kind in ("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing") and value is None:
            reason = f"is empty (null); give a number{in_unit}, or remove the key where it has a default"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            fix = _with_unit_fix(value, unit, str(loc[-1]), False) if isinstance(value, str) else None
            if fix is not None:
                reason = f"must be a whole number{in_unit} without a unit suffix; write {fix}"
            elif isinstance(value, float):
                reason = f"must be a whole number{in_unit}; {value:g} has a fraction: write {round(value)}"
            elif isinstance(value, (dict, list)):
                reason = f"must be a whole number{in_unit}, not a {'mapping' if isinstance(value, dict) else 'list'}"
            else:
                reason = f"must be a whole number{in_unit}, e.g. {_example(field, int, 4)}"
        elif kind in ("float_type", "float_parsing"):
            fraction = field is not None and any(getattr(m, "le", 2) is not None and getattr(m, "le", 2) <= 1
                                                 for m in field.metadata)
            fix = _with_unit_fix(value, unit, str(loc[-1]), fraction) if isinstance(value, str) else None
            if fix is not None:
                reason = f"must be a number{in_unit} without a unit suffix; write {fix}"
            else:
                reason = f"must be a number{in_unit}, e.g. {_example(field, (int, float), 1.5)}"
        elif kind in ("bool_type", "bool_parsing"):
            spoken = f"; YAML 1.2 (as Pulumi reads it) takes {value!r} as text" if isinstance(value, str) else ""
            reason = f"must be true or false{spoken}"
        elif kind == "literal_error":
            expected = ctx.get("expected", "")
            choices = re.findall(r"'([^']*)'", expected) or re.findall(r"[\w.-]+", expected)
            near = suggest(str(value), choices) if isinstance(value, str) and choices else None
            alias = _LITERAL_ALIASES.get(str(value).lower().replace("_", "-")) if isinstance(value, str) else None
            near = alias if alias in choices else near
            reason = f"must be one of {expected.replace(' or ', ', ')}" + (f"; did you mean {near!r}?" if near else "")
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
            if isinstance(bound, float) and bound.is_integer():
                bound = int(bound)
            words = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
                     "less_than": "less than"}[kind]
            reason = f"must be {words} {bound}{in_unit}"
            if kind.startswith("less") and isinstance(bound, (int, float)) and bound <= 1 \
                    and isinstance(value, (int, float)) and 10 <= value <= 100:
                reason += f"; it is a fraction, and {value:g} looks like a percentage: write {value / 100:g}"
            elif kind == "less_than_equal":
                reason += f"; lower it to {bound} or less"
            elif kind == "less_than":
                reason += f"; lower it below {bound}"
            elif kind == "greater_than_equal":
                reason += f"; raise it to {bound} or more"
            else:
                reason += f"; raise it above {bound}"
        elif kind in ("too_short", "too_long"):
            size = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
            reason = f"needs {'at least' if kind == 'too_short' else 'at most'} {size} entr{'y' if size == 1 else 'ies'}"
            if path == "models" and kind == "too_short":
                reason += "; add the model to serve as models.<name>, e.g. llama-2-7b-chat: {huggingfaceRepo: ...}"
        elif kind in ("tuple_type", "list_type", "set_type"):
            reason = f"must be a list; write it as a YAML list, e.g. {_example_list(value)}"
        elif kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
            if value is None:
                reason = "is empty; give its keys (indented below it) or remove the line"
            else:
                reason = "must be a mapping of keys (indented `key: value` lines), not " + (
                    "a list" if isinstance(value, list) else f"{json.dumps(value) if not isinstance(value, str) else 'text'}")
        elif kind == "finite_number":
            reason = f"must be a finite number{in_unit}, e.g. {_example(field, (int, float), 1)}"
        elif kind == "string_pattern_mismatch":
            what = f": {field.description}" if field is not None and field.description else ""
            reason = f"does not have the required form{what}"
        else:
            reason = item["msg"]
        secret = secret or (loc and looks_secret_name(str(loc[-1])))
        issues.append(ConfigIssue(path, MISSING if value is None and kind == "missing" else value, reason,
                                  secret=bool(secret)))
    return issues
