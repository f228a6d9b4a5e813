"""Call the platform's models through its one OpenAI endpoint with the official openai SDK.

    pulumi stack output --json --stack organization/onprem-llm/prod > outputs.json
    LLM_TOKEN_FILE=/var/run/secrets/idp/token python client.py --outputs outputs.json --model llama-2-7b-chat "Summarise ..."

The base URL is the platform's `gatewayBaseUrl` output (contract major 2): one URL for every model,
the body's `model` picks it. The bearer token is the caller's own, from the site's identity
provider (`oidc` output: issuer and audience); it is read from a file on every request, because
IdP tokens expire and whatever renews them rewrites the file. There is no shared API key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openai
from openai import OpenAI

SUPPORTED_CONTRACT_MAJOR = "2"


def base_url_from_outputs(outputs: dict) -> str:
    """The gateway's OpenAI base URL from the platform's stack outputs, refusing a contract this client does not know."""
    version = str(outputs.get("contractVersion", ""))
    if version.split(".")[0] != SUPPORTED_CONTRACT_MAJOR:
        raise ValueError(f"platform contract {version or 'unknown'} is not major {SUPPORTED_CONTRACT_MAJOR}; "
                         "update this client")
    return outputs["gatewayBaseUrl"]


def token_from_file(path: str | os.PathLike) -> Callable[[], str]:
    """A token provider the SDK calls before each request: the file's current content."""
    token_path = Path(path)
    return lambda: token_path.read_text().strip()


def client(base_url: str, token: str | Callable[[], str], timeout: float = 300.0) -> OpenAI:
    # No automatic retries: a 429 means a token budget is spent, and retrying at once only spends requests.
    return OpenAI(base_url=base_url, api_key=token, max_retries=0, timeout=timeout)


def allowed_models(llm: OpenAI) -> list[str]:
    """The models the caller's group may use (the gateway answers GET /v1/models per group)."""
    return sorted(model.id for model in llm.models.list())


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int


def ask(llm: OpenAI, model: str, question: str, max_tokens: int = 512) -> Answer:
    completion = llm.chat.completions.create(
        model=model, max_tokens=max_tokens, messages=[{"role": "user", "content": question}])
    usage = completion.usage
    return Answer(completion.choices[0].message.content or "", usage.prompt_tokens if usage else 0,
                  usage.completion_tokens if usage else 0)


def explain(error: openai.APIStatusError) -> str:
    """What the gateway's OpenAI-style error means for the person running this."""
    body = error.body.get("error", error.body) if isinstance(error.body, dict) else {}
    message = body.get("message") if isinstance(body, dict) else None
    hints = {
        openai.AuthenticationError: "get a fresh token from the identity provider",
        openai.PermissionDeniedError: "your group may not use this model or endpoint; ask the platform team",
        openai.NotFoundError: "no such model; list the ones you may use with --list",
        openai.RateLimitError: "your or your group's token budget is spent; wait for the window to reset",
    }
    hint = next((h for kind, h in hints.items() if isinstance(error, kind)), "see the gateway's answer")
    return f"{error.status_code}: {message or error.message} ({hint})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outputs", required=True, help="`pulumi stack output --json` of the platform stack")
    parser.add_argument("--token-file", default=os.environ.get("LLM_TOKEN_FILE"), help="file holding your IdP token")
    parser.add_argument("--model")
    parser.add_argument("--list", action="store_true", help="list the models you may use")
    parser.add_argument("question", nargs="?")
    args = parser.parse_args(argv)
    if not args.token_file:
        parser.error("--token-file (or LLM_TOKEN_FILE) is required")
    llm = client(base_url_from_outputs(json.loads(Path(args.outputs).read_text())), token_from_file(args.token_file))
    try:
        if args.list or not args.question:
            print("\n".join(allowed_models(llm)))
            return 0
        answer = ask(llm, args.model, args.question)
    except openai.APIStatusError as error:
        print(explain(error), file=sys.stderr)
        return 1
    print(answer.text)
    print(f"[{answer.prompt_tokens} prompt + {answer.completion_tokens} completion tokens]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
