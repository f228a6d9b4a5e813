import pytest
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


@pytest.mark.parametrize("argument", ["--trust-remote-code", "--trust_remote_code", "--trust-remote-code=true",
                                      "--trust-rem"])
def test_bad_04_remote_code_from_the_model_repository(resource, settings, argument):
    workload = resource("llama-2-7b-chat-server")
    _vllm(workload).setdefault("args", []).append(argument)
    assert any(f"passes {argument}" in m for m in RULE.check(workload, settings(RULE)))


def test_bad_05_remote_code_in_a_shell_command_line():
    from hipaa.vllm_hardening import trusts_remote_code

    assert trusts_remote_code({"command": ["sh", "-c", "ray start --head && vllm serve /m --trust-remote-code"]})


@pytest.mark.parametrize("argument", ["--trust-request-chat-template", "--trust-remote-code=false", "--trust-re"])
def test_good_02_other_flags_and_an_explicit_false(resource, settings, argument):
    workload = resource("llama-2-7b-chat-server")
    _vllm(workload).setdefault("args", []).append(argument)
    assert not any("remote code" in m or "model repository" in m for m in RULE.check(workload, settings(RULE)))
