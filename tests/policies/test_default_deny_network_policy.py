from hipaa.default_deny_network_policy import RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_policy_removed(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "primary-serving-default-deny"]
    violations = RULE.check(resources, settings(RULE))
    assert len(violations) == 1 and violations[0][0].endswith("::primary-ns-serving")


def test_bad_02_same_namespace_on_the_other_cluster_does_not_count(stack_resources, settings):
    """Both sites' objects in one list, as a stack of two clusters would hold them."""
    standby = [r for r in stack_resources("prod-standby") if r.name != "standby-serving-default-deny"]
    resources = stack_resources() + standby
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [
        next(r.urn for r in standby if r.name == "standby-ns-serving")]


def test_bad_03_policy_with_rules_is_not_default_deny(stack_resources, settings):
    resources = stack_resources()
    deny = next(r for r in resources if r.name == "primary-monitoring-default-deny")
    deny.props["spec"]["ingress"] = [{}]
    assert len(RULE.check(resources, settings(RULE))) == 1


def test_no_namespace_is_exempt(settings):
    assert settings(RULE)["networkPolicyExemptNamespaces"] == {}


def test_bad_04_add_on_namespaces_deny_by_default_too(stack_resources, settings):
    for deny in ("primary-gpu-operator-default-deny", "primary-keda-default-deny", "gateway-controller-network-default-deny"):
        resources = [r for r in stack_resources() if r.name != deny]
        assert len(RULE.check(resources, settings(RULE))) == 1, deny
