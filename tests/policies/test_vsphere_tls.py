from hipaa.vsphere_tls import RULE


def test_good_01_verified_provider(resource, settings):
    assert RULE.check(resource("primary-vsphere"), settings(RULE)) == []


def test_bad_01_unverified_provider(resource, settings):
    provider = resource("primary-vsphere")
    provider.props["allowUnverifiedSsl"] = "true"
    assert "allowUnverifiedSsl must be false" in RULE.check(provider, settings(RULE))[0]
    assert RULE.check(provider, {**settings(RULE), "allowUnverifiedSsl": True}) == []


def test_good_02_aria_provider_and_cloud_account(resource, settings):
    assert RULE.check(resource("aria-vra"), settings(RULE)) == []
    assert RULE.check(resource("aria-vsphere"), settings(RULE)) == []


def test_bad_02_insecure_aria_provider_and_self_signed_account(resource, settings):
    provider = resource("aria-vra")
    provider.props["insecure"] = "true"
    assert "insecure must be false" in RULE.check(provider, settings(RULE))[0]
    account = resource("aria-vsphere")
    account.props["acceptSelfSignedCert"] = True
    assert "acceptSelfSignedCert" in RULE.check(account, settings(RULE))[0]
