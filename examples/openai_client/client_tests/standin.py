"""A local stand-in that answers as the platform's gateway is configured to answer.

It takes its answers from the platform's own builders and stack config: the per-group `GET
/v1/models` bodies (`models_list_body`, the bodies the gateway's HTTPRouteFilters return), the
OpenAI-style error bodies of Envoy's local replies (`error_body`), and which group may use which
model on which path (`gateway_models`, what the SecurityPolicy's rules are built from). It charges
each completion's `usage.total_tokens` to the caller and model after answering, as the gateway's
rate limit does, and refuses the next request once the budget is spent.

It is plain HTTP on 127.0.0.1, checks bearer tokens against a fixed table instead of an IdP, and
implements none of Envoy, the AI gateway, RBAC, CEL or Redis: see the README for what that means.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from components.builders import ai_gateway as ai
from components.builders.ai_gateway import GatewayModel


@dataclass
class Gateway:
    models: list[GatewayModel]
    tokens: dict[str, tuple[str, str]]
    """Bearer token -> (user, group), what the IdP's token would carry."""
    budget_per_user_and_model: int
    used: dict[tuple[str, str], int] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    """What arrived: method, path, query, Authorization header and body, for the tests to inspect."""

    def answer(self, method: str, target: str, authorization: str | None, body: bytes) -> tuple[int, str]:
        url = urlsplit(target)
        request = json.loads(body) if body else None
        self.requests.append({"method": method, "path": url.path, "query": url.query,
                              "authorization": authorization, "body": request})
        token = authorization.removeprefix("Bearer ") if authorization and authorization.startswith("Bearer ") else None
        if token not in self.tokens:
            return 401, ai.error_body(401)
        user, group = self.tokens[token]
        if url.query:
            return 403, ai.error_body(403)
        if method == "GET" and url.path == ai.MODELS_PATH:
            return 200, ai.models_list_body(self.models, group)
        model = next((m for m in self.models if request and m.served_model_name == request.get("model")), None)
        if method != "POST" or url.path not in {p for m in self.models for p in m.paths}:
            return 403, ai.error_body(403)
        if model is None:
            return 404, ai.error_body(404)
        if group not in model.groups or url.path not in model.paths:
            return 403, ai.error_body(403)
        if self.used.get((user, model.key), 0) >= self.budget_per_user_and_model:
            return 429, ai.error_body(429)
        prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
        completion = min(int(request.get("max_tokens") or 16), 16)
        self.used[(user, model.key)] = self.used.get((user, model.key), 0) + prompt + completion
        return 200, json.dumps({
            "id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": model.served_model_name,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "stand-in answer"}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        })


def serve(gateway: Gateway) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, text = gateway.answer(self.command, self.path, self.headers.get("authorization"), body)
            data = text.encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the serving loop's next poll: a short interval keeps each test's teardown short.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
