from hipaa.backup_encryption import RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod", "prod-standby"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_no_server_side_encryption(stack_resources, settings):
    resources = stack_resources("prod-standby")
    location = next(r for r in resources if r.name == "dr-velero-standby-location")
    del location.props["spec"]["config"]["serverSideEncryption"]
    assert [urn for urn, _ in RULE.check(resources, settings(RULE, "prod-standby"))] == [location.urn]


def test_bad_02_default_repository_password(stack_resources, settings):
    resources = [r for r in stack_resources() if r.name != "dr-velero-primary-repository"]
    (violation,) = RULE.check(resources, settings(RULE))
    assert "default password" in violation[1]


def test_bad_03_a_schedule_backs_up_secrets(stack_resources, settings):
    resources = stack_resources()
    schedule = next(r for r in resources if r.name == "dr-velero-primary-schedule-platform-daily")
    schedule.props["spec"]["template"]["excludedResources"] = []
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [schedule.urn]
