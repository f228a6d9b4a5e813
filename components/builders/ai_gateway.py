"""What the gateway tells Envoy Gateway and Envoy AI Gateway: one OpenAI endpoint for every model.

Pure builders of the custom resources' specs and of the two charts' values, so ModelGateway reads
top-down and tests (and the policy pack's tests) can call them. How a request travels, filter by
filter, in the order Envoy Gateway v1.9 and the AI gateway v1.1 put them:

1. Early header mutation (ClientTrafficPolicy ``earlyRequestHeaders``), before any filter: every
   client-sent header the gateway itself sets or trusts is removed (``x-llm-*``, ``x-ai-eg-*``,
   ``x-envoy-*``), so nobody can put another person's identity into the access log or a rate limit.
2. JWT authentication (SecurityPolicy ``jwt``): a bearer token from the Authorization header only
   (no ``?access_token=`` query, no cookie), verified against the site's JWKS; its user, group and
   expiry claims are copied into ``x-llm-user``, ``x-llm-group`` and ``x-llm-token-expiry``.
3. The AI gateway's external processor reads the body's ``model`` into ``x-ai-eg-model``
   (it inserts itself before the RBAC and rate-limit filters).
4. Authorization (SecurityPolicy ``authorization``, Envoy's RBAC filter): default deny; allowed
   are exact OpenAI paths, by POST, for a model the caller's group may use, with no query string
   and a token that carries ``exp``; ``GET /v1/models``; and unknown models, which then get the
   route's 404.
5. Global rate limit (BackendTrafficPolicy, Redis-backed, shared by all replicas): requests per
   minute per user, token budgets per (user, model) and (group, model), monthly quotas per group;
   token costs are charged from the response's usage when it completes. Reservations per (user,
   model) are charged when the request arrives: the model's max_tokens ceiling, whatever it uses.
6. The AIGatewayRoute routes by ``x-ai-eg-model`` to each model's AIServiceBackend (an Envoy Gateway
   Backend naming the model's ``<key>-api`` Service), setting the body's ``n`` to 1; the
   BackendSecurityPolicy injects the vLLM API key from a Secret. Envoy-generated 401, 403, 404 and
   429 get OpenAI-style error bodies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pulumi_kubernetes as k8s

from components.builders.ai_gateway_rbac import CONTROLLER_ACCOUNT
from components.builders.gateway_pods import CONTROLLER_NAMESPACE
from components.config.model import OPENAI_ENDPOINTS, GatewayConfig, OidcConfig

JWT_PROVIDER = "site-idp"
USER_HEADER = "x-llm-user"
GROUP_HEADER = "x-llm-group"
EXPIRY_HEADER = "x-llm-token-expiry"
MODEL_HEADER = "x-ai-eg-model"
"""Set by the AI gateway's external processor from the body's `model`."""
STRIPPED_PREFIXES = ("x-llm-", "x-ai-eg-", "x-envoy-")
"""Client-sent headers with these prefixes are removed before any filter runs."""
STRIPPED_HEADERS = (USER_HEADER, GROUP_HEADER, EXPIRY_HEADER, MODEL_HEADER, "x-ai-eg-original-path",
                    "x-envoy-original-path", "x-gateway-destination-endpoint")
"""Removed by name as well, so the list is explicit where it matters most."""
MODELS_PATH = "/v1/models"
AI_METADATA_NAMESPACE = "io.envoy.ai_gateway"
"""Dynamic-metadata namespace the AI gateway records token costs under (fixed by the AI gateway)."""
TOKEN_KEYS = {"input": "llm_input_token", "output": "llm_output_token", "total": "llm_total_token"}
TOKEN_TYPES = {"input": "InputToken", "output": "OutputToken", "total": "TotalToken"}

AI_GATEWAY_NAMESPACE = "envoy-ai-gateway-system"
AI_CONTROLLER = "ai-gateway-controller"
"""The chart's controller.fullnameOverride: its Deployment, Service and ServiceAccount."""
EXTENSION_PORT = 1063
WEBHOOK_PORT = 9443
REDIS_NAMESPACE = "gateway-redis"
REDIS_NAME = "redis"
REDIS_PORT = 6379
REDIS_SELECTOR = {"app.kubernetes.io/name": REDIS_NAME}
"""Pod label of the rate-limit store, which the store's and the rate-limit service's policies select."""
REDIS_URL = f"{REDIS_NAME}.{REDIS_NAMESPACE}.svc.cluster.local:{REDIS_PORT}"
"""host:port, as Envoy Gateway's rateLimit.backend.redis.url takes it."""
ROUTE_NAME = "openai"
GATEWAY_CONFIG = "llm-gateway-extproc"
GATEWAY_CONFIG_ANNOTATION = "aigateway.envoyproxy.io/gateway-config"
HEADER_ATTRIBUTES = f"{USER_HEADER}:llm.user,{GROUP_HEADER}:llm.group"
"""Request headers the AI gateway adds to its token metrics as the Prometheus labels llm_user and llm_group."""

ERRORS: dict[int, dict[str, Any]] = {
    401: {"message": "Missing, invalid or expired bearer token. Send Authorization: Bearer <token from the site's "
                     "identity provider>.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"},
    403: {"message": "You are not allowed to use this model or endpoint: your group has no access to it, the "
                     "model does not serve this endpoint, or the request carried a query string or a token without "
                     "an expiry.", "type": "invalid_request_error", "param": "model", "code": "model_not_permitted"},
    404: {"message": "The model does not exist on this gateway. GET /v1/models lists the models you may use.",
          "type": "invalid_request_error", "param": "model", "code": "model_not_found"},
    429: {"message": "Token or request limit reached for you or your group on this model, or your group's monthly "
                     "quota is used up; retry after the window resets (X-RateLimit-Reset, in seconds).",
          "type": "tokens", "param": None, "code": "rate_limit_exceeded"},
}
"""OpenAI-style error objects for the responses Envoy itself generates; the body is {"error": <object>}."""


def error_body(status: int) -> str:
    return json.dumps({"error": ERRORS[status]}, separators=(",", ":"))


@dataclass(frozen=True)
class GatewayModel:
    """One model as the gateway routes it."""

    key: str
    served_model_name: str
    backend_service: str
    """The model's ClusterIP Service (`<key>-api`): Deployment, StatefulSet or LeaderWorkerSet leaders behind it."""
    backend_namespace: str
    port: int
    groups: tuple[str, ...]
    endpoints: tuple[str, ...]
    """Names of OPENAI_ENDPOINTS the model serves."""
    candidate_service: str | None = None
    """A canary's Service beside ``backend_service``, under the same served name; None: no canary."""
    candidate_weight: int = 0
    """Percent of the model's requests the canary receives."""
    max_tokens: int | None = None
    """The ceiling vLLM puts on each request's max_tokens (models.<key>.maxTokens), which a request reserves when it
    is admitted; None: a model the reservation rules cannot cover (refused when reservedPerUser has a window)."""

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(OPENAI_ENDPOINTS[e] for e in self.endpoints)


def gateway_ref(name: str) -> dict[str, str]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}


# -- 1. headers stripped -----------------------------------------------------------------------


def client_traffic_policy_spec(gateway: dict[str, str]) -> dict[str, Any]:
    return {
        "targetRefs": [gateway],
        "headers": {
            "earlyRequestHeaders": {
                "remove": list(STRIPPED_HEADERS),
                "removeOnMatch": [{"type": "Prefix", "value": prefix} for prefix in STRIPPED_PREFIXES],
            },
            # Headers with underscores could alias identity headers behind some proxies; refuse them.
            "withUnderscoresAction": "RejectRequest",
        },
    }


# -- 2. and 4. authentication and authorization -------------------------------------------------


JWKS_BACKEND = "idp-jwks"
"""The Backend through which the proxies fetch the IdP's signing keys when the site has its own CA."""


def jwks_backend_spec(oidc: OidcConfig, ca_config_map: str) -> dict[str, Any]:
    """The IdP's JWKS host as an Envoy Gateway Backend that verifies its certificate against the site's CA.

    Without it Envoy verifies the JWKS host against public CAs only, and a private IdP fails every fetch
    (envoyproxy/gateway#3536): every caller gets 401.
    """
    parts = urlsplit(oidc.jwks_uri)
    return {
        "endpoints": [{"fqdn": {"hostname": parts.hostname, "port": parts.port or 443}}],
        "tls": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": ca_config_map}], "sni": parts.hostname},
    }


def jwt_provider(oidc: OidcConfig, jwks_backend: str | None = None) -> dict[str, Any]:
    remote: dict[str, Any] = {"uri": oidc.jwks_uri}
    if jwks_backend:
        port = urlsplit(oidc.jwks_uri).port or 443
        remote["backendRefs"] = [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": jwks_backend, "port": port}]
    return {
        "name": JWT_PROVIDER,
        "issuer": oidc.issuer,
        "audiences": list(oidc.audiences),
        "remoteJWKS": remote,
        # Only the Authorization header: Envoy's default also reads ?access_token=, which would land in the
        # locked access log and travel upstream.
        "extractFrom": {"headers": [{"name": "Authorization", "valuePrefix": "Bearer "}]},
        "claimToHeaders": [
            {"claim": oidc.user_claim, "header": USER_HEADER},
            {"claim": oidc.group_claim, "header": GROUP_HEADER},
            {"claim": "exp", "header": EXPIRY_HEADER},
        ],
        # /v1/models is routed by the caller's group header, which exists only after this filter.
        "recomputeRoute": True,
    }


GUARD = f"request.query == '' && '{EXPIRY_HEADER}' in request.headers && '{USER_HEADER}' in request.headers"
"""Every allow rule also needs: no query string (no token or prompt in a URL), a token with `exp`, and one with the
user claim (per-user limits and attribution key on it: a token without it would share one anonymous bucket)."""


def _endpoint_of(path: str) -> str:
    return next(name for name, p in OPENAI_ENDPOINTS.items() if p == path)


def authorization_rules(oidc: OidcConfig, models: Sequence[GatewayModel]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{
        "name": "list-models", "action": "Allow",
        "operation": {"methods": ["GET"], "path": {"type": "Exact", "value": MODELS_PATH}}, "cel": GUARD,
    }]
    for model in models:
        for path in model.paths:
            rules.append({
                "name": f"{model.key}-{_endpoint_of(path)}", "action": "Allow",
                "operation": {"methods": ["POST"], "path": {"type": "Exact", "value": path}},
                "principal": {
                    "jwt": {"provider": JWT_PROVIDER, "claims": [
                        {"name": oidc.group_claim, "valueType": "String", "values": list(model.groups)}]},
                    "headers": [{"name": MODEL_HEADER, "values": [model.served_model_name]}],
                },
                "cel": GUARD,
            })
    served = json.dumps(sorted(m.served_model_name for m in models))
    for path in sorted({p for m in models for p in m.paths}):
        # A model nobody serves is let through to the route's own 404, so clients learn it does not exist.
        rules.append({
            "name": f"unknown-model-{_endpoint_of(path)}", "action": "Allow",
            "operation": {"methods": ["POST"], "path": {"type": "Exact", "value": path}},
            "cel": f"{GUARD} && !(request.headers['{MODEL_HEADER}'] in {served})",
        })
    return rules


def security_policy_spec(oidc: OidcConfig, models: Sequence[GatewayModel], gateway: dict[str, str],
                         jwks_backend: str | None = None) -> dict[str, Any]:
    return {
        "targetRefs": [gateway],
        "jwt": {"providers": [jwt_provider(oidc, jwks_backend)]},
        "authorization": {"defaultAction": "Deny", "rules": authorization_rules(oidc, models)},
    }


# -- 5. rate limits and error bodies ------------------------------------------------------------


def _distinct(*headers: str) -> list[dict[str, Any]]:
    return [{"headers": [{"name": h, "type": "Distinct"} for h in headers]}]


def _token_cost() -> dict[str, Any]:
    # Check the budget when the request arrives (cost 0), charge the tokens the response reports.
    return {"request": {"from": "Number", "number": 0},
            "response": {"from": "Metadata", "metadata": {"namespace": AI_METADATA_NAMESPACE, "key": TOKEN_KEYS["total"]}}}


def _reserved_cost(ceiling: int) -> dict[str, Any]:
    # Charged when the request arrives, never on the response: the pinned CRD's cost.request "tries to reduce the rate
    # limit counters by the specified number. If the counter doesn't have enough capacity, the request is rate
    # limited" (gateway-helm v1.9.0, BackendTrafficPolicy rateLimit.global.rules[].cost.request).
    return {"request": {"from": "Number", "number": ceiling}}


def reservation_rules(settings: GatewayConfig, models: Sequence[GatewayModel]) -> list[dict[str, Any]]:
    """Per (user, model) and window: each admitted request reserves the model's max_tokens ceiling.

    The AI gateway knows a request's tokens only from its response, and it can overwrite a body field but not read
    one into a rate-limit cost, so the reservation is the ceiling vLLM enforces, not the request's own max_tokens.
    Model by model in the models' order, its windows together: a model added at the end moves no other rule."""
    rules = []
    for model in models:
        if settings.token_limits.reserved_per_user and model.max_tokens is None:
            raise ValueError(f"model {model.key!r} has no max_tokens ceiling to reserve; set models.{model.key}.maxTokens")
        rules += [{
            "clientSelectors": [{"headers": [
                {"name": USER_HEADER, "type": "Distinct"},
                {"name": MODEL_HEADER, "type": "Exact", "value": model.served_model_name}]}],
            "limit": {"requests": window.tokens, "unit": window.per},
            "cost": _reserved_cost(model.max_tokens or 0),
            "shared": True,
        } for window in settings.token_limits.reserved_per_user]
    return rules


def rate_limit_rules(settings: GatewayConfig, models: Sequence[GatewayModel] = ()) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{
        "clientSelectors": _distinct(USER_HEADER),
        "limit": {"requests": settings.requests_per_minute_per_user, "unit": "Minute"},
        "shared": True,
    }]
    for header, windows in ((USER_HEADER, settings.token_limits.per_user), (GROUP_HEADER, settings.token_limits.per_group)):
        rules += [{
            "clientSelectors": _distinct(header, MODEL_HEADER),
            "limit": {"requests": window.tokens, "unit": window.per},
            "cost": _token_cost(),
            "shared": True,
        } for window in windows]
    rules += [{
        "clientSelectors": [{"headers": [{"name": GROUP_HEADER, "type": "Exact", "value": group}]}],
        "limit": {"requests": tokens, "unit": "Month"},
        "cost": _token_cost(),
        "shared": True,
    # In the quotas' configured order (a list keeps it): Envoy Gateway keys each rule's counters by its position in
    # this list, so a department added at the end moves no other department's month-to-date count.
    } for group, tokens in settings.monthly_token_quotas.items()]
    # Last: Envoy Gateway sends every rule's descriptor in one call, so where the reservations sit changes nothing of
    # what they enforce, and after the quotas they move none of the completion-charged counters. A department added
    # to the quotas moves them instead, which restarts at most one window of reservations.
    return rules + reservation_rules(settings, models)


def response_overrides() -> list[dict[str, Any]]:
    return [{
        "match": {"statusCodes": [{"type": "Value", "value": status}]},
        "source": "Local",
        "response": {"contentType": "application/json", "body": {"type": "Inline", "inline": error_body(status)}},
    } for status in sorted(ERRORS)]


def backend_traffic_policy_spec(settings: GatewayConfig, gateway: dict[str, str],
                                models: Sequence[GatewayModel] = ()) -> dict[str, Any]:
    return {
        "targetRefs": [gateway],
        "rateLimit": {"global": {"rules": rate_limit_rules(settings, models)}},
        "responseOverride": response_overrides(),
    }


# -- 6. the route and its backends ---------------------------------------------------------------


AI_ROUTE_RULES = 15
"""An AIGatewayRoute holds at most 15 rules (its CRD's maxItems): one per model, three with a candidate."""


def ai_routes(models: Sequence[GatewayModel], gateway: dict[str, str], timeout_seconds: int) -> dict[str, dict[str, Any]]:
    """Route name to spec: one AIGatewayRoute per AI_ROUTE_RULES rules, all on the one listener, a model's rules
    never split. The first keeps ROUTE_NAME, so a stack that grows past the limit adds routes and replaces none."""
    chunks: list[list[GatewayModel]] = [[]]
    for model in models:
        if chunks[-1] and sum(len(model_rules(m, timeout_seconds)) for m in chunks[-1]) + len(
                model_rules(model, timeout_seconds)) > AI_ROUTE_RULES:
            chunks.append([])
        chunks[-1].append(model)
    return {(ROUTE_NAME if index == 0 else f"{ROUTE_NAME}-{index}"): ai_route_spec(chunk, gateway, timeout_seconds)
            for index, chunk in enumerate(chunks)}


REVISION_HEADER = "x-onprem-llm-revision"
"""Pins a request to one revision of a model with a candidate (``current`` or ``candidate``): the evaluation Job
sends it to grade each revision on its own. A caller the model admits may send it too; it chooses a revision, never
a model the caller may not use."""


def model_rules(model: GatewayModel, timeout_seconds: int) -> list[dict[str, Any]]:
    """The model's rules: its weighted backends and, with a candidate, one pinned rule per revision (two header
    matches take precedence over one)."""
    def rule(name: str, backends: list[dict[str, Any]], revision: str | None = None) -> dict[str, Any]:
        headers = [{"type": "Exact", "name": MODEL_HEADER, "value": model.served_model_name}]
        if revision is not None:
            headers.append({"type": "Exact", "name": REVISION_HEADER, "value": revision})
        return {"name": name, "matches": [{"headers": headers}], "backendRefs": backends,
                "timeouts": {"request": f"{timeout_seconds}s"}}

    rules = [rule(model.key, backend_refs(model))]
    if model.candidate_service is not None:
        rules += [rule(f"{model.key}-pin-current", [one_choice({"name": model.key})], "current"),
                  rule(f"{model.key}-pin-candidate", [one_choice({"name": candidate_backend(model.key)})], "candidate")]
    return rules


ONE_CHOICE = {"set": [{"path": "n", "value": "1"}]}
"""The body's ``n`` overwritten with 1 before it reaches vLLM: each choice may generate up to max_tokens, so ``n``
choices would generate n times what the request reserved. The AI gateway v1.1 can only overwrite a top-level field
(its CRD's backendRefs[].bodyMutation.set), not cap or refuse one; an embedding request ignores the field."""


def one_choice(ref: dict[str, Any]) -> dict[str, Any]:
    return {**ref, "bodyMutation": ONE_CHOICE}


def ai_route_spec(models: Sequence[GatewayModel], gateway: dict[str, str], timeout_seconds: int) -> dict[str, Any]:
    return {
        "parentRefs": [{**gateway, "sectionName": "https"}],
        "rules": [r for model in models for r in model_rules(model, timeout_seconds)],
        "llmRequestCosts": [{"metadataKey": TOKEN_KEYS[kind], "type": TOKEN_TYPES[kind]} for kind in TOKEN_KEYS],
    }


def candidate_backend(model_key: str) -> str:
    """The name of a model's canary backend (and of its Backend, AIServiceBackend and key policy)."""
    return f"{model_key}-candidate"


def backend_refs(model: GatewayModel) -> list[dict[str, Any]]:
    """One backend, or the current revision and its candidate split by weight under the same served name. Both sit
    at priority 0: a weighted split, not a fallback, so the canary really receives its share."""
    if model.candidate_service is None:
        return [one_choice({"name": model.key})]
    return [one_choice({"name": model.key, "weight": 100 - model.candidate_weight}),
            one_choice({"name": candidate_backend(model.key), "weight": model.candidate_weight})]


def backend_spec(model: GatewayModel) -> dict[str, Any]:
    """An Envoy Gateway Backend naming the model's Service by its cluster DNS name (AIServiceBackends take no Service)."""
    host = f"{model.backend_service}.{model.backend_namespace}.svc.cluster.local"
    return {"endpoints": [{"fqdn": {"hostname": host, "port": model.port}}]}


def ai_service_backend_spec(model: GatewayModel) -> dict[str, Any]:
    return {
        "schema": {"name": "OpenAI", "prefix": "/v1"},
        "backendRef": {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": model.key},
    }


UPSTREAM_KEY_ENTRY = "apiKey"
"""The Secret key BackendSecurityPolicy's apiKey.secretRef reads."""


def upstream_key_secret(model_key: str) -> str:
    return f"{model_key}-upstream-key"


def backend_security_policy_spec(model: GatewayModel) -> dict[str, Any]:
    return {
        "targetRefs": [{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend", "name": model.key}],
        "type": "APIKey",
        "apiKey": {"secretRef": {"name": upstream_key_secret(model.key)}},
    }


def models_list_body(models: Sequence[GatewayModel], group: str | None) -> str:
    """GET /v1/models for a caller of ``group``: the models that group may use, as OpenAI lists them."""
    data = [{"id": m.served_model_name, "object": "model", "created": 0, "owned_by": "onprem-llm"}
            for m in models if group is not None and group in m.groups]
    return json.dumps({"object": "list", "data": data}, separators=(",", ":"))


MAX_ROUTE_RULES = 16
"""Gateway API's limit on rules per HTTPRoute."""


def models_list_filters(models: Sequence[GatewayModel]) -> dict[str, dict[str, Any]]:
    """HTTPRouteFilter name -> directResponse spec, one per distinct model list (and the empty one)."""
    filters: dict[str, dict[str, Any]] = {}
    for group in [None, *sorted({g for m in models for g in m.groups})]:
        body = models_list_body(models, group)
        name = models_filter_name(models, group)
        filters[name] = {"directResponse": {"statusCode": 200, "contentType": "application/json",
                                            "body": {"type": "Inline", "inline": body}}}
    return filters


def models_filter_name(models: Sequence[GatewayModel], group: str | None) -> str:
    allowed = sorted(m.key for m in models if group is not None and group in m.groups)
    if not allowed:
        return "models-none"
    return "models-" + hashlib.sha256(",".join(allowed).encode()).hexdigest()[:10]


def models_list_routes(models: Sequence[GatewayModel], gateway: dict[str, str]) -> list[dict[str, Any]]:
    """HTTPRoute specs answering GET /v1/models per group; the first also answers callers of no listed group."""
    def rule(group: str | None) -> dict[str, Any]:
        match: dict[str, Any] = {"path": {"type": "Exact", "value": MODELS_PATH}, "method": "GET"}
        if group is not None:
            match["headers"] = [{"type": "Exact", "name": GROUP_HEADER, "value": group}]
        return {"matches": [match], "filters": [{"type": "ExtensionRef", "extensionRef": {
            "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": models_filter_name(models, group)}}]}

    rules = [rule(None)] + [rule(g) for g in sorted({g for m in models for g in m.groups})]
    chunks = [rules[i:i + MAX_ROUTE_RULES] for i in range(0, len(rules), MAX_ROUTE_RULES)]
    return [{"parentRefs": [{**gateway, "sectionName": "https"}], "rules": chunk} for chunk in chunks]


# -- the external processor and the access log ----------------------------------------------------


def gateway_config_spec() -> dict[str, Any]:
    """The external processor container the AI gateway's webhook adds to each proxy pod: Pod Security restricted."""
    return {"extProc": {"kubernetes": {
        "env": [{"name": "DISABLE_PPROF", "value": "true"}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
            "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }}}


ACCESS_LOG_FORMAT = {
    "start_time": "%START_TIME%",
    # The peer's address and the client software: who called from where (never the Authorization header).
    "client_address": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "user_agent": "%REQ(USER-AGENT)%",
    "user": f"%REQ({USER_HEADER})%",
    "group": f"%REQ({GROUP_HEADER})%",
    "model": f"%REQ({MODEL_HEADER})%",
    "route": "%ROUTE_NAME%",
    "method": "%REQ(:METHOD)%",
    "path": "%PATH(NQ:ORIG_OR_PATH)%",
    "status": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "input_tokens": f"%DYNAMIC_METADATA({AI_METADATA_NAMESPACE}:{TOKEN_KEYS['input']})%",
    "output_tokens": f"%DYNAMIC_METADATA({AI_METADATA_NAMESPACE}:{TOKEN_KEYS['output']})%",
    "total_tokens": f"%DYNAMIC_METADATA({AI_METADATA_NAMESPACE}:{TOKEN_KEYS['total']})%",
    "duration_ms": "%DURATION%",
    "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
}
"""One JSON line per request: who, which model, tokens, status. The path never has its query string, and request
and response bodies (prompts, completions) are never logged."""


# -- chart values --------------------------------------------------------------------------------


def spread(selector: dict[str, str]) -> list[dict[str, Any]]:
    """Replicas on different nodes where the cluster has them (a small cluster still schedules them)."""
    return [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": dict(selector)}}]


EXTENSION_HOOK_RESOURCES = ("listener", "route", "cluster")
"""xDS resources Envoy Gateway hands the AI gateway's extension server after translation. Not secrets: the extension
server (v1.1, internal/extensionserver/post_translate_modify.go) returns them unchanged, and it serves plain gRPC
only (cmd/controller/main.go builds grpc.NewServer without credentials), so Envoy Gateway's extensionManager.service.tls
could not be turned on. Envoy Gateway includes secrets unless told not to (ShouldIncludeSecrets defaults to true,
api/v1alpha1/envoygateway_helpers.go): the hook says ``secret: {includeAll: false}``, and the listener TLS keys, the
CA bundles and any other SDS secret never leave Envoy Gateway. The rest of the feed is configuration (names,
routes, clusters), no prompt and no credential."""


def envoy_gateway_config(gateway_namespace: str, replicas: int = 1, fail_closed: bool = False) -> dict[str, Any]:
    """What Envoy Gateway needs for the AI gateway (its v1.1 values files): the Backend API, the extension
    server hooks, and the global rate-limit service with Redis. EnvoyPatchPolicy stays off: it would let anyone
    who may create one in a namespace rewrite the proxies' configuration.

    It watches the gateway's namespace only: with `watch.type: Namespaces` the chart (gateway-helm v1.9.0,
    `templates/envoy-gateway-rbac.yaml`, `namespaced-infra-manager-rbac.yaml`) binds its Secret, Service and
    workload rights in the watched namespaces and its own, instead of cluster-wide. The chart's Roles in its own
    namespace leave out the EndpointSlices it caches there; the program binds those
    (`ai_gateway_rbac.envoy_gateway_own_namespace_rules`)."""
    return {
        "extensionApis": {"enableBackend": True},
        "extensionManager": {
            "hooks": {"xdsTranslator": {
                "translation": {**{kind: {"includeAll": True} for kind in EXTENSION_HOOK_RESOURCES},
                                "secret": {"includeAll": False}},
                "post": ["Translation", "Cluster", "Route"],
            }},
            "service": {"fqdn": {"hostname": f"{AI_CONTROLLER}.{AI_GATEWAY_NAMESPACE}.svc.cluster.local",
                                 "port": EXTENSION_PORT}},
        },
        # What the proxies do when the rate-limit service cannot answer: the stack's explicit choice.
        "rateLimit": {"backend": {"type": "Redis", "redis": {"url": REDIS_URL}}, "failClosed": fail_closed},
        "provider": {"type": "Kubernetes", "kubernetes": {
            # Proxies run in each Gateway's own namespace, the one the model endpoints admit.
            "deploy": {"type": "GatewayNamespace"},
            # Every object it acts on (Gateway, routes, policies, Backends, the EnvoyProxy, the TLS Secret) is there.
            "watch": {"type": "Namespaces", "namespaces": [gateway_namespace]},
            # The rate-limit service answers every request (it fails open when down): as many as the proxies.
            "rateLimitDeployment": {"replicas": replicas, "container": {"env": rate_limit_auth_env()}},
        }},
    }


def ai_gateway_values(controller_image: str, extproc_image: str, tag_controller: str, tag_extproc: str,
                      pull_secret: str, gateway_namespace: str, replicas: int = 1) -> dict[str, Any]:
    # Its webhook admits every new proxy pod (failurePolicy Fail): with one controller down, no proxy could start.
    available = {"replicaCount": replicas, "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                 "topologySpreadConstraints": spread({"app.kubernetes.io/instance": "ai-gateway"})} if replicas > 1 else {}
    return {
        "global": {"imagePullSecrets": [{"name": pull_secret}]},
        "controller": {
            "image": {"repository": controller_image, "tag": tag_controller},
            "metricsRequestHeaderAttributes": HEADER_ATTRIBUTES,
            # Access logs are Envoy's own (ACCESS_LOG_FORMAT); spans are not exported.
            "logRequestHeaderAttributes": "",
            "spanRequestHeaderAttributes": "",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            # The chart's account comes with a ClusterRole over every Secret and pod; the program's replaces it
            # (components/builders/ai_gateway_rbac.py), and the cache watches the gateway's namespace only.
            "serviceAccount": {"create": False, "name": CONTROLLER_ACCOUNT},
            "watch": {"namespaces": [gateway_namespace]},
            **available,
        },
        "extProc": {"image": {"repository": extproc_image, "tag": tag_extproc}},
        "envoyGateway": {"namespace": CONTROLLER_NAMESPACE},
    }


# -- the rate-limit store ------------------------------------------------------------------------

REDIS_UID = 10001
REDIS_ARGS = ["redis-server", "--port", str(REDIS_PORT), "--appendonly", "yes", "--appendfsync", "everysec",
              "--save", "", "--dir", "/data", "--protected-mode", "no", "--maxmemory", "200mb",
              "--maxmemory-policy", "volatile-ttl"]
"""Counters only (no prompt ever reaches Redis), in an append-only file on their own volume, flushed every second: a
restart, an upgrade or a drain keeps every month-to-date count. Counters carry their window as TTL, so under memory
pressure the one closest to its reset goes first."""
COUNTERS_CLAIM = "rate-limit-counters"
REDIS_AUTH_SECRET = "rate-limit-redis-auth"
"""The counters' password: one Secret of that name beside Redis and one beside Envoy Gateway's rate-limit service."""
REDIS_AUTH_KEY = "password"
"""The rate-limit service's key: the password itself (it reads it from its environment, REDIS_AUTH)."""
REDIS_AUTH_CONFIG_KEY = "auth.conf"
"""Redis's key: a configuration file holding `requirepass <password>`, mounted read-only, so the password is in no
argument, variable or manifest. The network policy already admits only the rate-limit pods; the password keeps
anything else that reaches the port (a policy mistake, a debug pod) from reading or resetting the month-to-date counts."""
REDIS_AUTH_DIR = "/etc/redis-auth"
REDIS_AUTH_CONFIG = f"{REDIS_AUTH_DIR}/{REDIS_AUTH_CONFIG_KEY}"


def redis_command() -> list[str]:
    """redis-server reads the configuration file named first, then the arguments (which win over it)."""
    return [REDIS_ARGS[0], REDIS_AUTH_CONFIG, *REDIS_ARGS[1:]]


def redis_auth_config(password: str) -> str:
    return f"requirepass {password}\n"


def rate_limit_auth_env() -> list[dict[str, Any]]:
    """The rate-limit service's REDIS_AUTH (envoyproxy/ratelimit's setting) from the Secret in Envoy Gateway's namespace;
    Envoy Gateway v1.9 merges rateLimitDeployment.container.env into the Deployment it writes
    (internal/infrastructure/kubernetes/ratelimit/resource.go, ExpectedContainerEnv)."""
    return [{"name": "REDIS_AUTH", "valueFrom": {"secretKeyRef": {"name": REDIS_AUTH_SECRET, "key": REDIS_AUTH_KEY}}}]


def redis_pod_spec(image: str, pull_secret: str, service_account: str) -> k8s.core.v1.PodSpecArgs:
    core = k8s.core.v1
    probe = core.ProbeArgs(tcp_socket=core.TCPSocketActionArgs(port=REDIS_PORT), period_seconds=10, failure_threshold=3)
    return core.PodSpecArgs(
        service_account_name=service_account,
        automount_service_account_token=False,
        enable_service_links=False,
        image_pull_secrets=[core.LocalObjectReferenceArgs(name=pull_secret)],
        security_context=core.PodSecurityContextArgs(
            run_as_non_root=True, run_as_user=REDIS_UID, run_as_group=REDIS_UID, fs_group=REDIS_UID,
            seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault")),
        containers=[core.ContainerArgs(
            name="redis", image=image, args=redis_command(),
            ports=[core.ContainerPortArgs(name="redis", container_port=REDIS_PORT, protocol="TCP")],
            readiness_probe=probe, liveness_probe=probe,
            # An append-only-file rewrite forks: pages written meanwhile are copied, so the limit leaves room for
            # twice maxmemory plus the buffers; at maxmemory alone a rewrite under load is OOM-killed.
            resources=core.ResourceRequirementsArgs(requests={"cpu": "100m", "memory": "512Mi"},
                                                    limits={"cpu": "500m", "memory": "512Mi"}),
            security_context=core.SecurityContextArgs(
                allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
                capabilities=core.CapabilitiesArgs(drop=["ALL"]), seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault")),
            volume_mounts=[core.VolumeMountArgs(name="data", mount_path="/data"),
                           core.VolumeMountArgs(name="auth", mount_path=REDIS_AUTH_DIR, read_only=True)],
        )],
        volumes=[core.VolumeArgs(name="data", persistent_volume_claim=core.PersistentVolumeClaimVolumeSourceArgs(
            claim_name=COUNTERS_CLAIM)),
            core.VolumeArgs(name="auth", secret=core.SecretVolumeSourceArgs(
                secret_name=REDIS_AUTH_SECRET, default_mode=0o440,
                items=[core.KeyToPathArgs(key=REDIS_AUTH_CONFIG_KEY, path=REDIS_AUTH_CONFIG_KEY)]))],
    )
