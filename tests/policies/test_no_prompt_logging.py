import pytest
from hipaa.no_prompt_logging import RULE


def test_good_01_rendered_model_servers(resource, settings):
    for name, stack in (("llama-2-7b-chat-server", "prod"), ("mistral-7b-instruct-server", "prod-standby"),
                        ("llama-2-7b-chat-server", "dev")):
        assert RULE.check(resource(name, stack), settings(RULE, stack)) == [], name


def _args(workload):
    return workload.props["spec"]["template"]["spec"]["containers"][0]["args"]


@pytest.mark.parametrize("flag", ["--enable-log-requests", "--enable-log-outputs", "--enable_log_requests",
                                  "--enable-log-outputs=true", "--enable-log-req"])
def test_bad_01_logging_flags_in_any_spelling(resource, settings, flag):
    workload = resource("llama-2-7b-chat-server")
    _args(workload).append(flag)
    assert len(RULE.check(workload, settings(RULE))) == 1


def test_bad_02_uvicorn_trace_and_response_debug(resource, settings):
    workload = resource("mistral-7b-instruct-server", "prod-standby")
    _args(workload).extend(["--uvicorn-log-level", "trace"])
    workload.props["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "VLLM_DEBUG_LOG_API_SERVER_RESPONSE", "value": "true"})
    assert len(RULE.check(workload, settings(RULE))) == 2


def test_good_02_other_log_levels(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    _args(workload).append("--uvicorn-log-level=info")
    assert RULE.check(workload, settings(RULE)) == []
