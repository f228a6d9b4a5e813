"""A small client of the vSphere Automation REST API (``/api``), for what pulumi-vsphere does not manage.

It logs in with the automation account (``POST /api/session``, basic auth; the session id then travels in
the ``vmware-api-session-id`` header) and sends JSON requests. vCenter answers errors with a body
``{"error_type": "NOT_FOUND", "messages": [{"default_message": ...}]}``; ``VcenterError`` carries that type,
so callers act on ``ALREADY_EXISTS`` or ``NOT_FOUND`` rather than on a status code alone. The password is
never part of a message.

Source: vSphere Automation API reference (developer.broadcom.com/xapis/vsphere-automation-api), "Create
Session" and the ``vcenter/namespaces`` operations.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 60
"""Per request; vCenter answers these calls in well under a second when it is up."""


class VcenterError(Exception):
    """vCenter refused or failed a call: the HTTP status, vCenter's error type and its message."""

    def __init__(self, status: int, error_type: str, message: str):
        self.status, self.error_type = status, error_type
        super().__init__(message)


@dataclass(frozen=True)
class VcenterEndpoint:
    """Where and as whom to call: the stack's ``vsphere`` section and the secret ``vspherePassword``."""

    server: str
    user: str
    password: str
    allow_unverified_ssl: bool = False
    ca_bundle: str | None = None
    """PEM of the site's CAs (``site.trustBundle``); the system's CAs when unset."""

    def __repr__(self) -> str:  # keeps the password out of tracebacks and logs
        return f"VcenterEndpoint(server={self.server!r}, user={self.user!r}, password=<secret>)"


def _tls_context(endpoint: VcenterEndpoint) -> ssl.SSLContext:
    if endpoint.allow_unverified_ssl:
        return ssl._create_unverified_context()  # noqa: S323 - the operator's explicit choice (refused in production)
    context = ssl.create_default_context()
    if endpoint.ca_bundle:
        context.load_verify_locations(cadata=endpoint.ca_bundle)
    return context


def _error(status: int, body: bytes, action: str) -> VcenterError:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = {}
    document = document if isinstance(document, dict) else {}
    error_type = str(document.get("error_type") or "").upper()
    messages = [m.get("default_message", "") for m in document.get("messages") or [] if isinstance(m, dict)]
    detail = "; ".join(m for m in messages if m) or error_type or f"HTTP {status}"
    return VcenterError(status, error_type, f"{action}: vCenter answered {status} ({detail})")


class VcenterApi:
    """One logged-in session. ``request`` raises ``VcenterError`` for any answer but 2xx."""

    def __init__(self, endpoint: VcenterEndpoint):
        self.endpoint = endpoint
        self._context = _tls_context(endpoint)
        self._session: str | None = None

    def _send(self, method: str, path: str, headers: dict[str, str], body: Any, action: str) -> Any:
        url = f"https://{self.endpoint.server}{path}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers = {**headers, "Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=self._context) as response:
                payload = response.read()
        except urllib.error.HTTPError as failure:
            raise _error(failure.code, failure.read(), action) from None
        except (urllib.error.URLError, OSError) as failure:
            reason = getattr(failure, "reason", failure)
            raise VcenterError(0, "UNREACHABLE", f"{action}: cannot reach vCenter {self.endpoint.server}: {reason}") from None
        return json.loads(payload) if payload else None

    def _login(self) -> str:
        credentials = base64.b64encode(f"{self.endpoint.user}:{self.endpoint.password}".encode()).decode()
        session = self._send("POST", "/api/session", {"Authorization": f"Basic {credentials}"}, None,
                             f"logging in to vCenter {self.endpoint.server} as {self.endpoint.user}")
        if not isinstance(session, str) or not session:
            raise VcenterError(0, "BAD_SESSION", f"vCenter {self.endpoint.server} returned no session id")
        return session

    def request(self, method: str, path: str, action: str, query: dict[str, str] | None = None, body: Any = None) -> Any:
        if self._session is None:
            self._session = self._login()
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        return self._send(method, path, {"vmware-api-session-id": self._session}, body, action)

    def logout(self) -> None:
        if self._session is not None:
            # The session expires on its own; a failed logout changes nothing the caller did.
            with contextlib.suppress(VcenterError):
                self._send("DELETE", "/api/session", {"vmware-api-session-id": self._session}, None, "logging out")
            self._session = None


def path_segment(value: str) -> str:
    """A domain or subject as one path segment (a group name may hold spaces or slashes)."""
    return urllib.parse.quote(value, safe="")
