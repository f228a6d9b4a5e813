"""effective-capability: what a subject can reach, each road to a Secret, a pod or the cluster's power refused."""

from __future__ import annotations

import pytest
from hipaa import _capability as cap
from hipaa._rule import Resource
from hipaa.effective_capability import RULE

RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
PROVIDER = "urn:pulumi:prod::onprem-llm::pulumi:providers:kubernetes::primary-workload"
BREAK_GLASS = "sso:breakglass"


def _res(kind: str, name: str, namespace: str | None = None, prefix: str = RBAC, **props) -> Resource:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return Resource(f"{prefix}:{kind}", name, f"urn:{kind}:{namespace}:{name}", {"metadata": metadata, **props},
                    provider=PROVIDER)


def role(name, rules, namespace=None, **extra):
    return _res("Role" if namespace else "ClusterRole", name, namespace, rules=rules, **extra)


def bind(name, role_name, subjects, namespace=None, role_kind="ClusterRole"):
    return _res("RoleBinding" if namespace else "ClusterRoleBinding", name, namespace,
                roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
                subjects=subjects)


def group(name):
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def account(namespace, name):
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def rule(groups, resources, verbs, **extra):
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **extra}


def service_account(namespace, name):
    return _res("ServiceAccount", name, namespace, prefix="kubernetes:core/v1")


CONFIG = {"breakGlassGroup": BREAK_GLASS, "protectedNamespaces": ["llm-serving"], "exceptions": []}


def violations(resources, config=CONFIG):
    return [message for _, message in RULE.evaluate_stack(resources, RULE.settings(config))]


def test_good_01_the_rendered_program_rbac_passes(stack_resources, settings):
    assert RULE.evaluate_stack(stack_resources("prod"), settings(RULE, "prod")) == []


def test_bad_01_break_glass_may_hold_everything_and_nobody_else():
    resources = [bind("bg", "cluster-admin", [group(BREAK_GLASS)]), bind("ops", "cluster-admin", [group("ops")])]
    found = violations(resources)
    assert found and all(m.startswith("Group ops can") for m in found)
    assert any("Group ops can escalate" in m for m in found)


@pytest.mark.parametrize(("rules", "capability"), [
    ([rule(["batch"], ["jobs"], ["create"])], "run-workloads in llm-serving"),
    ([rule(["apps"], ["deployments"], ["patch"])], "run-workloads in llm-serving"),
    ([rule([""], ["pods"], ["update"])], "run-workloads in llm-serving"),
    ([rule([""], ["pods/ephemeralcontainers"], ["patch"])], "enter-pods in llm-serving"),
    ([rule([""], ["pods/exec"], ["create"])], "enter-pods in llm-serving"),
    ([rule([""], ["pods/*"], ["get"])], "enter-pods in llm-serving"),
    ([rule([""], ["secrets"], ["list"])], "read-secrets in llm-serving"),
    ([rule([""], ["serviceaccounts/token"], ["create"])], "mint-tokens in llm-serving"),
    ([rule(["keda.sh"], ["scaledjobs"], ["create"])], "run-workloads in llm-serving"),
])
def test_every_road_to_a_namespace_s_secrets_is_seen(rules, capability):
    resources = [role("r", rules, "llm-serving"), bind("b", "r", [group("ops")], "llm-serving", "Role")]
    assert any(m.startswith(f"Group ops can {capability}") for m in violations(resources))


@pytest.mark.parametrize("rules", [
    [rule([""], ["nodes/proxy"], ["get"])],
    [rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["bind"])],
    [rule(["rbac.authorization.k8s.io"], ["roles"], ["escalate"])],
    [rule([""], ["users", "groups"], ["impersonate"])],
    [rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"])],
    [rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations"], ["patch"])],
    [rule([""], ["nodes"], ["patch"])],
])
def test_cluster_wide_power_is_refused_whatever_the_verb_list(rules):
    resources = [role("r", rules), bind("b", "r", [group("ops")])]
    assert any(m.startswith("Group ops can") for m in violations(resources))


def test_a_workload_in_a_namespace_runs_as_its_service_accounts_and_holds_their_power():
    # Jobs in `tools` only, but `tools` holds an account bound to cluster-admin: creating a Job there is everything.
    resources = [
        service_account("tools", "admin-bot"), bind("bot", "cluster-admin", [account("tools", "admin-bot")]),
        role("jobs", [rule(["batch"], ["jobs"], ["create"])], "tools"),
        bind("ops-jobs", "jobs", [group("ops")], "tools", "Role"),
    ]
    found = violations(resources)
    assert any(m.startswith("Group ops can read-secrets") and "as ServiceAccount tools/admin-bot" in m for m in found)


def test_aggregated_cluster_roles_are_read_with_what_they_aggregate():
    label = {"onprem-llm.io/aggregate-to-ops": "true"}
    resources = [
        _res("ClusterRole", "ops", aggregationRule={"clusterRoleSelectors": [{"matchLabels": label}]}, rules=[]),
        _res("ClusterRole", "secret-reader", rules=[rule([""], ["secrets"], ["get"])]) ,
        bind("b", "ops", [group("ops")]),
    ]
    resources[1].props["metadata"]["labels"] = label
    assert any(m.startswith("Group ops can read-secrets") for m in violations(resources))
    resources[1].props["metadata"]["labels"] = {}
    assert violations(resources) == []


def test_a_chart_role_labelled_into_edit_extends_edit():
    resources = [_res("ClusterRole", "extra", rules=[rule([""], ["nodes/proxy"], ["get"])]),
                 bind("b", "view", [group("ops")])]
    assert violations(resources) == []
    resources[0].props["metadata"]["labels"] = {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    assert any("Group ops can enter-pods" in m for m in violations(resources))


@pytest.mark.parametrize("subject", [{"kind": "User", "name": "system:anonymous"},
                                     group("system:unauthenticated")])
def test_any_grant_to_anonymous_users_is_refused(subject):
    resources = [role("r", [rule([""], ["configmaps"], ["get"])]), bind("b", "r", [subject])]
    assert any("anonymous-access" in m for m in violations(resources))


def test_a_grant_to_every_authenticated_user_counts_for_each_of_them():
    resources = [role("r", [rule([""], ["secrets"], ["get"])]), bind("b", "r", [group("system:authenticated")]),
                 service_account("keda", "keda-operator")]
    found = violations(resources)
    assert any(m.startswith("ServiceAccount keda/keda-operator can read-secrets") for m in found)


def test_a_service_account_s_own_namespace_is_its_own_unless_protected():
    resources = [role("r", [rule([""], ["secrets"], ["get"])], "keda"),
                 bind("b", "r", [account("keda", "op")], "keda", "Role")]
    assert violations(resources) == []
    serving = [role("r", [rule([""], ["secrets"], ["get"])], "llm-serving"),
               bind("b", "r", [account("llm-serving", "op")], "llm-serving", "Role")]
    assert any("can read-secrets in llm-serving" in m for m in violations(serving))


def test_a_recorded_exception_covers_only_what_it_names():
    resources = [role("r", [rule([""], ["secrets"], ["get"])]), bind("b", "r", [account("velero", "server")])]
    named = {**CONFIG, "exceptions": [{"subject": "ServiceAccount velero/server", "capabilities": ["read-secrets"],
                                       "namespaces": ["*"], "reason": "backups"}]}
    assert violations(resources, named) == []
    narrow = {**CONFIG, "exceptions": [{"subject": "ServiceAccount velero/server", "capabilities": ["read-secrets"],
                                        "namespaces": ["velero"], "reason": "backups"}]}
    assert any("can read-secrets in every namespace" in m for m in violations(resources, narrow))


# -- admission fences: the analysis evaluates their CEL --------------------------------------------------------

def _fence(name, match, resource_rules, validation, deny=True):
    return [
        _res("ValidatingAdmissionPolicy", name, prefix="kubernetes:admissionregistration.k8s.io/v1", spec={
            "failurePolicy": "Fail", "matchConstraints": {"resourceRules": resource_rules},
            "matchConditions": [{"name": "who", "expression": match}],
            "validations": [{"expression": validation}]}),
        _res("ValidatingAdmissionPolicyBinding", name, prefix="kubernetes:admissionregistration.k8s.io/v1",
             spec={"policyName": name, "validationActions": ["Deny" if deny else "Audit"]}),
    ]


JOBS_ANYWHERE = [role("r", [rule(["batch"], ["jobs"], ["create"])]), bind("b", "r", [account("keda", "op")]),
                 service_account("velero", "server"), bind("v", "cluster-admin", [account("velero", "server")])]
JOB_RULE = [{"apiGroups": ["batch"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["jobs"]}]


def test_a_fence_that_refuses_the_writes_removes_the_road():
    assert any("ServiceAccount keda/op can escalate" in m for m in violations(JOBS_ANYWHERE))
    fenced = JOBS_ANYWHERE + _fence("f", "request.userInfo.username == 'system:serviceaccount:keda:op'", JOB_RULE,
                                    "request.namespace in ['keda']")
    assert not any(m.startswith("ServiceAccount keda/op") for m in violations(fenced))


def test_a_fence_only_audited_or_matching_someone_else_refuses_nothing():
    audited = JOBS_ANYWHERE + _fence("f", "request.userInfo.username == 'system:serviceaccount:keda:op'", JOB_RULE,
                                     "false", deny=False)
    assert any("keda/op can escalate" in m for m in violations(audited))
    elsewhere = JOBS_ANYWHERE + _fence("f", "request.userInfo.username == 'someone'", JOB_RULE, "false")
    assert any("keda/op can escalate" in m for m in violations(elsewhere))


def test_who_can_rewrite_admission_policies_is_not_held_by_them():
    writer = [role("vap", [rule(["admissionregistration.k8s.io"], ["validatingadmissionpolicies"], ["delete"])]),
              bind("vap", "vap", [account("keda", "op")])]
    fenced = JOBS_ANYWHERE + writer + _fence(
        "f", "request.userInfo.username == 'system:serviceaccount:keda:op'", JOB_RULE, "false")
    assert any("keda/op can escalate" in m for m in violations(fenced))


def test_the_node_fence_admits_cordon_and_refuses_taints_and_labels(prod):
    fence = next(r for r in prod.graph if r.type.endswith(":ValidatingAdmissionPolicy")
                 and "operator-nodes" in r.name)
    admission = cap.Admission([
        {"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "n"}, "spec": fence.inputs["spec"]},
        {"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "n"},
         "spec": {"policyName": "n", "validationActions": ["Deny"]}},
    ])
    operators = fence.inputs["spec"]["matchConditions"][0]["expression"].split("'")[1]
    operator = cap.Subject("Group", operators)
    before = {"metadata": {"name": "gpu-1", "labels": {"a": "b"}}, "spec": {"unschedulable": False}}

    def change(after):
        return admission.refused_by(operator, cap.Probe("UPDATE", "", "nodes", "", object=after, old_object=before))

    assert change({**before, "spec": {"unschedulable": True}}) is None
    assert change({**before, "spec": {"unschedulable": True, "taints": [{"key": "x", "effect": "NoExecute"}]}})
    assert change({**before, "metadata": {"name": "gpu-1", "labels": {"a": "c"}}})
    assert admission.refused_by(cap.Subject("Group", BREAK_GLASS), cap.Probe(
        "UPDATE", "", "nodes", "", object={**before, "spec": {"taints": [{"key": "x"}]}}, old_object=before)) is None
