"""The Kubernetes CEL functions the pinned CRDs' validation rules call and cel-python lacks.

The API server compiles CRD rules with cel-go's standard library plus its own extensions. cel-python
has the standard library (macros, ``size``, ``matches``, ``duration``, ``startsWith``...); this module
adds, with the API server's semantics, the extension functions that the rules of the pinned CRDs
use: from the strings extension ``lowerAscii``, ``upperAscii``, ``split`` and ``substring``; from
the IP library ``isIP``; from the format library ``format.dns1123Label().validate``, whose result is
an optional (``optional.none()`` when the value is valid). A rule calling anything else is reported
as skipped by ``offline.checks.cel_rules``, never passed.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError, base_functions

MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter"})


def _string(value: Any, function: str) -> str:
    if not isinstance(value, celtypes.StringType):
        raise TypeError(f"{function}: no overload for {type(value).__name__}")
    return str(value)


def _ascii(text: str, upper: bool) -> str:
    # Only ASCII letters change case: 'Æ' stays as it is, as in cel-go.
    if upper:
        return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in text)
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def lower_ascii(value: Any) -> celtypes.StringType:
    return celtypes.StringType(_ascii(_string(value, "lowerAscii"), upper=False))


def upper_ascii(value: Any) -> celtypes.StringType:
    return celtypes.StringType(_ascii(_string(value, "upperAscii"), upper=True))


def split(value: Any, separator: Any, limit: Any = None) -> celtypes.ListType:
    """Go's strings.SplitN: a negative limit splits everywhere, 0 gives [], n gives at most n parts."""
    text, sep = _string(value, "split"), _string(separator, "split")
    count = -1 if limit is None else int(limit)
    if count == 0:
        return celtypes.ListType([])
    if sep == "":
        parts = list(text) if count < 0 else list(text[:count - 1]) + ([text[count - 1:]] if text[count - 1:] else [])
    else:
        parts = text.split(sep) if count < 0 else text.split(sep, count - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def substring(value: Any, start: Any, end: Any = None) -> celtypes.StringType | CELEvalError:
    """Code points [start, end); an index outside the string, or end before start, is an error."""
    text = _string(value, "substring")
    first, last = int(start), len(text) if end is None else int(end)
    if first < 0 or first > len(text):
        return CELEvalError(f"index out of range: {first}")
    if last < 0 or last > len(text):
        return CELEvalError(f"index out of range: {last}")
    if last < first:
        return CELEvalError(f"invalid substring range. start: {first}, end: {last}")
    return celtypes.StringType(text[first:last])


def is_ip(value: Any) -> celtypes.BoolType:
    """An IPv4 or IPv6 address as the API server parses it: no zone, no IPv4-mapped IPv6, no leading zeros."""
    text = _string(value, "isIP")
    if "%" in text:
        return celtypes.BoolType(False)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return celtypes.BoolType(False)
    mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
    return celtypes.BoolType(not mapped)


class Optional:
    """A CEL optional value (cel-python has none): equal only to another optional with an equal value."""

    def __init__(self, value: Any = None, present: bool = False):
        self.value, self.present = value, present

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Optional) and (self.present, self.value) == (other.present, other.value)

    def __hash__(self) -> int:
        return hash(self.present)

    def __repr__(self) -> str:
        return f"optional.of({self.value!r})" if self.present else "optional.none()"


class _Namespace:
    """The receiver of a library's qualified functions (``format.``, ``optional.``)."""

    def __init__(self, name: str):
        self.name = name


_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def dns1123_label_errors(text: str) -> list[str]:
    """The API machinery's IsDNS1123Label messages."""
    errors = []
    if len(text) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(text):
        if _DNS1123_SUBDOMAIN.match(text):
            errors.append("must not contain dots")
        else:
            errors.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                          "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                          "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return errors


class _Format:
    def __init__(self, name: str, errors):
        self.name, self.errors = name, errors


def _dns1123_label(namespace: Any) -> _Format:
    if not (isinstance(namespace, _Namespace) and namespace.name == "format"):
        raise TypeError("dns1123Label is a function of the format library")
    return _Format("dns1123Label", dns1123_label_errors)


def _validate(fmt: Any, value: Any) -> Optional:
    if not isinstance(fmt, _Format):
        raise TypeError("validate: no overload")
    errors = fmt.errors(_string(value, "validate"))
    return Optional(celtypes.ListType([celtypes.StringType(e) for e in errors]), True) if errors else Optional()


def _none(namespace: Any) -> Optional:
    if not (isinstance(namespace, _Namespace) and namespace.name == "optional"):
        raise TypeError("none: no overload")
    return Optional()


def _has_value(value: Any) -> celtypes.BoolType:
    if not isinstance(value, Optional):
        raise TypeError("hasValue: no overload")
    return celtypes.BoolType(value.present)


def _value(value: Any) -> Any:
    if not isinstance(value, Optional):
        raise TypeError("value: no overload")
    return value.value if value.present else CELEvalError("optional.none() dereference")


FUNCTIONS = {
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "split": split,
    "substring": substring,
    "isIP": is_ip,
    "dns1123Label": _dns1123_label,
    "validate": _validate,
    "none": _none,
    "hasValue": _has_value,
    "value": _value,
}
"""Extension functions by the name a rule calls them (a method's receiver comes first)."""

VARIABLES = {"format": _Namespace("format"), "optional": _Namespace("optional")}
"""Library namespaces the rules address as variables (``format.dns1123Label()``)."""

KNOWN = MACROS | set(base_functions) | set(FUNCTIONS)
"""Every function name a rule may call and the checker evaluates."""
