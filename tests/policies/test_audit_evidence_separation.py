from hipaa.audit_evidence_separation import RULE


def test_good_01_rendered_stacks(stack_resources, settings):
    for stack in ("dev", "prod"):
        assert RULE.check(stack_resources(stack), settings(RULE, stack)) == []


def test_bad_01_signing_key_beside_the_shipper(stack_resources, settings):
    resources = stack_resources()
    key = next(r for r in resources if r.name == "audit-signing-key" and r.type.endswith(":Secret"))
    key.props["metadata"]["namespace"] = "logging"
    urns = [urn for urn, _ in RULE.check(resources, settings(RULE))]
    assert key.urn in urns and len(urns) == 2  # misplaced, and the cluster's sealing namespace has no key


def test_bad_02_the_shipper_gets_the_sealing_identity(stack_resources, settings):
    resources = stack_resources()
    release = next(r for r in resources if r.name == "audit-fluent-bit")
    release.props["values"]["daemonSetVolumes"][-1]["secret"]["secretName"] = "audit-sealing-s3"
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [release.urn]


def test_bad_03_a_workload_elsewhere_mounts_the_key(stack_resources, settings):
    resources = stack_resources()
    server = next(r for r in resources if r.name == "mistral-7b-instruct-server")
    server.props["spec"]["template"]["spec"]["volumes"].append({"name": "k", "secret": {"secretName": "audit-signing-key"}})
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [server.urn]


def test_bad_04_sealing_namespace_relaxed(stack_resources, settings):
    resources = stack_resources()
    ns = next(r for r in resources if r.name == "audit-sealing-ns")
    ns.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    assert [urn for urn, _ in RULE.check(resources, settings(RULE))] == [ns.urn]


def test_bad_05_no_signing_key_at_all(stack_resources, settings):
    resources = [r for r in stack_resources() if not (r.name == "audit-signing-key" and r.type.endswith(":Secret"))]
    assert RULE.check(resources, settings(RULE))
