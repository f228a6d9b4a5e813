from hipaa.container_resources import RULE


def _vllm(resource):
    return resource.props["spec"]["template"]["spec"]["containers"][0]


def test_good_01_vllm_and_download_job(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []
    assert RULE.check(resource("llama-2-7b-chat-download"), settings(RULE)) == []


def test_bad_01_memory_limit_missing(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    del _vllm(workload)["resources"]["limits"]["memory"]
    assert RULE.check(workload, settings(RULE)) == ["containers[0](vllm).resources.limits.memory must be set"]


def test_bad_02_gpu_node_pod_without_gpu(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    for kind in ("requests", "limits"):
        del _vllm(workload)["resources"][kind]["nvidia.com/gpu"]
    assert any("tolerates the GPU taint" in m for m in RULE.check(workload, settings(RULE)))


def test_bad_03_gpu_request_differs_from_limit(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    _vllm(workload)["resources"]["requests"]["nvidia.com/gpu"] = "2"
    assert any("must be equal" in m for m in RULE.check(workload, settings(RULE)))
