"""How long the Supervisor login in ``supervisorKubeconfig`` lasts, checked before a run depends on it.

``kubectl vsphere login`` writes a bearer token (a JWT from vCenter's identity service) that expires after
hours. The Supervisor provider needs it for as long as `pulumi up` waits on the Supervisor: up to the workload
cluster's create or rolling-update timeout. A token that expires in between fails the run half-way, with the
Cluster still building. So the program reads the token's ``exp`` claim (the signature is the Supervisor's to
check, not ours) and refuses to start, in the preview already, when the login would not last; the message
says when it expires and how to log in again, never the token.

``pulumi refresh`` and ``pulumi destroy`` do not run the program and reuse the provider settings recorded in
the state, whose token has long expired: run them with ``--run-program`` after a fresh login (Pulumi docs,
"Running your program on refresh and destroy"; docs/operating.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import math
from typing import Any

import yaml

LOGIN_FIX = ("log in again (`kubectl vsphere login --server <supervisor address> --vsphere-username <user>`), then "
             "`kubectl config view --minify --flatten --context <vSphere Namespace> > supervisor-kubeconfig.yaml` and "
             "`pulumi config set --secret supervisorKubeconfig < supervisor-kubeconfig.yaml`")


class LoginExpired(Exception):
    """The Supervisor login ends before the run may be done with it."""


def _current_user(document: dict[str, Any]) -> dict[str, Any]:
    contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or [] if isinstance(c, dict)}
    users = {u.get("name"): u.get("user") or {} for u in document.get("users") or [] if isinstance(u, dict)}
    context = contexts.get(document.get("current-context")) or (next(iter(contexts.values())) if len(contexts) == 1 else {})
    return users.get(context.get("user")) or (next(iter(users.values())) if len(users) == 1 else {})


def token_expiry(kubeconfig: str) -> datetime.datetime | None:
    """When the current context's bearer token expires; None without a token carrying ``exp`` (a client
    certificate, or a token that is not a JWT)."""
    try:
        document = yaml.load(kubeconfig, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    token = _current_user(document).get("token") if isinstance(document, dict) else None
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)):
        return None
    return datetime.datetime.fromtimestamp(expiry, datetime.UTC)


def require_login_lasts(kubeconfig: str, needed_seconds: int, needed_for: str,
                        now: datetime.datetime | None = None) -> None:
    """Raise LoginExpired when the token expires within ``needed_seconds`` of ``now``."""
    expiry = token_expiry(kubeconfig)
    if expiry is None:
        return
    now = now or datetime.datetime.now(datetime.UTC)
    left = (expiry - now).total_seconds()
    if left >= needed_seconds:
        return
    when = expiry.strftime("%Y-%m-%d %H:%M UTC")
    state = "expired at" if left <= 0 else f"expires in {math.floor(left / 60)} min, at"
    raise LoginExpired(
        f"supervisorKubeconfig: <secret, not shown>: its Supervisor login {state} {when}, but this run may need it "
        f"for up to {math.ceil(needed_seconds / 60)} min ({needed_for}); {LOGIN_FIX}")
