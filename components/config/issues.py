"""One problem in the stack config, how it is shown, and how secrets are kept out of the text.

Every message names the key (``path``), the value it holds (or a redaction) and the fix. Values are
passed through :func:`show`, which never prints a value marked secret, a credential embedded in a
URL, or text that looks like a credential (PEM blocks, tokens with well-known prefixes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
"""Value of an issue whose key is not set."""

REDACTED = "<secret, not shown>"
_LOOKS_SECRET = "<not shown: looks like a credential>"

# A key whose name says it holds a credential (used for keys the config does not know). Counts of
# tokens (tokens, tokenLimits, monthlyTokenQuotas) are not credentials, and their values are shown.
_SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token(?!s|[-_]?(limit|quota|count|window|budget))|credential|private|"
    r"api[-_]?key|access[-_]?key|signing[-_]?key|kubeconfig|"
    r"client[-_]?key|tls[-_]?key|auth)", re.IGNORECASE,
)
# Text that is a credential whatever key holds it.
_SECRET_TEXT = re.compile(
    r"(-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----|\bhf_[A-Za-z0-9]{20,}|\bgh[pousr]_[A-Za-z0-9]{20,}|"
    r"\bxox[abpr]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.|"
    r"\bsk-[A-Za-z0-9_-]{16,}|kind:\s*Config\b|client-key-data|\btoken:\s*\S{12,})"
)
# scheme://user[:password]@host -- the userinfo part is a credential.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")


def looks_secret_name(name: str) -> bool:
    """True when a key's name says it holds a credential (``password``, ``hfToken``, ``kubeconfig``...)."""
    return bool(_SECRET_NAME.search(name))


def looks_secret_text(text: str) -> bool:
    return bool(_SECRET_TEXT.search(text))


def redact_url_userinfo(text: str) -> str:
    """``https://user:pw@host/x`` -> ``https://<redacted>@host/x``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}<redacted>@", text)


def has_url_userinfo(text: str) -> bool:
    return bool(_URL_USERINFO.search(text))


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        if looks_secret_text(value):
            return _LOOKS_SECRET
        return redact_url_userinfo(value)
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and looks_secret_name(k) else _redacted(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


def show(value: Any, secret: bool = False) -> str:
    """How a config value appears in a message: quoted text, redacted where it could be a credential."""
    if value is MISSING:
        return "<missing>"
    if secret:
        return REDACTED
    value = _redacted(value)
    if value == _LOOKS_SECRET:
        return value
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: the key to change, the value it holds, and what to write instead."""

    path: str
    value: Any
    reason: str
    secret: bool = False
    """The value is (or may be) a credential and is never shown."""
    location: str | None = None
    """``file:line`` of the key in the stack file, when known."""

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.path}: {show(self.value, self.secret)}: {self.reason}{where}"


class ConfigError(Exception):
    """Every problem in the stack config, one per line, with no secret value in the text."""

    def __init__(self, issues: Iterable[ConfigIssue], secrets: Iterable[str] = ()):
        self.issues = tuple(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(scrub(f"invalid stack config ({len(self.issues)} problem(s)):\n{lines}", secrets))


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret value and every URL credential from ``text``."""
    for value in sorted({s for s in secrets if isinstance(s, str) and len(s.strip()) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
        for line in value.splitlines():
            if len(line.strip()) >= 8:
                text = text.replace(line.strip(), REDACTED)
    return redact_url_userinfo(text)
