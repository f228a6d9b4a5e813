from hipaa._rule import Resource
from hipaa.rbac_least_privilege import RULE, grants


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def _binding(resources, name):
    return next(r for r in resources if r.name == name)


def test_bad_01_operators_bound_to_built_in_edit(stack_resources, settings):
    resources = stack_resources()
    binding = _binding(resources, "access-operators-llm-serving")
    binding.props["roleRef"]["name"] = "edit"
    violations = RULE.check(resources, settings(RULE))
    assert [urn for urn, _ in violations] == [binding.urn] and "Secrets, pods/exec" in violations[0][1]


def test_bad_02_auditors_bound_to_admin(stack_resources, settings):
    resources = stack_resources()
    binding = _binding(resources, "access-auditors")
    binding.props["roleRef"]["name"] = "admin"
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [binding.urn]


def test_bad_03_purpose_built_role_gains_secrets(stack_resources, settings):
    resources = stack_resources()
    role = next(r for r in resources if r.name == "access-reader-clusterrole")
    role.props["rules"][0]["resources"].append("secrets")
    urns = {urn for urn, _ in RULE.check(resources, settings(RULE))}
    assert _binding(resources, "access-auditors").urn in urns and _binding(resources, "access-operators-read").urn in urns


def test_bad_04_operator_role_gains_exec_or_port_forward(stack_resources, settings):
    for subresource in ("pods/exec", "pods/attach", "pods/portforward"):
        resources = stack_resources()
        role = next(r for r in resources if r.name == "access-operator-clusterrole")
        role.props["rules"].append({"apiGroups": [""], "resources": [subresource], "verbs": ["create"]})
        assert _binding(resources, "access-operators-llm-serving").urn in {u for u, _ in RULE.check(resources, settings(RULE))}


def test_bad_05_network_policy_changes_and_wildcards(stack_resources, settings):
    resources = stack_resources()
    role = next(r for r in resources if r.name == "access-operator-clusterrole")
    role.props["rules"].append({"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["delete"]})
    assert RULE.check(resources, settings(RULE))
    assert "get core/secrets" in grants([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}])


def test_bad_06_a_service_account_bound_to_cluster_admin(stack_resources, settings):
    resources = stack_resources()
    binding = _binding(resources, "access-break-glass")
    resources.append(Resource(binding.type, "extra", "urn:extra", {
        "metadata": {"name": "extra"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "llm-serving"}]}, provider=binding.provider))
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == ["urn:extra"]


def test_good_02_a_recorded_controller_holds_secret_rights_in_its_roles(stack_resources, settings):
    config = settings(RULE)
    assert "envoy-ai-gateway-system/ai-gateway-controller" in config["secretAccounts"]
    assert RULE.check(stack_resources(), config) == []


def test_bad_07_the_controllers_secret_rights_without_their_record(stack_resources, settings):
    resources = stack_resources()
    config = {**settings(RULE), "secretAccounts": {}}
    binding = _binding(resources, "gateway-ai-controller-binding-gateway")
    violations = RULE.check(resources, config)
    assert [urn for urn, _ in violations] == [binding.urn] and "core/secrets" in violations[0][1]


def test_bad_08_a_recorded_controller_gains_exec(stack_resources, settings):
    resources = stack_resources()
    role = next(r for r in resources if r.name == "gateway-ai-controller-role-gateway")
    role.props["rules"].append({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]})
    violations = RULE.check(resources, settings(RULE))
    assert [urn for urn, _ in violations] == [_binding(resources, "gateway-ai-controller-binding-gateway").urn]
    assert "pods/exec" in violations[0][1] and "secrets" not in violations[0][1]
