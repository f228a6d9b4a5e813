"""Who can reach what on the rendered prod cluster, the charts' RBAC included (the capability analysis)."""

from __future__ import annotations

import copy
import json

import pytest
from hipaa import _capability as cap

from offline.checks import capability, schemas
from offline.checks.preview import objects_by_cluster
from tools.policy_config import CONFIG_DIR

WORKLOAD = "primary-workload"


@pytest.fixture(scope="session")
def prod_objects(prod, chart_checks) -> list[dict]:
    return objects_by_cluster(prod.graph, chart_checks["prod"].releases, schemas.CLUSTER_SCOPED)[WORKLOAD]


@pytest.fixture(scope="session")
def settings() -> dict:
    return json.loads((CONFIG_DIR / "prod.json").read_text())["effective-capability"]


def _without(objects: list[dict], kind: str, name_part: str) -> list[dict]:
    return [o for o in objects if not (o.get("kind") == kind and name_part in o["metadata"].get("name", ""))]


def test_nothing_beyond_least_privilege_is_unexplained(prod_objects, settings):
    report = capability.check({WORKLOAD: prod_objects}, settings)
    assert report.problems == []
    assert report.excepted, "the charts' recorded exceptions are judged, not skipped"


def test_only_break_glass_and_recorded_exceptions_reach_the_protected_secrets(prod_objects, settings):
    analysis = cap.Analysis(prod_objects)
    protected = settings["protectedNamespaces"]
    assert {"llm-serving", "api-gateway", "audit-sealing"} <= set(protected)
    readers = {}
    for subject in analysis.subjects():
        reach = analysis.reach(subject)
        for namespace in reach.secret_namespaces(protected):
            if subject == cap.Subject("Group", settings["breakGlassGroup"]):
                continue
            # Every road this subject has to the namespace's Secrets is a recorded exception.
            roads = [c for c in reach.capabilities if c.namespace == namespace and c.kind in cap.REACHES_SECRETS]
            roads += [c for c in reach.capabilities if c.kind == "escalate"]
            for road in roads:
                finding = cap.Finding(subject, road, reach.capabilities[road])
                assert cap.excepted(finding, settings["exceptions"]), f"{finding} is no recorded exception"
            readers.setdefault(namespace, set()).add(str(subject))
    # The operators' and auditors' groups reach none of them.
    assert not any("Group" in r for subjects in readers.values() for r in subjects)
    assert "ServiceAccount keda/keda-operator" not in set().union(*readers.values())


def test_a_chart_road_without_its_exception_fails(prod_objects, settings):
    narrowed = copy.deepcopy(settings)
    narrowed["exceptions"] = [e for e in narrowed["exceptions"]
                              if not (e["subject"].endswith("/kube-prometheus-stack-operator")
                                      and "read-secrets" in e["capabilities"])]
    problems = capability.check({WORKLOAD: prod_objects}, narrowed).problems
    assert any("kube-prometheus-stack-operator can read-secrets in every namespace" in p for p in problems)


GATEWAY_CONTROLLERS = ("ServiceAccount envoy-gateway-system/envoy-gateway",
                       "ServiceAccount envoy-ai-gateway-system/ai-gateway-controller")


def _secret_readers(objects: list[dict], protected: list[str]) -> dict[str, set[str]]:
    analysis = cap.Analysis(objects)
    readers: dict[str, set[str]] = {namespace: set() for namespace in protected}
    for subject in analysis.subjects():
        for namespace in analysis.reach(subject).secret_namespaces(protected):
            readers[namespace].add(str(subject))
    return readers


def test_the_audit_signing_key_is_reached_only_by_break_glass_and_the_unnarrowable_charts(prod_objects, settings):
    readers = _secret_readers(prod_objects, settings["protectedNamespaces"])
    assert readers["audit-sealing"] == {
        f"Group {settings['breakGlassGroup']}",
        # Their chart roles read (or hold) every Secret and no value narrows them: recorded exceptions.
        "ServiceAccount velero/velero-server", "ServiceAccount gpu-operator/gpu-operator",
        "ServiceAccount monitoring/kube-prometheus-stack-operator"}
    # The gateway controllers, narrowed to the gateway's namespace, reach the serving and audit Secrets no more.
    for subject in GATEWAY_CONTROLLERS:
        assert subject not in readers["audit-sealing"] | readers["llm-serving"]
        assert subject in readers["api-gateway"]


def test_the_gateway_controllers_hold_secret_and_workload_rights_in_the_gateway_namespace_only(prod_objects):
    analysis = cap.Analysis(prod_objects)
    for name in GATEWAY_CONTROLLERS:
        namespace, account = name.removeprefix("ServiceAccount ").split("/")
        reach = analysis.reach(cap.Subject("ServiceAccount", account, namespace))
        where = {c.namespace for c in reach.capabilities if c.kind in cap.REACHES_SECRETS}
        assert where <= {"api-gateway", namespace}, (name, where)
    # No ClusterRoleBinding hands either of them a role with Secrets or pods.
    rules = cap.cluster_role_rules(prod_objects)
    for binding in (o for o in prod_objects if o.get("kind") == "ClusterRoleBinding"):
        subjects = {f"ServiceAccount {s.get('namespace')}/{s.get('name')}" for s in binding.get("subjects") or []}
        if subjects & set(GATEWAY_CONTROLLERS):
            granted = rules[binding["roleRef"]["name"]]
            assert not any({"", "*"} & set(r.get("apiGroups") or []) and {"secrets", "pods", "*"} & set(r.get("resources") or [])
                           for r in granted), binding


def test_the_narrowing_comes_from_the_charts_values(prod):
    """What the two tests above see rendered: Envoy Gateway watches the gateway's namespace (the chart then writes
    Roles), and the AI gateway chart renders no account or ClusterRole, the program's own taking their place."""
    provider = prod.graph.named("gateway-envoy-gateway").inputs["values"]["config"]["envoyGateway"]["provider"]
    assert provider["kubernetes"]["watch"] == {"type": "Namespaces", "namespaces": ["api-gateway"]}
    controller = prod.graph.named("gateway-ai-gateway").inputs["values"]["controller"]
    assert controller["serviceAccount"] == {"create": False, "name": "ai-gateway-controller"}
    assert controller["watch"] == {"namespaces": ["api-gateway"]}
    role = prod.graph.named("gateway-ai-controller-role-gateway").inputs
    assert role["metadata"]["namespace"] == "api-gateway"


@pytest.mark.parametrize(("fence", "subject"), [
    ("fence-keda-operator", "ServiceAccount keda/keda-operator can"),
    ("fence-operator-nodes", "can change-nodes"),
    ("fence-prometheus-operator", "kube-prometheus-stack-operator can"),
])
def test_each_fence_is_what_keeps_its_role_inside_least_privilege(prod_objects, settings, fence, subject):
    unfenced = _without(prod_objects, "ValidatingAdmissionPolicy", fence)
    problems = capability.check({WORKLOAD: unfenced}, settings).problems
    assert any(subject in p for p in problems), problems


def test_keda_reads_no_resource_of_every_group(prod_objects):
    operator = next(o for o in prod_objects if o.get("kind") == "ClusterRole" and o["metadata"]["name"] == "keda-operator")
    assert not any("*" in r.get("apiGroups", []) for r in operator["rules"])


def test_the_fences_are_valid_kubernetes_objects(prod_objects, chart_checks):
    fences = [o for o in prod_objects if o.get("kind") == "ValidatingAdmissionPolicy"
              and o["metadata"]["name"].startswith("onprem-llm-fence-")]
    assert len(fences) == 3
    assert not [e for e in chart_checks["prod"].builtin_errors if "ValidatingAdmissionPolicy" in str(e)]


def _documented_readers() -> set[str]:
    """Subjects of docs/security.md's table of who reaches the protected namespaces' Secrets."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "security.md").read_text()
    table = text.split("by who can reach the Secrets of the protected namespaces:", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {row.split("`")[1] for row in rows}


def test_the_security_doc_names_exactly_who_reaches_the_protected_secrets(prod_objects, settings):
    analysis = cap.Analysis(prod_objects)
    protected = settings["protectedNamespaces"]
    rendered = set()
    for subject in analysis.subjects():
        if analysis.reach(subject).secret_namespaces(protected):
            rendered.add("access.breakGlassGroup" if subject == cap.Subject("Group", settings["breakGlassGroup"])
                         else f"{subject.namespace}/{subject.name}" if subject.kind == "ServiceAccount" else str(subject))
    assert _documented_readers() == rendered


def test_the_compliance_report_lists_every_capability_exception_with_its_reason(settings):
    from offline.checks.compliance import compliance, markdown
    from offline.checks.policy import PolicyReport

    pack_config = json.loads((CONFIG_DIR / "prod.json").read_text())
    document = compliance(PolicyReport(), pack_config)
    listed = [e for e in document["exceptions"] if e["policy"] == "effective-capability"]
    assert len(listed) == len(settings["exceptions"]) > 0
    for entry in settings["exceptions"]:
        assert any(e["reason"].startswith(entry["subject"]) and e["reason"].endswith(entry["reason"]) for e in listed)
    assert "ServiceAccount velero/velero-server may *" in markdown(document)


# -- Envoy Gateway's cache is covered by its roles ------------------------------------------------------------

ENVOY_GATEWAY = cap.Subject("ServiceAccount", "envoy-gateway", "envoy-gateway-system")
WATCHED_AND_OWN = (("", "configmaps"), ("", "services"), ("discovery.k8s.io", "endpointslices"),
                   ("", "secrets"), ("", "serviceaccounts"), ("apps", "deployments"))
"""What Envoy Gateway v1.9.0 caches in its own namespace as well as the watched ones, with `watch.type: Namespaces`
and `deploy.type: GatewayNamespace` (internal/provider/kubernetes/kubernetes.go, the cache's ByObject entries)."""
WATCHED_ONLY = (("apps", "daemonsets"), ("autoscaling", "horizontalpodautoscalers"),
                ("policy", "poddisruptionbudgets"), ("", "pods"),
                ("gateway.networking.k8s.io", "gateways"), ("gateway.networking.k8s.io", "httproutes"),
                ("gateway.networking.k8s.io", "referencegrants"), ("gateway.networking.k8s.io", "backendtlspolicies"),
                ("gateway.envoyproxy.io", "envoyproxies"), ("gateway.envoyproxy.io", "backends"),
                ("gateway.envoyproxy.io", "securitypolicies"), ("gateway.envoyproxy.io", "clienttrafficpolicies"),
                ("gateway.envoyproxy.io", "backendtrafficpolicies"), ("gateway.envoyproxy.io", "httproutefilters"))
"""Kinds it caches under the default namespaces only (the watched ones; controller.go's watches)."""


def envoy_gateway_cache(watched: list[str], own: str) -> dict[str, set[tuple[str, str]]]:
    cache = {namespace: set(WATCHED_AND_OWN) | set(WATCHED_ONLY) for namespace in watched}
    cache.setdefault(own, set()).update(WATCHED_AND_OWN)
    return cache


def _reads(objects: list[dict], subject: cap.Subject, namespace: str, group: str, resource: str) -> set[str]:
    grants = cap.bindings(objects)[0].get(subject, [])
    return {verb for verb in ("get", "list", "watch") if any(
        g.namespace in (namespace, cap.ALL) and not g.names and cap._matches(g, group, resource, [verb])
        for g in grants)}


def test_envoy_gateway_may_list_and_watch_everything_its_cache_holds(prod, prod_objects):
    provider = prod.graph.named("gateway-envoy-gateway").inputs["values"]["config"]["envoyGateway"]["provider"]
    assert provider["kubernetes"]["deploy"] == {"type": "GatewayNamespace"}
    cache = envoy_gateway_cache(provider["kubernetes"]["watch"]["namespaces"], "envoy-gateway-system")
    assert ("discovery.k8s.io", "endpointslices") in cache["envoy-gateway-system"]
    missing = {(namespace, f"{group or 'core'}/{resource}"): {"list", "watch"} - _reads(
        prod_objects, ENVOY_GATEWAY, namespace, group, resource)
        for namespace, kinds in cache.items() for group, resource in kinds}
    assert {where: verbs for where, verbs in missing.items() if verbs} == {}


def test_without_the_programs_role_envoy_gateway_cannot_sync_its_own_namespaces_endpointslices(prod_objects):
    charts_only = _without(prod_objects, "Role", "onprem-llm-envoy-gateway-endpointslices")
    assert _reads(charts_only, ENVOY_GATEWAY, "envoy-gateway-system", "discovery.k8s.io", "endpointslices") == set()
    assert _reads(prod_objects, ENVOY_GATEWAY, "envoy-gateway-system", "discovery.k8s.io", "endpointslices") == {
        "get", "list", "watch"}
    granted = [o for o in prod_objects if o.get("kind") == "Role"
               and o["metadata"]["name"] == "onprem-llm-envoy-gateway-endpointslices"]
    assert [r for o in granted for r in o["rules"]] == [
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]}]


# -- the AI gateway controller holds what its code uses -------------------------------------------------------

AI_CONTROLLER = cap.Subject("ServiceAccount", "ai-gateway-controller", "envoy-ai-gateway-system")


def _verbs(objects: list[dict], subject: cap.Subject, namespace: str, group: str, resource: str) -> set[str]:
    """Every verb ``subject`` holds on the resource in ``namespace`` (a wildcard spelled out), by name or not."""
    verbs = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
    grants = cap.bindings(objects)[0].get(subject, [])
    return {verb for verb in verbs if any(g.namespace in (namespace, cap.ALL) and cap._matches(g, group, resource, [verb])
                                          for g in grants)}


def test_the_ai_controller_rolls_the_proxies_but_cannot_create_a_workload(prod_objects):
    for group, resource in (("", "pods"), ("apps", "deployments"), ("apps", "daemonsets")):
        assert _verbs(prod_objects, AI_CONTROLLER, "api-gateway", group, resource) == {"get", "list", "watch", "patch"}
        assert _verbs(prod_objects, AI_CONTROLLER, "envoy-gateway-system", group, resource) == {"list"}
    for group, resource in (("apps", "replicasets"), ("apps", "statefulsets"), ("batch", "jobs"),
                            ("batch", "cronjobs"), ("", "serviceaccounts")):
        assert _verbs(prod_objects, AI_CONTROLLER, "api-gateway", group, resource) == set(), resource
    assert _verbs(prod_objects, AI_CONTROLLER, "api-gateway", "", "services") == {"get", "list", "watch"}
    # The filter configuration Secrets: read, created, replaced, deleted; never patched or deleted in bulk.
    assert _verbs(prod_objects, AI_CONTROLLER, "api-gateway", "", "secrets") == {
        "get", "list", "watch", "create", "update", "delete"}
    assert _verbs(prod_objects, AI_CONTROLLER, "api-gateway", "", "events") == set()


def test_the_ai_controller_reads_nothing_cluster_wide_but_the_routes_its_webhook_lists(prod_objects):
    cluster_wide = {(g.group, g.resource, g.verb, g.names) for g in cap.bindings(prod_objects)[0][AI_CONTROLLER]
                    if g.namespace == cap.ALL}
    assert cluster_wide == {
        ("aigateway.envoyproxy.io", "aigatewayroutes", "list", ()),
        ("aigateway.envoyproxy.io", "mcproutes", "list", ()),
        ("apiextensions.k8s.io", "customresourcedefinitions", "get", ("inferencepools.inference.networking.k8s.io",)),
        *{("admissionregistration.k8s.io", "mutatingwebhookconfigurations", verb,
           ("envoy-ai-gateway-gateway-pod-mutator.envoy-ai-gateway-system",)) for verb in ("get", "update")},
    }
    assert _verbs(prod_objects, AI_CONTROLLER, "envoy-ai-gateway-system", "coordination.k8s.io", "leases") == {
        "get", "create", "update"}


def test_the_clustertrustbundle_read_is_documented_not_granted(prod_objects):
    """Envoy Gateway watches ClusterTrustBundles cluster-wide only where the cluster serves the beta API; the program
    does not grant that read, and docs/deploying.md carries the roles a site adds then."""
    import re
    from pathlib import Path

    import yaml

    def cluster_wide(objects: list[dict]) -> set[str]:
        return {g.verb for g in cap.bindings(objects)[0].get(ENVOY_GATEWAY, []) if g.namespace == cap.ALL
                and cap._matches(g, "certificates.k8s.io", "clustertrustbundles", [g.verb])}

    assert cluster_wide(prod_objects) == set()
    text = (Path(__file__).parent.parent / "docs" / "deploying.md").read_text()
    section = text.split("### When the cluster serves ClusterTrustBundles", 1)[1].split("\n## ", 1)[0]
    documented = list(yaml.safe_load_all(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)))
    assert cluster_wide(prod_objects + documented) >= {"list", "watch"}
