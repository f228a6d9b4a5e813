from hipaa.pod_security_restricted import RULE


def _vllm(resource):
    return resource.props["spec"]["template"]["spec"]["containers"][0]


def test_good_01_rendered_deployment_passes(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []


def test_good_02_rendered_statefulset_with_init_container_passes(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server", "dev"), settings(RULE, "dev")) == []


def test_bad_01_privileged_container(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    _vllm(workload)["securityContext"]["privileged"] = True
    assert any("privileged must be false" in m for m in RULE.check(workload, settings(RULE)))


def test_bad_02_privilege_escalation_unset(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    del _vllm(workload)["securityContext"]["allowPrivilegeEscalation"]
    assert any("allowPrivilegeEscalation must be set to false" in m for m in RULE.check(workload, settings(RULE)))


def test_bad_03_one_of_many_containers_adds_a_capability(resource, settings):
    workload = resource("llama-2-7b-chat-server", "dev")
    workload.props["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN"]
    assert any(m.startswith("initContainers[0]") for m in RULE.check(workload, settings(RULE, "dev")))


def test_bad_04_host_path_volume_and_host_network(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    pod = workload.props["spec"]["template"]["spec"]
    pod["hostNetwork"] = True
    pod["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    messages = RULE.check(workload, settings(RULE))
    assert any("hostNetwork" in m for m in messages) and any("hostPath" in m for m in messages)


def test_bad_05_root_and_unconfined(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    pod = workload.props["spec"]["template"]["spec"]
    pod["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    _vllm(workload)["securityContext"].update(runAsUser=0, seccompProfile={"type": "Unconfined"})
    messages = RULE.check(workload, settings(RULE))
    assert any("runAsUser must not be 0" in m for m in messages) and any("seccompProfile" in m for m in messages)


def test_bad_06_bare_pod_form(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    pod = {"type": "kubernetes:core/v1:Pod", "spec": workload.props["spec"]["template"]["spec"]}
    pod["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] = []
    bare = type(workload)("kubernetes:core/v1:Pod", "bare", "urn:bare", {"metadata": {"namespace": "llm-serving"},
                                                                         "spec": pod["spec"]})
    assert any("drop must contain ALL" in m for m in RULE.check(bare, settings(RULE)))


def test_exempt_namespace_is_skipped(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    workload.props["metadata"]["namespace"] = "gpu-operator"
    _vllm(workload)["securityContext"]["privileged"] = True
    assert RULE.check(workload, settings(RULE)) == []


def _in_baseline_namespace(workload):
    workload.props["metadata"]["namespace"] = "velero"
    return workload


def test_good_03_root_pod_in_a_listed_baseline_namespace(resource, settings):
    """Velero's data mover pods run as root: baseline admits them where it is the listed level."""
    workload = _in_baseline_namespace(resource("llama-2-7b-chat-server"))
    _vllm(workload)["securityContext"].update(runAsUser=0, runAsNonRoot=False)
    workload.props["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
    assert RULE.check(workload, settings(RULE)) == []
    assert RULE.check(workload, {**settings(RULE), "baselineNamespaces": {}}) != [], "restricted rejects the same pod"


def test_bad_07_host_path_in_a_baseline_namespace(resource, settings):
    workload = _in_baseline_namespace(resource("llama-2-7b-chat-server"))
    workload.props["spec"]["template"]["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/var/lib"}})
    assert any("must not be a hostPath" in m for m in RULE.check(workload, settings(RULE)))


def test_bad_08_privileged_or_extra_capability_in_a_baseline_namespace(resource, settings):
    workload = _in_baseline_namespace(resource("llama-2-7b-chat-server"))
    _vllm(workload)["securityContext"].update(privileged=True, capabilities={"add": ["NET_ADMIN"]})
    messages = RULE.check(workload, settings(RULE))
    assert any("privileged must be false" in m for m in messages) and any("NET_ADMIN" in m for m in messages)
