import pytest
from hipaa.gateway_access_log import RULE


def _fields(proxy):
    return proxy.props["spec"]["telemetry"]["accessLog"]["settings"][0]["format"]["json"]


def test_good_01_rendered_proxy_config(resource, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(resource("gateway-proxy-config", stack), settings(RULE, stack)) == []


def test_good_02_a_text_format_with_the_fields():
    from hipaa._rule import Resource

    proxy = Resource("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "p", "urn:p", {
        "metadata": {"name": "p"}, "spec": {"telemetry": {"accessLog": {"settings": [{"format": {
            "type": "Text", "text": "%DOWNSTREAM_REMOTE_ADDRESS% %REQ(USER-AGENT)% %PATH(NQ:ORIG_OR_PATH)%\n"}}]}}}})
    assert RULE.check(proxy, {}) == []


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("auth", "%REQ(AUTHORIZATION)%", "records a credential header"),
    ("auth", "%REQ(authorization):20%", "records a credential header"),
    ("cookie", "%REQ(COOKIE)%", "records a credential header"),
    ("path", "%REQ(:PATH)%", "path with its query string"),
])
def test_bad_01_credentials_or_queries_in_the_log(resource, settings, field, value, expected):
    proxy = resource("gateway-proxy-config")
    _fields(proxy)[field] = value
    assert any(expected in m for m in RULE.check(proxy, settings(RULE)))


def test_bad_02_no_client_address_or_user_agent(resource, settings):
    proxy = resource("gateway-proxy-config")
    del _fields(proxy)["client_address"], _fields(proxy)["user_agent"]
    messages = RULE.check(proxy, settings(RULE))
    assert any("no client address" in m for m in messages) and any("no user agent" in m for m in messages)


def test_bad_03_no_access_log(resource, settings):
    proxy = resource("gateway-proxy-config")
    del proxy.props["spec"]["telemetry"]
    assert "keeps no record" in RULE.check(proxy, settings(RULE))[0]
