"""The gateway's access log says who called from where, and never records a credential."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from hipaa._k8s import name_of
from hipaa._rule import Resource, Rule

ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
CLIENT_ADDRESS = re.compile(r"%DOWNSTREAM(_DIRECT)?_REMOTE_ADDRESS(_WITHOUT_PORT)?%", re.IGNORECASE)
USER_AGENT = re.compile(r"%REQ\(USER-AGENT\)", re.IGNORECASE)
CREDENTIALS = re.compile(r"%(REQ|REQ_WITHOUT_QUERY|TRAILER)\((PROXY-)?AUTHORIZATION|%(REQ)\(COOKIE|"
                         r"%(REQ)\(X-API-KEY", re.IGNORECASE)
"""Operators that would copy the bearer token, a cookie or an API key into the log."""
FULL_PATH = re.compile(r"%REQ\(:PATH\)%|%REQ\(X-ENVOY-ORIGINAL-PATH\?:PATH\)%", re.IGNORECASE)
"""The path with its query string (`PATH(NQ)` drops it): a token or prompt in a URL would be logged."""


def _formats(setting: dict) -> list[str]:
    form = setting.get("format") or {}
    if form.get("type") == "JSON":
        return [str(v) for v in (form.get("json") or {}).values()]
    return [str(form.get("text") or "")]


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != ENVOY_PROXY:
        return []
    settings = ((((resource.props.get("spec") or {}).get("telemetry") or {}).get("accessLog") or {}).get("settings")
                or [])
    if not settings:
        return [f"EnvoyProxy {name_of(resource)}: spec.telemetry.accessLog has no settings: the gateway keeps no "
                "record of who called which model"]
    problems = []
    for index, setting in enumerate(settings):
        where = f"EnvoyProxy {name_of(resource)}: spec.telemetry.accessLog.settings[{index}]"
        if not setting.get("format"):
            problems.append(f"{where} has no explicit format; name the fields (client address, user agent, user)")
            continue
        fields = " ".join(_formats(setting))
        if not CLIENT_ADDRESS.search(fields):
            problems.append(f"{where} records no client address (%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%)")
        if not USER_AGENT.search(fields):
            problems.append(f"{where} records no user agent (%REQ(USER-AGENT)%)")
        if CREDENTIALS.search(fields):
            problems.append(f"{where} records a credential header (Authorization, Cookie or an API key): the "
                            "locked log would keep every caller's token for six years")
        if FULL_PATH.search(fields):
            problems.append(f"{where} records the path with its query string; use %PATH(NQ:ORIG_OR_PATH)%")
    return problems


RULE = Rule(
    name="gateway-access-log",
    title="The gateway's access log names the caller and holds no credential",
    citation="164.312(b)",
    severity=Severity.HIGH,
    description="Every EnvoyProxy logs access with an explicit format that records the client address and user agent, "
    "and never the Authorization or Cookie header, an API key or a query string. The access log is the gateway's "
    "audit trail, kept locked for years: it must say who called from where, and must not become a store of tokens.",
    check=check,
)
