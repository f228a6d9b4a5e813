import pytest
from hipaa._rule import Resource
from hipaa.configmap_no_credentials import RULE


def _config_map(data):
    return Resource("kubernetes:core/v1:ConfigMap", "cm", "urn:cm", {"metadata": {"name": "cm"}, "data": data})


def test_good_01_every_rendered_config_map(stack_resources, settings):
    for stack in ("dev", "prod"):
        config_maps = [r for r in stack_resources(stack) if r.type == "kubernetes:core/v1:ConfigMap"]
        assert config_maps
        assert [m for r in config_maps for m in RULE.check(r, settings(RULE, stack))] == []


@pytest.mark.parametrize("data", [
    {"signing-key.pub": "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n"},
    {"fluent-bit.conf": "[OUTPUT]\n    tls.verify On\n    shared_credentials_file /var/run/secrets/s3/credentials\n"},
    {"app.ini": "password_file = /etc/app/password\napi_key = ${API_KEY}\n"},
    {"tokenSecretName": ""},
])
def test_good_02_references_and_public_keys(data):
    assert RULE.check(_config_map(data), {}) == []


@pytest.mark.parametrize(("data", "expected"), [
    ({"password": "hunter2hunter2"}, "data.password is named like a credential"),
    ({"key.pem": "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n"}, "holds a PEM private key"),
    ({"key.pem": "-----BEGIN EC PRIVATE KEY-----\nMC4C\n"}, "holds a PEM private key"),
    ({"credentials": ""}, None),
    ({"s3.ini": "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"}, "assigns a literal secret_access_key"),
    ({"config.yaml": "smtp:\n  password: \"correct-horse-battery\"\n"}, "assigns a literal password"),
    ({"env": "OPENAI_API_KEY=sk-0123456789abcdef\n"}, "assigns a literal api_key"),
])
def test_bad_01_credentials_in_data(data, expected):
    messages = RULE.check(_config_map(data), {})
    if expected is None:
        assert messages == []  # an empty value holds nothing
    else:
        assert any(expected in m for m in messages), messages


def test_bad_02_a_rendered_config_map_given_a_key(resource, settings):
    config_map = resource("audit-retention", type_suffix=":ConfigMap")
    config_map.props["data"]["accessToken"] = "abcdefgh12345678"
    assert RULE.check(config_map, settings(RULE)) == [
        "ConfigMap audit-retention: data.accessToken is named like a credential; ConfigMaps are readable by every "
        "reader role: put it in a Secret and mount it"]
