"""Reads ``Pulumi.<stack>.yaml`` the way the Pulumi CLI does, without Pulumi.

The CLI decodes stack files with Go's yaml.v3 into its ``config.Map``. This module reproduces what
matters for the values a program sees:

- YAML 1.2 scalars as yaml.v3 resolves them: only ``true``/``false`` (any case form) are booleans,
  ``yes``/``no``/``on``/``off`` are text; ``1e6`` and ``0x1F`` are numbers; ``1_000`` is 1000;
  date-like text stays text. Inside objects, numbers reach the program through JSON, so an integral
  float (``1e6``) arrives as the integer 1000000.
- Duplicate mapping keys are an error at any depth, as in yaml.v3 (``mapping key "x" already
  defined at line N``); merge keys (``<<``) work.
- Config keys are ``<namespace>:<name>`` (or the old ``<namespace>:config:<name>``); other forms are
  refused as the CLI refuses them.
- A value that is a mapping with the single key ``secure`` holding text is a set secret (ciphertext).
  The ciphertext can only be decrypted with the stack's secrets provider; offline it is a
  :class:`SecureValue`, for which a stand-in is used.
- Syntax errors are reported with file, line and column, as one :class:`ConfigError`.

Nothing here imports Pulumi.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from components.config.issues import ConfigError, ConfigIssue, looks_secret_name

STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
"""Top-level keys of a stack file the Pulumi CLI knows."""

_PLAIN = "!yaml.v3/plain"
_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class SecureValue:
    """A secret as the stack file stores it: ciphertext only the stack's secrets provider can read."""

    ciphertext: str = field(repr=False)

    def __repr__(self) -> str:
        return "SecureValue(<encrypted>)"


@dataclass(frozen=True)
class StackFile:
    """What a stack file sets: every config key of every namespace, as the CLI hands them on."""

    path: Path
    values: dict[str, Any]
    """Full config key (``namespace:name``) to its value: text, number, bool, list, mapping or SecureValue.
    A mapping may hold SecureValues inside (a "secure object")."""
    lines: dict[tuple[str, ...], int]
    """1-based line of each key: (full key, nested keys...)."""
    environment: Any = None
    """ESC environments the stack imports (their values are not visible offline)."""

    def namespace(self, project: str) -> dict[str, Any]:
        """The project's keys without the ``project:`` prefix; keys of other namespaces keep theirs."""
        prefix = f"{project}:"
        return {k.removeprefix(prefix) if k.startswith(prefix) else k: v for k, v in self.values.items()}

    def location(self, project: str, path: str) -> str | None:
        """``file:line`` of the deepest key of a config path (``models.x.image.tag``) the file sets."""
        parts = path.split(".")
        head = parts[0] if ":" in parts[0] else f"{project}:{parts[0]}"
        for n in range(len(parts), 0, -1):
            line = self.lines.get((head, *parts[1:n]))
            if line:
                return f"{self.path.name}:{line}"
        return None


# ---------------------------------------------------------------------------------------------
# YAML with yaml.v3's scalar resolution
# ---------------------------------------------------------------------------------------------


class _Resolver(BaseResolver):
    """Tags plain scalars with a marker; they are resolved below as yaml.v3 resolves them."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else f"{_TAG}str"
        return super().resolve(kind, value, implicit)


class _Loader(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, stream: str):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)

    def scan_to_next_token(self) -> None:
        """PyYAML's, with separating tabs skipped where yaml.v3 skips them.

        yaml.v3 (yaml_parser_scan_to_next_token) eats a tab in flow context, and in block context
        wherever a simple key is not allowed: after a value on its line (``value<TAB># comment``),
        not at the start of a line nor right after ``:``/``-``, where a tab would be indentation.
        PyYAML eats spaces only, so it refused files the Pulumi CLI reads.
        """
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        found = False
        while not found:
            while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                self.forward()
            if self.peek() == "#":
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
            if self.scan_line_break():
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                found = True


_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_SPECIAL = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_INT64 = (-(2**63), 2**64 - 1)
_LEGACY_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")
"""0777: octal to yaml.v3 (kept from YAML 1.1), though it reads as a decimal with a leading zero."""


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64) (then ParseUint): decimal, 0x, 0o, 0b and legacy 0777 octal."""
    sign, body = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    if not body:
        return None
    lower = body.lower()
    try:
        if lower.startswith("0x"):
            value = int(body[2:], 16)
        elif lower.startswith("0o"):
            value = int(body[2:], 8)
        elif lower.startswith("0b"):
            value = int(body[2:], 2)
        elif len(body) > 1 and body[0] == "0":
            value = int(body[1:], 8)
        elif body.isdigit():
            value = int(body, 10)
        else:
            return None
    except ValueError:
        return None
    if not body[-1:].isalnum():
        return None
    value = -value if sign == "-" else value
    return value if _INT64[0] <= value <= _INT64[1] else None


def resolve_plain(text: str) -> Any:
    """The value yaml.v3 gives an untagged plain scalar decoded into ``interface{}``."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    first = text[:1]
    if first == ".":
        return float(text) if _DOT_FLOAT.match(text) else text
    if first and (first.isdigit() or first in "+-"):
        # A date or timestamp decodes to text when the target is interface{}.
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _FLOAT.match(plain):
            return float(plain)
    return text


class _Composed:
    """Turns a node tree into Python values, collecting duplicate keys and unrepresentable values."""

    def __init__(self, path: Path, project: str = ""):
        self.path = path
        self.project = project
        self.issues: list[ConfigIssue] = []
        self.lines: dict[tuple[str, ...], int] = {}

    def dotted(self, trail: tuple[str, ...]) -> str:
        """A config path as messages name it: the project's keys without the ``project:`` prefix."""
        if not trail:
            return "(file)"
        head = trail[0].removeprefix(f"{self.project}:") if self.project else trail[0]
        return ".".join((head, *trail[1:]))

    def where(self, node: Node) -> str:
        return f"{self.path.name}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def value(self, node: Node, trail: tuple[str, ...], in_object: bool) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, trail, in_object)
        if isinstance(node, SequenceNode):
            return [self.value(item, (*trail, str(i)), in_object) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self.mapping(node, trail, in_object)
        raise AssertionError(node)

    def scalar(self, node: ScalarNode, trail: tuple[str, ...], in_object: bool) -> Any:
        tag, text = node.tag, node.value
        if tag == _PLAIN:
            value = resolve_plain(text)
            if isinstance(value, int) and not isinstance(value, bool) and _LEGACY_OCTAL.match(text):
                self.issues.append(ConfigIssue(
                    self.dotted(trail), text,
                    f"unquoted, YAML (as Pulumi reads it, yaml.v3) takes {text} as the octal number {value}, so "
                    f"{'the key' if not in_object and trail else 'the value'} would be {value}; quote it if it is a name "
                    f"or code ('{text}'), or write {value} if you meant that number",
                    secret=_secretish(trail), location=self.where(node)))
        elif tag in (f"{_TAG}str", "!"):
            value = text
        elif tag == f"{_TAG}binary":
            try:
                value = base64.b64decode(text.replace("\n", "").replace(" ", ""), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                self.issues.append(ConfigIssue(
                    self.dotted(trail), "<binary>", "!!binary value is not base64 text; remove the tag or fix the data",
                    location=self.where(node)))
                value = text
        elif tag in (f"{_TAG}int", f"{_TAG}float", f"{_TAG}bool", f"{_TAG}null"):
            value = resolve_plain(text)
            expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[tag.rsplit(":", 1)[1]]
            if not isinstance(value, expected) or (tag.endswith("int") and isinstance(value, bool)):
                self.issues.append(ConfigIssue(
                    self.dotted(trail), text, f"cannot decode as {tag.replace(_TAG, '!!')}; remove the tag or fix the value",
                    secret=_secretish(trail), location=self.where(node)))
                value = text
        else:
            value = text  # yaml.v3 decodes scalars with other tags into interface{} as their text
        if isinstance(value, float):
            if not math.isfinite(value):
                if in_object:
                    self.issues.append(ConfigIssue(
                        self.dotted(trail), text, "Pulumi stores objects as JSON, which has no NaN or infinity; "
                        "write a finite number", secret=_secretish(trail), location=self.where(node)))
                return value
            # Go's JSON encoding writes an integral float without a fraction; the program reads an int.
            if in_object and value.is_integer() and abs(value) < 1e21:
                return int(value)
        return value

    def mapping(self, node: MappingNode, trail: tuple[str, ...], in_object: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _PLAIN and key_node.value == "<<":
                for source in (value_node.value if isinstance(value_node, SequenceNode) else [value_node]):
                    if isinstance(source, MappingNode):
                        merged.update({k: v for k, v in self.mapping(source, trail, in_object).items() if k not in merged})
                    else:
                        self.issues.append(ConfigIssue(self.dotted((*trail, "<<")), "<merge>",
                                                       "a merge key (<<) takes a mapping or a list of mappings",
                                                       location=self.where(source)))
                continue
            if not isinstance(key_node, ScalarNode):
                self.issues.append(ConfigIssue(self.dotted(trail), "<complex key>",
                                               "mapping keys must be plain text", location=self.where(key_node)))
                continue
            previous = seen.get(key_node.value)
            if previous is not None:
                self.issues.append(ConfigIssue(
                    self.dotted((*trail, key_node.value)), "<duplicate>",
                    f"mapping key {key_node.value!r} already defined at line {previous.start_mark.line + 1}; "
                    "YAML keys must be unique (Pulumi refuses the file); keep one and merge the two",
                    location=self.where(key_node)))
                continue
            seen[key_node.value] = key_node
            key = _go_key(self.scalar(key_node, trail, in_object=False))
            self.lines[(*trail, key)] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, (*trail, key), in_object)
        return {**merged, **result}


def _go_key(value: Any) -> str:
    """fmt.Sprintf("%v", key): how the CLI turns a non-text mapping key into text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return _go_float_g(value)
    return str(value)


def _go_float_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64): shortest digits, exponent form below 1e-4 or from 1e6."""
    if not math.isfinite(value):
        return {math.inf: "+Inf", -math.inf: "-Inf"}.get(value, "NaN")
    if value == 0:
        return "0"
    digits = repr(abs(value))
    exp = int(f"{abs(value):e}".split("e")[1])
    if "e" in digits:
        significant = digits.split("e")[0].replace(".", "").rstrip("0") or "0"
    else:
        significant = digits.replace(".", "").lstrip("0").rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    if exp < -4 or exp >= 6:
        body = significant[0] + ("." + significant[1:] if len(significant) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    text = repr(abs(value))
    return sign + (text[:-2] if text.endswith(".0") else text)





def _secretish(trail: tuple[str, ...]) -> bool:
    return any(looks_secret_name(part) for part in trail)


# Hints for the YAML mistakes people make most in stack files.
_HINTS = (
    ("unknown escape character",
     "in double quotes a backslash starts an escape; write the value in single quotes ('DOMAIN\\group') "
     "or double the backslash (\"DOMAIN\\\\group\")"),
    ("cannot start any token", "indent with spaces; YAML does not allow tabs for indentation"),
    ("'\\t'", "indent with spaces; YAML does not allow tabs for indentation"),
    ("mapping values are not allowed here", "a value holding ': ' must be quoted, and nested keys need deeper indentation"),
    ("could not find expected ':'", "each key needs ': ' before its value; check the indentation of this line"),
    ("expected <block end>", "this line's indentation does not match its siblings; align it with the keys around it"),
    ("found undefined alias", "an alias (*name) needs an anchor (&name) defined before it"),
    ("found unexpected end of stream", "a quoted value is not closed; add the closing quote"),
    ("while scanning a quoted scalar", "a quoted value is not closed; add the closing quote"),
    ("expected a single document", "a stack file holds one YAML document; remove the extra '---'"),
    ("special characters are not allowed", "remove the control character (often pasted with the value)"),
    ("'\\xa0'", "a non-breaking space (pasted from a document) is not indentation; retype it with spaces"),
)


_INDICATORS = {"*": "YAML reads it as an alias", "&": "YAML reads it as an anchor", "!": "YAML reads it as a tag",
               "@": "a reserved character", "`": "a reserved character", "%": "YAML reads it as a directive",
               "|": "YAML reads it as a block scalar", ">": "YAML reads it as a folded scalar"}
"""Characters a plain YAML value cannot start with, and what YAML makes of them."""


def _unclosed_quote(lines: list[str]) -> int | None:
    """1-based number of a line whose value opens a quote and does not close it, if any."""
    for number, line in enumerate(lines, 1):
        stripped = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        value = stripped.split(": ", 1)[1].strip() if ": " in stripped else stripped.strip().lstrip("- ")
        if value[:1] == '"' and len(re.findall(r'(?<!\\)"', value)) % 2 == 1:
            return number
        if value[:1] == "'" and value.replace("''", "").count("'") % 2 == 1:
            return number
    return None


def _syntax_issue(path: Path, error: yaml.YAMLError, text: str) -> ConfigIssue:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
    line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
    key = line.split(":", 1)[0].strip().lstrip("- ") if ":" in line else ""
    hint = next((fix for needle, fix in _HINTS if needle in f"{problem} {context or ''}"), "fix the YAML at that position")
    before = text.splitlines()[: (mark.line + 1) if mark else None]
    opened = _unclosed_quote(before)
    if opened is not None:
        hint = f"line {opened} opens a quote it does not close; close it on that line"
    pasted = next((n for n, line in enumerate(before, 1) if "\u00a0" in line), None)
    if pasted is not None:
        hint = f"line {pasted} holds a non-breaking space (pasted from a document); retype it as a plain space"
    value = line.split(": ", 1)[1].strip() if ": " in line else line.strip().removeprefix("- ").strip()
    if value[:1] in _INDICATORS:
        hint = (f"a plain value cannot start with {value[:1]!r} ({_INDICATORS[value[:1]]}); quote it: "
                f"'{value.split(' #', 1)[0].strip()}'")
    detail = f"{context}, {problem}" if context else problem
    shown = "<line not shown: it may hold a credential>" if looks_secret_name(key) or looks_secret_name(line) else line.strip()
    return ConfigIssue(where, shown, f"YAML syntax error: {detail}; {hint}")


# ---------------------------------------------------------------------------------------------
# Stack file
# ---------------------------------------------------------------------------------------------


def parse_key(key: str) -> tuple[str, str] | None:
    """(namespace, name) as the CLI's config.ParseKey reads a key, or None where the CLI refuses it."""
    parts = key.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _secure_values(value: Any) -> Any:
    """Replace every ``{secure: ciphertext}`` inside a value with a SecureValue."""
    if _is_secure(value):
        return SecureValue(value["secure"])
    if isinstance(value, dict):
        return {k: _secure_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_secure_values(v) for v in value]
    return value


def read_stack_file(path: Path, project: str) -> StackFile:
    """Parse a stack file; raise ConfigError naming file, line and column of every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        issue = ConfigIssue(path.name, "<bytes>", f"not UTF-8 text ({error.reason}); save the file as UTF-8")
        raise ConfigError([issue]) from None
    except OSError as error:
        raise ConfigError([ConfigIssue(str(path), "<file>", f"cannot be read ({error.strerror or error}); "
                                       "give the path of a stack file")]) from None
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as error:
        raise ConfigError([_syntax_issue(path, error, text)]) from None
    finally:
        loader.dispose()
    composed = _Composed(path, project)
    if root is None:
        return StackFile(path, {}, {})
    if not isinstance(root, MappingNode):
        raise ConfigError([ConfigIssue(composed.where(root), "<document>",
                                       "a stack file is a mapping with a `config:` key; see Pulumi.dev.yaml")])
    issues: list[ConfigIssue] = []
    values: dict[str, Any] = {}
    environment = None
    top_seen: dict[str, Node] = {}
    for key_node, value_node in root.value:
        key = str(composed.scalar(key_node, (), in_object=False)) if isinstance(key_node, ScalarNode) else "?"
        if key in top_seen:
            issues.append(ConfigIssue(key, "<duplicate>", f"mapping key {key!r} already defined at line "
                                      f"{top_seen[key].start_mark.line + 1}; keep one", location=composed.where(key_node)))
            continue
        top_seen[key] = key_node
        if key == "config":
            if isinstance(value_node, ScalarNode) and composed.scalar(value_node, (), False) is None:
                continue
            if not isinstance(value_node, MappingNode):
                issues.append(ConfigIssue("config", "<not a mapping>", "holds `namespace:key: value` lines",
                                          location=composed.where(value_node)))
                continue
            values, more = _config_section(composed, value_node, project)
            issues += more
        elif key == "environment":
            environment = composed.value(value_node, ("environment",), in_object=True)
        elif key in STACK_FILE_KEYS:
            continue
        elif parse_key(key) is not None:
            issues.append(ConfigIssue(key, "<top-level>", "config keys go under `config:`; indent it below a "
                                      "`config:` line", secret=looks_secret_name(key), location=composed.where(key_node)))
        else:
            near = difflib.get_close_matches(key.lower(), STACK_FILE_KEYS, n=1, cutoff=0.6)
            hint = f"did you mean `{near[0]}:`?" if near else f"a stack file has only {', '.join(STACK_FILE_KEYS)}"
            issues.append(ConfigIssue(key, "<top-level>", f"unknown stack file key; {hint}", location=composed.where(key_node)))
    issues = list(dict.fromkeys(composed.issues + issues))
    if issues:
        raise ConfigError(issues)
    return StackFile(path, values, composed.lines, environment)


def _config_section(composed: _Composed, node: MappingNode, project: str) -> tuple[dict[str, Any], list[ConfigIssue]]:
    issues: list[ConfigIssue] = []
    values: dict[str, Any] = {}
    first_line: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            issues.append(ConfigIssue("config", "<complex key>", "config keys are text", location=composed.where(key_node)))
            continue
        raw_key = str(composed.scalar(key_node, (), in_object=False))
        parsed = parse_key(raw_key)
        secretish = looks_secret_name(raw_key)
        if parsed is None:
            if raw_key in STACK_FILE_KEYS:
                fix = f"`{raw_key}` is a top-level key of the stack file; move it out of `config:` (no indentation)"
            elif ":" not in raw_key:
                fix = f"prefix it with the project's namespace: `{project}:{raw_key}`"
            else:
                fix = (f"a key has one ':' between namespace and name; nested settings go inside the section, "
                       f"e.g. `{project}:{raw_key.split(':')[1]}:` with `{':'.join(raw_key.split(':')[2:])}:` below it")
            issues.append(ConfigIssue(raw_key, "<not shown>" if secretish else "<key>",
                                      f"not a config key of the form `<namespace>:<name>` (Pulumi refuses it); {fix}",
                                      location=composed.where(key_node)))
            continue
        full = f"{parsed[0]}:{parsed[1]}"
        if full in first_line:
            issues.append(ConfigIssue(
                full.removeprefix(f"{project}:"), "<duplicate>",
                f"set twice (first at line {first_line[full]}); YAML keys must be unique and Pulumi refuses the file. "
                "Merge the two into one", location=composed.where(key_node)))
            continue
        first_line[full] = key_node.start_mark.line + 1
        composed.lines[(full,)] = key_node.start_mark.line + 1
        if isinstance(value_node, ScalarNode):
            # A top-level scalar reaches the program as text: the resolved value, JSON-formatted.
            value = composed.scalar(value_node, (full,), in_object=True)
        else:
            value = _secure_values(composed.value(value_node, (full,), in_object=True))
        values[full] = value
    return values, issues
