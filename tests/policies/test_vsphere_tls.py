from hipaa.vsphere_tls import RULE


def test_good_01_verified_provider(resource, settings):
    assert RULE.check(resource("primary-vsphere"), settings(RULE)) == []


def test_bad_01_unverified_provider(resource, settings):
    provider = resource("primary-vsphere")
    provider.props["allowUnverifiedSsl"] = "true"
    assert "allowUnverifiedSsl must be false" in RULE.check(provider, settings(RULE))[0]
    assert RULE.check(provider, {**settings(RULE), "allowUnverifiedSsl": True}) == []
