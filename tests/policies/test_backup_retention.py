from hipaa.backup_retention import RULE, ttl_hours


def test_good_01_rendered_schedules(resource, settings):
    assert RULE.check(resource("dr-velero-primary-schedule-platform-frequent"), settings(RULE)) == []


def test_ttl_parsing():
    assert ttl_hours("720h0m0s") == 720 and ttl_hours("90m") == 1.5 and ttl_hours("") is None


def test_bad_01_short_ttl(resource, settings):
    schedule = resource("dr-velero-primary-schedule-platform-frequent")
    schedule.props["spec"]["template"]["ttl"] = "24h0m0s"
    assert "less than the required 720 h" in RULE.check(schedule, settings(RULE))[0]
