from hipaa.stateful_protected import RULE


def test_good_01_protected_claim_location_and_retaining_statefulset(resource, settings):
    for name, stack in (("llama-2-7b-chat-weights", "prod"), ("dr-velero-primary-location", "prod"),
                        ("llama-2-7b-chat-server", "dev")):
        assert RULE.check(resource(name, stack), settings(RULE, stack)) == [], name


def test_bad_01_unprotected_claim(resource, settings):
    claim = resource("llama-2-7b-chat-weights")
    claim = type(claim)(claim.type, claim.name, claim.urn, claim.props, protect=False)
    assert "protect=True" in RULE.check(claim, settings(RULE))[0]


def test_bad_02_statefulset_deleting_its_volumes(resource, settings):
    workload = resource("llama-2-7b-chat-server", "dev")
    workload.props["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] = "Delete"
    assert RULE.check(workload, settings(RULE, "dev"))
