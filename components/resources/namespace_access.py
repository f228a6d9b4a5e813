"""Who may use the vSphere Namespace: one access grant per principal, kept through vCenter's REST API.

A new vSphere Namespace has no access list, and pulumi-vsphere's ``Namespace`` takes none: only vCenter
administrators reach it, so a deploying identity that is not one is refused when it creates the cluster on
the Supervisor. Each grant here is a resource of its own over
``/api/vcenter/namespaces/instances/{namespace}/access/{domain}/{subject}?type=USER|GROUP``: creating,
changing or deleting one touches that principal's entry only. The namespace's whole ``access_list`` (its
update spec) is never written, because that would replace whatever other principals vCenter's
administrators granted there.

A principal that already holds the same role when the grant is created (the namespace's creator, or an
administrator who granted it by hand) is adopted: the stack records it and never deletes it. A principal
that holds a different role fails the create with both roles named, instead of silently taking it over.

Dynamic providers run inside the program's language host, so this needs no provider plugin (nothing to
mirror for an air-gapped site). Their inputs are kept in the state and reused by ``pulumi refresh`` and
``destroy``: the password is a secret output there, and after a password rotation one ``pulumi up``
records the new one (a password change is an in-place update that sets the same role again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components.vcenter_api import VcenterApi, VcenterEndpoint, VcenterError, path_segment

ROLES = ("VIEW", "EDIT", "OWNER")
SUBJECT_TYPES = ("USER", "GROUP")
IDENTITY = ("namespace", "domain", "subject", "subjectType")
"""Inputs that name the entry; a change of any of them is another entry, so a replacement."""
CONNECTION = ("server", "user", "password", "allowUnverifiedSsl", "caBundle")


def _endpoint(props: dict[str, Any]) -> VcenterEndpoint:
    return VcenterEndpoint(server=props["server"], user=props["user"], password=props["password"],
                           allow_unverified_ssl=bool(props.get("allowUnverifiedSsl")), ca_bundle=props.get("caBundle") or None)


def _path(props: dict[str, Any]) -> str:
    return (f"/api/vcenter/namespaces/instances/{path_segment(props['namespace'])}/access/"
            f"{path_segment(props['domain'])}/{path_segment(props['subject'])}")


def _principal(props: dict[str, Any]) -> str:
    return f"{props['subjectType'].lower()} {props['domain']}\\{props['subject']}"


def grant_id(props: dict[str, Any]) -> str:
    return f"{props['namespace']}/{props['subjectType'].lower()}/{props['domain']}\\{props['subject']}"


def current_role(api: VcenterApi, props: dict[str, Any]) -> str | None:
    """The principal's own role on the namespace, None when it has no entry of its own there."""
    try:
        info = api.request("GET", _path(props), f"reading the access of {_principal(props)} to vSphere Namespace "
                           f"{props['namespace']}", query={"type": props["subjectType"]})
    except VcenterError as failure:
        # vCenter answers NOT_FOUND for a namespace without the entry and UNSUPPORTED for a principal "not
        # associated with the namespace" (the API reference's wording for both answers).
        if failure.error_type in ("NOT_FOUND", "UNSUPPORTED") and failure.status in (400, 404):
            return None
        raise
    info = info or {}
    # A role inherited through a group is the group's entry, not this principal's: it has none of its own.
    return None if info.get("inherited") else info.get("role")


class NamespaceAccessProvider(ResourceProvider):
    """Create, read, update and delete one principal's entry in a vSphere Namespace's access list."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if news.get("role") not in ROLES:
            failures.append(CheckFailure("role", f"role {news.get('role')!r} is not one of {', '.join(ROLES)}"))
        if news.get("subjectType") not in SUBJECT_TYPES:
            failures.append(CheckFailure("subjectType", f"type {news.get('subjectType')!r} is not USER or GROUP"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in (*IDENTITY, "role", *CONNECTION) if olds.get(key) != news.get(key)]
        replaces = [key for key in changed if key in IDENTITY]
        # Only the type changing keeps the same path: the new entry must not be created (and adopted) before the
        # old one is deleted, or deleting the old would remove the new.
        same_path = all(olds.get(key) == news.get(key) for key in ("namespace", "domain", "subject"))
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[],
                          delete_before_replace=bool(replaces) and same_path)

    def create(self, props: dict[str, Any]) -> CreateResult:
        api = VcenterApi(_endpoint(props))
        try:
            held = current_role(api, props)
            if held is not None and held != props["role"]:
                raise VcenterError(409, "ALREADY_EXISTS", (
                    f"{_principal(props)} already holds {held} on vSphere Namespace {props['namespace']} (granted outside "
                    f"this stack); the stack asks for {props['role']}. Change tanzu.namespaceAccess to {held}, or have a "
                    "vCenter administrator remove that entry first"))
            if held is None:
                api.request("POST", _path(props), f"granting {props['role']} on vSphere Namespace {props['namespace']} to "
                            f"{_principal(props)}", query={"type": props["subjectType"]}, body={"role": props["role"]})
        finally:
            api.logout()
        return CreateResult(grant_id(props), {**props, "adopted": held is not None})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        api = VcenterApi(_endpoint(props))
        try:
            role = current_role(api, props)
        finally:
            api.logout()
        if role is None:
            return ReadResult("", {})  # a blank id is "gone": the engine drops it, and the next `up` grants it again
        return ReadResult(id_, {**props, "role": role})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        api = VcenterApi(_endpoint(news))
        try:
            api.request("PUT", _path(news), f"setting {news['role']} on vSphere Namespace {news['namespace']} for "
                        f"{_principal(news)}", query={"type": news["subjectType"]}, body={"role": news["role"]})
        finally:
            api.logout()
        return UpdateResult({**news, "adopted": bool(olds.get("adopted"))})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("adopted"):
            return  # it was there before the stack: leave it to whoever granted it
        api = VcenterApi(_endpoint(props))
        try:
            api.request("DELETE", _path(props), f"removing {_principal(props)} from vSphere Namespace {props['namespace']}",
                        query={"type": props["subjectType"]})
        except VcenterError as failure:
            if failure.error_type not in ("NOT_FOUND", "UNSUPPORTED"):
                raise
        finally:
            api.logout()


@dataclass(frozen=True)
class VcenterConnection:
    """The inputs every grant carries to reach vCenter; ``password`` is a Pulumi secret."""

    server: str
    user: str
    password: pulumi.Input[str]
    allow_unverified_ssl: bool = False
    ca_bundle: str | None = None


class NamespaceAccess(Resource):
    """One principal's role on a vSphere Namespace."""

    role: pulumi.Output[str]
    adopted: pulumi.Output[bool]

    def __init__(self, name: str, connection: VcenterConnection, namespace: pulumi.Input[str], principal: str,
                 subject_type: str, role: str, opts: pulumi.ResourceOptions | None = None):
        domain, subject = split_principal(principal)
        props = {
            "server": connection.server, "user": connection.user, "password": pulumi.Output.secret(connection.password),
            "allowUnverifiedSsl": connection.allow_unverified_ssl, "caBundle": connection.ca_bundle or "",
            "namespace": namespace, "domain": domain, "subject": subject, "subjectType": subject_type, "role": role,
            "adopted": None,
        }
        super().__init__(NamespaceAccessProvider(), name, props, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["password"])))


def split_principal(principal: str) -> tuple[str, str]:
    """``DOMAIN\\name`` or ``name@domain`` as vCenter's (domain, subject)."""
    if "\\" in principal:
        domain, subject = principal.split("\\", 1)
    else:
        subject, domain = principal.rsplit("@", 1)
    return domain, subject
