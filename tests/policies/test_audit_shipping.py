from hipaa.audit_shipping import RULE


def test_good_01_prod_ships_and_locks(stack_resources, settings):
    assert RULE.check(stack_resources("prod"), settings(RULE)) == []
    assert RULE.check(stack_resources("dev"), settings(RULE, "dev")) == [], "not required outside production"


def test_bad_01_no_shipper(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "audit-fluent-bit"]
    violations = RULE.check(resources, settings(RULE))
    assert len(violations) == 1 and "no log shipper" in violations[0][1]
    assert "primary-workload" in next(r.provider for r in resources if r.urn == violations[0][0])


def test_bad_01b_each_cluster_of_a_stack_ships_its_own(stack_resources, settings):
    """A stack of two clusters (both sites' objects together): the standby's shipper does not cover the primary."""
    standby = [r for r in stack_resources("prod-standby") if r.name not in ("audit-fluent-bit", "audit-retention")]
    resources = stack_resources() + standby
    violations = RULE.check(resources, settings(RULE))
    assert len(violations) == 2 and all("standby-workload" in next(
        r.provider for r in resources if r.urn == urn) for urn, _ in violations)


def test_bad_02_short_or_weak_retention(stack_resources, settings):
    resources = stack_resources()
    retention = next(r for r in resources if r.name == "audit-retention")
    retention.props["data"].update(retentionDays="365", objectLockMode="GOVERNANCE")
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert any("below 2190" in m for m in messages) and any("COMPLIANCE" in m for m in messages)


def _shipper(resources):
    return next(r for r in resources if r.name == "audit-fluent-bit")


def test_bad_03_the_shipper_does_not_verify_the_store(stack_resources, settings):
    resources = stack_resources()
    values = _shipper(resources).props["values"]
    values["config"]["outputs"] = values["config"]["outputs"].replace("tls.verify On", "tls.verify Off")
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert "Release audit-fluent-bit: output s3-apiserver sets tls.verify Off: anyone on the path can pose as the " \
           "audit store" in messages
    assert any("s3-gateway sets tls.verify Off" in m for m in messages)


def test_bad_04_the_shipper_speaks_plain_http(stack_resources, settings):
    resources = stack_resources()
    values = _shipper(resources).props["values"]
    values["config"]["outputs"] = values["config"]["outputs"].replace("tls On", "tls Off").replace("https://", "http://")
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert any("does not set tls On" in m for m in messages) and any("is not https://" in m for m in messages)
