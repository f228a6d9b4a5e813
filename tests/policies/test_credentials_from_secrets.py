from hipaa.credentials_from_secrets import RULE


def _env(resource):
    return resource.props["spec"]["template"]["spec"]["containers"][0]["env"]


def test_good_01_api_key_and_hf_token_from_secrets(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []
    assert RULE.check(resource("llama-2-7b-chat-download"), settings(RULE)) == []


def test_bad_01_literal_api_key(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    _env(workload)[0] = {"name": "VLLM_API_KEY", "value": "sk-plain"}
    assert "literal value" in RULE.check(workload, settings(RULE))[0]


def test_bad_02_api_key_flag(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    workload.props["spec"]["template"]["spec"]["containers"][0]["args"] += ["--api-key=sk-plain"]
    assert "--api-key" in RULE.check(workload, settings(RULE))[0]
