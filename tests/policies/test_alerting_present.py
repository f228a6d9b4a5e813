from hipaa.alerting_present import RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    assert RULE.check(stack_resources("prod"), settings(RULE)) == []
    assert RULE.check(stack_resources("dev"), settings(RULE, "dev")) == []


def test_bad_01_no_backup_alerts_with_dr(stack_resources, settings):
    resources = stack_resources()
    for resource in resources:
        if resource.type.endswith("PrometheusRule"):
            for group in resource.props["spec"]["groups"]:
                group["rules"] = [r for r in group["rules"] if not r.get("alert", "").startswith("Backup")]
    assert "BackupFailed" in RULE.check(resources, settings(RULE))[0][1]


def test_bad_02_no_rules_at_all(stack_resources, settings):
    resources = [r for r in stack_resources("dev") if not r.type.endswith("PrometheusRule")]
    assert RULE.check(resources, settings(RULE, "dev"))
