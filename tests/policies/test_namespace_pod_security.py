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


def test_good_03_listed_baseline_namespace_with_reason(resource, settings):
    assert RULE.check(resource("dr-velero-primary-ns"), settings(RULE)) == []


def test_bad_04_baseline_namespace_not_on_the_list(resource, settings):
    namespace = resource("dr-velero-primary-ns")
    config = {**settings(RULE), "baselineNamespaces": {}}
    assert "=restricted" in RULE.check(namespace, config)[0]


def test_bad_05_baseline_namespace_without_reason(resource, settings):
    namespace = resource("dr-velero-primary-ns")
    namespace.props["metadata"]["annotations"] = {}
    assert any("runs at baseline; annotate" in problem for problem in RULE.check(namespace, settings(RULE)))


def test_bad_06_listed_baseline_namespace_labelled_privileged(resource, settings):
    namespace = resource("dr-velero-primary-ns")
    namespace.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    assert "=baseline" in RULE.check(namespace, settings(RULE))[0]
