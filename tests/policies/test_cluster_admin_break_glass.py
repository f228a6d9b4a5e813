from hipaa.cluster_admin_break_glass import RULE


def test_good_01_break_glass_and_other_bindings(resource, settings):
    for name in ("access-break-glass", "access-auditors", "access-operators-llm-serving"):
        assert RULE.check(resource(name), settings(RULE)) == [], name


def test_bad_01_cluster_admin_for_operators(resource, settings):
    binding = resource("access-auditors")
    binding.props["roleRef"]["name"] = "cluster-admin"
    assert "only the break-glass group" in RULE.check(binding, settings(RULE))[0]


def test_bad_02_one_of_many_subjects_is_a_user(resource, settings):
    binding = resource("access-break-glass")
    binding.props["subjects"].append({"kind": "User", "name": "alice@hospital.example"})
    assert len(RULE.check(binding, settings(RULE))) == 1
