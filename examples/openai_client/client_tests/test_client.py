"""The example client, with the real openai SDK, against a stand-in answering as the gateway is configured to."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import openai
import pytest

from components.config import SECRET_KEYS, parse_config
from components.resources.gateway import RoutedModel, gateway_models
from offline.run import stack_config

from .standin import Gateway, serve

EXAMPLE = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("openai_example_client", EXAMPLE / "client.py")
client = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = client
_spec.loader.exec_module(client)

TOKENS = {"token-ana": ("ana", "clinical-informatics"), "token-rui": ("rui", "radiology"),
          "token-eva": ("eva", "oncology")}


@pytest.fixture
def gateway():
    cfg = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])
    routed = tuple(RoutedModel(key, f"{key}-api", 8000, "unused", m.served_model_name) for key, m in cfg.models.items())
    standin = Gateway(gateway_models(cfg.gateway, routed, cfg.tanzu.serving_namespace), TOKENS,
                      budget_per_user_and_model=20)
    server, base_url = serve(standin)
    yield standin, base_url
    server.shutdown()


def _llm(base_url, token):
    outputs = {"contractVersion": "2.0.0", "gatewayBaseUrl": base_url}
    return client.client(client.base_url_from_outputs(outputs), token, timeout=10)


def test_models_lists_only_what_the_callers_group_may_use(gateway):
    standin, base_url = gateway
    assert client.allowed_models(_llm(base_url, "token-ana")) == ["llama-2-7b-chat", "mistral-7b-instruct"]
    assert client.allowed_models(_llm(base_url, "token-rui")) == ["llama-2-7b-chat"]
    assert client.allowed_models(_llm(base_url, "token-eva")) == []
    assert {(r["method"], r["path"], r["query"]) for r in standin.requests} == {("GET", "/v1/models", "")}


def test_a_chat_completion_reaches_the_one_endpoint_with_the_callers_token(gateway):
    standin, base_url = gateway
    answer = client.ask(_llm(base_url, "token-rui"), "llama-2-7b-chat", "Summarise the discharge letter", max_tokens=8)
    assert answer.text == "stand-in answer" and answer.prompt_tokens == 4 and answer.completion_tokens == 8
    (request,) = standin.requests
    assert request["method"] == "POST" and request["path"] == "/v1/chat/completions" and request["query"] == ""
    assert request["authorization"] == "Bearer token-rui"
    assert request["body"]["model"] == "llama-2-7b-chat"


def test_a_token_is_read_fresh_for_every_request(gateway, tmp_path):
    _, base_url = gateway
    token = tmp_path / "token"
    token.write_text("token-eva\n")
    llm = _llm(base_url, client.token_from_file(token))
    assert client.allowed_models(llm) == []
    token.write_text("token-ana\n")
    assert client.allowed_models(llm) == ["llama-2-7b-chat", "mistral-7b-instruct"]


def test_a_forbidden_model_is_a_permission_error(gateway):
    _, base_url = gateway
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.ask(_llm(base_url, "token-rui"), "mistral-7b-instruct", "hello")
    assert caught.value.status_code == 403
    assert caught.value.body["code"] == "model_not_permitted"
    assert "not allowed to use this model" in client.explain(caught.value)


def test_an_unknown_model_is_not_found(gateway):
    _, base_url = gateway
    with pytest.raises(openai.NotFoundError) as caught:
        client.ask(_llm(base_url, "token-ana"), "gpt-4o", "hello")
    assert caught.value.body["code"] == "model_not_found"


def test_a_spent_token_budget_is_a_rate_limit_error_after_the_request_that_spent_it(gateway):
    standin, base_url = gateway
    llm = _llm(base_url, "token-ana")
    first = client.ask(llm, "llama-2-7b-chat", "one two three four five six", max_tokens=16)
    assert first.prompt_tokens + first.completion_tokens == 22, "admitted, and charged when it completes"
    with pytest.raises(openai.RateLimitError) as caught:
        client.ask(llm, "llama-2-7b-chat", "again")
    assert caught.value.body["code"] == "rate_limit_exceeded"
    assert client.ask(llm, "mistral-7b-instruct", "another model has its own budget", max_tokens=1).text
    assert len(standin.requests) == 3, "no automatic retries"


def test_a_missing_or_wrong_token_is_an_authentication_error(gateway):
    _, base_url = gateway
    with pytest.raises(openai.AuthenticationError) as caught:
        client.allowed_models(_llm(base_url, "not-a-token"))
    assert caught.value.body["code"] == "invalid_api_key"


def test_a_contract_this_client_does_not_know_is_refused():
    with pytest.raises(ValueError, match="is not major 2"):
        client.base_url_from_outputs({"contractVersion": "1.2.0", "gatewayBaseUrl": "https://x/v1"})


def test_the_command_line_lists_and_asks(gateway, tmp_path, capsys):
    import json

    _, base_url = gateway
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"contractVersion": "2.0.0", "gatewayBaseUrl": base_url}))
    token = tmp_path / "token"
    token.write_text("token-rui")
    assert client.main(["--outputs", str(outputs), "--token-file", str(token), "--list"]) == 0
    assert capsys.readouterr().out.split() == ["llama-2-7b-chat"]
    assert client.main(["--outputs", str(outputs), "--token-file", str(token), "--model", "mistral-7b-instruct",
                        "hello"]) == 1
    assert "403: You are not allowed" in capsys.readouterr().err
