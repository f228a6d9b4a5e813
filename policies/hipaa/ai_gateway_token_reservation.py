"""Every model caps what one request may generate, and the gateway reserves that cap when it admits the request."""

from __future__ import annotations

import json

from pulumi_policy import Severity

from hipaa._gateway import (
    BACKEND_TRAFFIC_POLICY,
    MODEL_HEADER,
    SECURITY_POLICY,
    attached,
    claim_headers,
    is_ai_route,
    parent_gateways,
)
from hipaa._k8s import containers, name_of, pod_spec, workload_views
from hipaa._rule import Resource, Rule
from hipaa.vllm_hardening import _is_vllm, _role

CEILING_FLAG = "--override-generation-config"
ONE_CHOICE = {"path": "n", "value": "1"}


def _flag(args: list[str], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def _ceiling(args: list[str]) -> int | None:
    """The max_new_tokens vLLM caps every request's max_tokens at (its last --override-generation-config wins)."""
    overrides = [args[i + 1] for i, a in enumerate(args[:-1]) if a == CEILING_FLAG]
    overrides += [a.split("=", 1)[1] for a in args if a.startswith(f"{CEILING_FLAG}=")]
    try:
        value = json.loads(overrides[-1]).get("max_new_tokens") if overrides else None
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def server_ceilings(resources: list[Resource]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Served model name -> the largest ceiling of its servers; and the servers with none."""
    ceilings: dict[str, int] = {}
    missing = []
    for resource in resources:
        for prefix, view in workload_views(resource):
            pod = pod_spec(view)
            for path, container in containers(pod or {}):
                if not _is_vllm(container) or _role(container) != "server":
                    continue
                args = [str(a) for a in container.get("args") or []]
                served = _flag(args, "--served-model-name") or name_of(resource)
                ceiling = _ceiling(args)
                if ceiling is None:
                    missing.append((resource.urn, f"{name_of(resource)}: {prefix}{path} serves {served} with no "
                                    f"max_tokens ceiling ({CEILING_FLAG} {{\"max_new_tokens\": N}}): one request may "
                                    "generate until the context is full; set models.<key>.maxTokens"))
                    continue
                ceilings[served] = max(ceiling, ceilings.get(served, 0))
    return ceilings, missing


def _reservations(policy: Resource, users: set[str]) -> dict[str, int]:
    """Served model -> the largest cost a rule charges on arrival per caller for it, charging nothing on the response."""
    found: dict[str, int] = {}
    rate_limit = (policy.props.get("spec") or {}).get("rateLimit") or {}
    for rule in (rate_limit.get("global") or {}).get("rules") or []:
        cost = rule.get("cost") or {}
        request = cost.get("request") or {}
        if "response" in cost or request.get("from") != "Number":
            continue
        for selector in rule.get("clientSelectors") or []:
            headers = selector.get("headers") or []
            per_user = any(h.get("type") == "Distinct" and h.get("name", "").lower() in users for h in headers)
            models = [h.get("value") for h in headers if h.get("name", "").lower() == MODEL_HEADER and h.get("type") == "Exact"]
            if per_user and len(models) == 1:
                found[models[0]] = max(int(request.get("number") or 0), found.get(models[0], 0))
    return found


def _served(route: Resource) -> list[tuple[str, list[dict]]]:
    """(served model name, backendRefs) of each rule of the route."""
    served = []
    for rule in (route.props.get("spec") or {}).get("rules") or []:
        for match in rule.get("matches") or []:
            for header in match.get("headers") or []:
                if header.get("name", "").lower() == MODEL_HEADER and header.get("type", "Exact") == "Exact":
                    served.append((header.get("value"), rule.get("backendRefs") or []))
    return served


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    if not config["requireReservation"]:
        return []
    ceilings, violations = server_ceilings(resources)
    for route in (r for r in resources if is_ai_route(r)):
        for gateway in parent_gateways(route):
            users = {h for p in attached(resources, SECURITY_POLICY, gateway) for h, claim in claim_headers(p).items()
                     if claim == config["userClaim"]}
            reserved: dict[str, int] = {}
            for policy in attached(resources, BACKEND_TRAFFIC_POLICY, gateway):
                for model, cost in _reservations(policy, users).items():
                    reserved[model] = max(cost, reserved.get(model, 0))
            for model, backends in _served(route):
                ceiling = ceilings.get(model)
                if model not in reserved:
                    violations.append((route.urn, f"AIGatewayRoute {name_of(route)}: model {model} has no reservation "
                                       f"on Gateway {gateway[3]}: a global rate-limit rule per caller (a Distinct header "
                                       f"of the claim {config['userClaim']!r}) and model (x-ai-eg-model Exact) charging "
                                       "cost.request Number on arrival and nothing on the response; a caller can start "
                                       "many generations before the first is charged (gateway.tokenLimits.reservedPerUser)"))
                elif ceiling is not None and reserved[model] < ceiling:
                    violations.append((route.urn, f"AIGatewayRoute {name_of(route)}: model {model} reserves "
                                       f"{reserved[model]} tokens per request, less than the {ceiling} its servers may "
                                       "generate; reserve the ceiling (models.<key>.maxTokens)"))
                for ref in backends:
                    if ONE_CHOICE not in ((ref.get("bodyMutation") or {}).get("set") or []):
                        violations.append((route.urn, f"AIGatewayRoute {name_of(route)}: backend {ref.get('name')} of "
                                           f"model {model} does not set the body's n to 1 (bodyMutation.set); n choices "
                                           "generate n times what the request reserved"))
    return violations


RULE = Rule(
    name="ai-gateway-token-reservation",
    title="Every model caps a request's tokens and the gateway reserves the cap on admission",
    citation="164.308(a)(7)",
    severity=Severity.HIGH,
    description="In production every vLLM server caps each request's max_tokens, every model behind the AI gateway "
    "reserves at least that cap per caller when it admits a request, and every request asks for one choice. Token "
    "budgets are charged only when a response completes, so without it one caller can start enough generations at "
    "once to hold the GPUs the clinical services depend on.",
    check=check,
    stack=True,
    config={
        "requireReservation": {"type": "boolean", "default": True,
                               "description": "Whether every model must have a ceiling and a reservation (production)."},
        "userClaim": {"type": "string", "default": "sub",
                      "description": "The JWT claim naming the caller (gateway.oidc.userClaim)."},
    },
)
