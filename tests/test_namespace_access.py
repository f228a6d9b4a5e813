"""The vSphere Namespace's access entries: the provider against a vCenter that answers as the REST API reference
says, the config that chooses them, and where they sit in the program's graph."""

from __future__ import annotations

import base64
import json
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest

from components.config import SECRET_KEYS, ConfigError, parse_config
from components.resources.namespace_access import NamespaceAccessProvider, split_principal
from components.vcenter_api import VcenterError
from offline.run import stack_config
from offline.world import DYNAMIC, FakeWorld, LookupFailed, Mode, Unreachable
from tests import https_stand_in

USER, PASSWORD = "svc-llm-platform@vsphere.local", "s3cret-vcenter-password"
NAMESPACE = "llm-platform-prod"
ACCESS = "/api/vcenter/namespaces/instances/"


class FakeVcenter:
    """Sessions and namespace access entries, with the status codes and error types of the API reference."""

    def __init__(self, tmp_path):
        self.entries: dict[str, dict[tuple[str, str, str], str]] = {NAMESPACE: {}}
        self.calls: list[tuple[str, str]] = []
        self.sessions: set[str] = set()
        self.ca = https_stand_in.self_signed(tmp_path, "127.0.0.1")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def _answer(self, status, body=None):
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _error(self, status, error_type, message):
                self._answer(status, {"error_type": error_type, "messages": [{"default_message": message}]})

            def _handle(self):
                url = urllib.parse.urlsplit(self.path)
                fake.calls.append((self.command, url.path))
                if url.path == "/api/session":
                    if self.command == "POST":
                        expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                        if self.headers.get("Authorization") != f"Basic {expected}":
                            return self._error(401, "UNAUTHENTICATED", "Authentication required.")
                        session = f"session-{len(fake.sessions)}"
                        fake.sessions.add(session)
                        return self._answer(201, session)
                    fake.sessions.discard(self.headers.get("vmware-api-session-id"))
                    return self._answer(204)
                if self.headers.get("vmware-api-session-id") not in fake.sessions:
                    return self._error(401, "UNAUTHENTICATED", "Authentication required.")
                namespace, _, domain, subject = [urllib.parse.unquote(p) for p in url.path.removeprefix(ACCESS).split("/")]
                kind = urllib.parse.parse_qs(url.query)["type"][0]
                if namespace not in fake.entries:
                    return self._error(404, "NOT_FOUND", f"Namespace {namespace} not found.")
                entries, key = fake.entries[namespace], (domain, subject, kind)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                if self.command == "GET":
                    if key not in entries:
                        return self._error(400, "UNSUPPORTED", "Principal is not associated with the namespace.")
                    role = entries[key]
                    inherited = role.startswith("inherited:")
                    return self._answer(200, {"role": role.removeprefix("inherited:"), "inherited": inherited})
                if self.command == "POST":
                    if key in entries:
                        return self._error(400, "ALREADY_EXISTS", "Principal already has a role on the namespace.")
                    entries[key] = body["role"]
                    return self._answer(204)
                if key not in entries:
                    return self._error(400, "UNSUPPORTED", "Principal is not associated with the namespace.")
                if self.command == "PUT":
                    entries[key] = body["role"]
                else:
                    del entries[key]
                return self._answer(204)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = https_stand_in.serve(Handler, tmp_path)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def props(self, principal="HOSPITAL.EXAMPLE\\llm-operators", kind="GROUP", role="VIEW", **overrides):
        domain, subject = split_principal(principal)
        return {"server": self.address, "user": USER, "password": PASSWORD, "allowUnverifiedSsl": False,
                "caBundle": self.ca, "namespace": NAMESPACE, "domain": domain, "subject": subject, "subjectType": kind,
                "role": role, **overrides}


@pytest.fixture
def vcenter(tmp_path):
    fake = FakeVcenter(tmp_path)
    yield fake
    fake.server.shutdown()


ADMINS = ("vsphere.local", "NamespaceAdmins", "GROUP")


def test_a_grant_adds_and_removes_its_own_entry_only(vcenter):
    vcenter.entries[NAMESPACE][ADMINS] = "OWNER"  # granted by vCenter's administrators
    provider = NamespaceAccessProvider()
    created = provider.create(vcenter.props())
    assert created.id == f"{NAMESPACE}/group/HOSPITAL.EXAMPLE\\llm-operators"
    assert created.outs["adopted"] is False
    assert vcenter.entries[NAMESPACE] == {ADMINS: "OWNER", ("HOSPITAL.EXAMPLE", "llm-operators", "GROUP"): "VIEW"}

    provider.update(created.id, created.outs, vcenter.props(role="EDIT"))
    assert vcenter.entries[NAMESPACE][("HOSPITAL.EXAMPLE", "llm-operators", "GROUP")] == "EDIT"

    provider.delete(created.id, created.outs)
    assert vcenter.entries[NAMESPACE] == {ADMINS: "OWNER"}
    # Each call logged in and out again: no session is left open on vCenter.
    assert not vcenter.sessions


def test_an_entry_that_existed_with_the_same_role_is_adopted_and_never_deleted(vcenter):
    vcenter.entries[NAMESPACE][("vsphere.local", "svc-llm-platform", "USER")] = "EDIT"  # the namespace's creator
    provider = NamespaceAccessProvider()
    created = provider.create(vcenter.props(USER, "USER", "EDIT"))
    assert created.outs["adopted"] is True
    assert ("POST", f"{ACCESS}{NAMESPACE}/access/vsphere.local/svc-llm-platform") not in vcenter.calls
    provider.delete(created.id, created.outs)
    assert vcenter.entries[NAMESPACE] == {("vsphere.local", "svc-llm-platform", "USER"): "EDIT"}


def test_a_role_inherited_through_a_group_is_not_an_entry_of_the_principals_own(vcenter):
    # The fake answers GET with inherited: true for this principal (vCenter 8.0.3's Access.Info.inherited).
    vcenter.entries[NAMESPACE][("vsphere.local", "svc-llm-platform", "USER")] = "inherited:VIEW"
    provider = NamespaceAccessProvider()
    assert provider.read("id", vcenter.props(USER, "USER", "EDIT")).id == ""
    with pytest.raises(VcenterError, match="ALREADY_EXISTS|already has a role"):
        provider.create(vcenter.props(USER, "USER", "EDIT"))  # the fake then refuses the POST, as vCenter may


def test_an_entry_held_with_another_role_fails_the_create_naming_both_and_changes_nothing(vcenter):
    vcenter.entries[NAMESPACE][("HOSPITAL.EXAMPLE", "llm-operators", "GROUP")] = "OWNER"
    with pytest.raises(VcenterError) as caught:
        NamespaceAccessProvider().create(vcenter.props(role="VIEW"))
    message = str(caught.value)
    assert "already holds OWNER" in message and "asks for VIEW" in message and "tanzu.namespaceAccess" in message
    assert vcenter.entries[NAMESPACE] == {("HOSPITAL.EXAMPLE", "llm-operators", "GROUP"): "OWNER"}


def test_read_reports_an_entry_removed_outside_the_stack_as_gone(vcenter):
    provider = NamespaceAccessProvider()
    created = provider.create(vcenter.props())
    assert provider.read(created.id, created.outs).id == created.id
    vcenter.entries[NAMESPACE].clear()
    assert provider.read(created.id, created.outs).id == ""


def test_a_missing_namespace_and_a_wrong_password_fail_with_vcenters_answer_and_no_password(vcenter):
    provider = NamespaceAccessProvider()
    with pytest.raises(VcenterError, match=r"answered 404 \(Namespace llm-platform-dev not found"):
        provider.create(vcenter.props(namespace="llm-platform-dev"))
    with pytest.raises(VcenterError) as caught:
        provider.create(vcenter.props(password="wrong-password"))
    assert f"logging in to vCenter {vcenter.address} as {USER}" in str(caught.value)
    assert caught.value.status == 401
    assert "wrong-password" not in str(caught.value) and PASSWORD not in str(caught.value)


def test_vcenters_certificate_is_verified_against_the_site_bundle(vcenter, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(VcenterError, match="CERTIFICATE_VERIFY_FAILED"):
        NamespaceAccessProvider().create(vcenter.props(caBundle=https_stand_in.self_signed(other, "127.0.0.1")))
    assert not vcenter.entries[NAMESPACE]


def test_diff_updates_a_role_in_place_and_replaces_another_principal():
    provider = NamespaceAccessProvider()
    base = {"server": "vc", "user": USER, "password": PASSWORD, "namespace": NAMESPACE, "domain": "D", "subject": "s",
            "subjectType": "GROUP", "role": "VIEW"}
    role = provider.diff("id", base, {**base, "role": "EDIT"})
    assert role.changes and not role.replaces
    rotated = provider.diff("id", base, {**base, "password": "new"})
    assert rotated.changes and not rotated.replaces  # one `up` records a rotated password
    other = provider.diff("id", base, {**base, "subject": "t"})
    assert other.replaces == ["subject"] and not other.delete_before_replace
    # Same path, other type: creating first would adopt the old entry, and deleting the old would then remove it.
    retyped = provider.diff("id", base, {**base, "subjectType": "USER"})
    assert retyped.replaces == ["subjectType"] and retyped.delete_before_replace
    assert not provider.diff("id", base, dict(base)).changes


# -- config ------------------------------------------------------------------------------------

ALL_SECRETS = [s.key for s in SECRET_KEYS]


def test_by_default_the_automation_account_edits_and_the_vcenter_operators_view():
    cfg = parse_config(stack_config("prod"), ALL_SECRETS)
    assert [(g.principal, g.type, g.role) for g in cfg.namespace_grants] == [
        (cfg.vsphere.user, "user", "edit"), (cfg.access.vsphere_operator_group, "group", "view")]


@pytest.mark.parametrize(("grants", "path", "reason"), [
    ([{"principal": "llm-operators", "type": "group", "role": "view"}], "tanzu.namespaceAccess.0.principal",
     "DOMAIN\\name or name@domain"),
    ([{"principal": "A\\ops", "type": "team", "role": "view"}], "tanzu.namespaceAccess.0.type", "user"),
    ([{"principal": "A\\ops", "type": "group", "role": "admin"}], "tanzu.namespaceAccess.0.role", "view"),
    ([{"principal": "A\\ops", "type": "group", "role": "view"}], "tanzu.namespaceAccess", "grants no one edit"),
    ([{"principal": "A\\ops", "type": "group", "role": "edit"}, {"principal": "a\\OPS", "type": "group", "role": "view"}],
     "tanzu.namespaceAccess[1].principal", "one role per principal"),
])
def test_namespace_access_refusals_name_the_key_and_the_fix(grants, path, reason):
    raw = stack_config("prod")
    raw["tanzu"]["namespaceAccess"] = grants
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, ALL_SECRETS)
    text = str(caught.value)
    assert path in text and reason in text, text


# -- the program -------------------------------------------------------------------------------


def test_the_supervisor_objects_wait_for_the_namespace_access_entries(evaluations):
    graph = evaluations["prod"].graph
    grants = [r for r in graph.records if r.type == DYNAMIC and r.inputs.get("subjectType")]
    assert sorted((r.inputs["domain"], r.inputs["subject"], r.inputs["role"]) for r in grants) == [
        ("HOSPITAL.EXAMPLE", "llm-operators", "VIEW"), ("vsphere.local", "svc-llm-platform", "EDIT")]
    assert all(type(r.inputs["password"]).__name__ == "Secret" for r in grants)
    assert all("password" in r.options["additionalSecretOutputs"] for r in grants)
    cluster = next(r for r in graph.records if r.type.endswith(":Cluster") and r.inputs["metadata"]["name"])
    assert {r.urn for r in grants} <= set(cluster.options["dependencies"])


def test_the_offline_world_refuses_a_grant_before_its_namespace_or_on_a_site_that_is_down():
    inputs = {"server": "vcenter-a.hospital.example", "namespace": NAMESPACE, "role": "EDIT", "subjectType": "USER"}
    world = FakeWorld("prod", mode=Mode.UP)
    with pytest.raises(LookupFailed, match="namespace cannot be located"):
        world.created(DYNAMIC, "grant", inputs)
    world.created("vsphere:index/namespace:Namespace", "ns", {"name": NAMESPACE, "supervisor": "domain-c8"})
    world.created(DYNAMIC, "grant", inputs)
    down = FakeWorld("prod", mode=Mode.UP, unreachable=frozenset({"vcenter-a.hospital.example"}))
    with pytest.raises(Unreachable, match="cannot reach vCenter"):
        down.created(DYNAMIC, "grant", inputs)


# -- what an update does to the entries ----------------------------------------------------------


def _grant_plan(evaluations, raw_config, grants):
    from offline.plan.update import plan
    from offline.render import inventory
    from offline.run import evaluate

    raw = raw_config("prod")
    raw["tanzu"]["namespaceAccess"] = grants
    return plan(inventory(evaluations["prod"]), inventory(evaluate("prod", raw)), "test")


DEFAULTS = [{"principal": USER, "type": "user", "role": "edit"},
            {"principal": "HOSPITAL.EXAMPLE\\llm-operators", "type": "group", "role": "view"}]


def test_the_defaults_written_out_change_nothing_and_a_role_change_is_in_place(evaluations, raw_config):
    assert _grant_plan(evaluations, raw_config, DEFAULTS).changed == []
    raised = _grant_plan(evaluations, raw_config, [DEFAULTS[0], {**DEFAULTS[1], "role": "edit"}])
    assert [(s.name, s.op) for s in raised.changed] == [("primary-namespace-access-hospital-example-llm-operators", "update")]


def test_another_type_for_the_same_principal_is_replaced_deleting_the_old_entry_first(evaluations, raw_config):
    """The engine asks the dynamic provider what a change replaces; the plan asks the same provider."""
    retyped = _grant_plan(evaluations, raw_config, [DEFAULTS[0], {**DEFAULTS[1], "type": "user"}])
    [step] = retyped.changed
    assert (step.name, step.op, step.delete_before_replace) == (
        "primary-namespace-access-hospital-example-llm-operators", "replace", True)
    assert step.replace_reasons == ("subjectType",)
    assert not retyped.errors
