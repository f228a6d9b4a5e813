from hipaa.vllm_hardening import RULE


def _vllm(resource):
    return resource.props["spec"]["template"]["spec"]["containers"][0]


def test_good_01_rendered_server(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []
    assert RULE.check(resource("llama-2-7b-chat-server", "dev"), settings(RULE, "dev")) == []


def test_bad_01_usage_stats_on(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    _vllm(workload)["env"] = [e for e in _vllm(workload)["env"] if e["name"] != "VLLM_NO_USAGE_STATS"]
    assert "VLLM_NO_USAGE_STATS" in RULE.check(workload, settings(RULE))[0]


def test_bad_02_dev_mode(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    _vllm(workload)["env"].append({"name": "VLLM_SERVER_DEV_MODE", "value": "1"})
    assert any("DEV_MODE" in m for m in RULE.check(workload, settings(RULE)))


def test_bad_03_service_links_and_ready_probe(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    workload.props["spec"]["template"]["spec"]["enableServiceLinks"] = True
    _vllm(workload)["readinessProbe"]["httpGet"]["path"] = "/ready"
    messages = RULE.check(workload, settings(RULE))
    assert any("enableServiceLinks" in m for m in messages) and any("readinessProbe" in m for m in messages)
