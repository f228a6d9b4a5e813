from hipaa.backup_coverage import RULE, interval_minutes


def test_good_01_prod_and_dev(stack_resources, settings):
    assert RULE.check(stack_resources("prod"), settings(RULE)) == []
    assert RULE.check(stack_resources("dev"), settings(RULE, "dev")) == [], "no DR promised in dev"


def test_interval_parsing():
    assert [interval_minutes(c) for c in ("*/30 * * * *", "0 * * * *", "0 */6 * * *", "0 3 * * 1")] == [30, 60, 360, None]


def test_bad_01_schedule_slower_than_the_rpo(stack_resources, settings):
    resources = stack_resources()
    frequent = next(r for r in resources if r.name == "dr-velero-primary-schedule-platform-frequent")
    frequent.props["spec"]["schedule"] = "0 */2 * * *"
    messages = [m for _, m in RULE.check(resources, settings(RULE))]
    assert any("'llm-serving'" in m for m in messages) and any("'monitoring'" in m for m in messages)


def test_bad_02_owner_references(stack_resources, settings):
    resources = stack_resources()
    frequent = next(r for r in resources if r.name == "dr-velero-primary-schedule-platform-frequent")
    frequent.props["spec"]["useOwnerReferencesInBackup"] = True
    assert any("useOwnerReferencesInBackup" in m for _, m in RULE.check(resources, settings(RULE)))


def test_bad_03_no_location(stack_resources, settings):
    resources = [r for r in stack_resources() if not r.type.endswith("BackupStorageLocation")]
    assert any("no Velero BackupStorageLocation" in m for _, m in RULE.check(resources, settings(RULE)))
