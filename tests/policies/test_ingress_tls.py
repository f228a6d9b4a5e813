from hipaa._rule import Resource
from hipaa.ingress_tls import INGRESS, RULE


def _ingress(spec):
    return Resource(INGRESS, "ing", "urn:ing", {"metadata": {"name": "ing", "namespace": "llm-serving"}, "spec": spec})


RULE_HOST = {"host": "llm.hospital.example", "http": {"paths": []}}


def test_good_01_host_covered_by_tls():
    spec = {"rules": [RULE_HOST], "tls": [{"hosts": ["llm.hospital.example"], "secretName": "llm-tls"}]}
    assert RULE.check(_ingress(spec), {}) == []


def test_bad_01_no_tls():
    assert "no spec.tls" in RULE.check(_ingress({"rules": [RULE_HOST]}), {})[0]


def test_bad_02_tls_without_certificate():
    spec = {"rules": [RULE_HOST], "tls": [{"hosts": ["llm.hospital.example"]}]}
    assert RULE.check(_ingress(spec), {})
