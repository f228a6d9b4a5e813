from hipaa.namespace_pod_security import RULE


def test_good_01_restricted_workload_namespace(resource, settings):
    assert RULE.check(resource("primary-ns-serving"), settings(RULE)) == []


def test_good_02_listed_exception_with_reason(resource, settings):
    assert RULE.check(resource("primary-ns-gpu-operator"), settings(RULE)) == []


def test_bad_01_audit_label_missing(resource, settings):
    namespace = resource("primary-ns-serving")
    del namespace.props["metadata"]["labels"]["pod-security.kubernetes.io/audit"]
    assert "audit" in RULE.check(namespace, settings(RULE))[0]


def test_bad_02_privileged_namespace_not_on_the_list(resource, settings):
    namespace = resource("primary-ns-serving")
    namespace.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    assert "enforce" in RULE.check(namespace, settings(RULE))[0]


def test_bad_03_exception_without_reason(resource, settings):
    namespace = resource("primary-ns-gpu-operator")
    namespace.props["metadata"]["annotations"] = {}
    assert "annotate" in RULE.check(namespace, settings(RULE))[0]
