"""The AI gateway's one endpoint authenticates every call and authorizes it per model, path and token."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._gateway import SECURITY_POLICY, attached, claim_headers, is_ai_route, jwt_providers, parent_gateways
from hipaa._k8s import name_of
from hipaa._rule import Resource, Rule


def _provider_problems(provider: dict) -> list[str]:
    where = f"spec.jwt.providers[{provider.get('name')}]"
    problems = []
    if not provider.get("audiences"):
        problems.append(f"{where}.audiences is empty: any token the issuer signs for any other application is accepted; "
                        "name the gateway's audience")
    remote = provider.get("remoteJWKS") or {}
    if not provider.get("localJWKS") and not str(remote.get("uri", "")).startswith("https://"):
        problems.append(f"{where}.remoteJWKS.uri {remote.get('uri')!r} is not https://: whoever sits on the path "
                        "serves their own signing keys")
    return problems


def _policy_problems(policy: Resource, allowed: list[str], user_claim: str) -> list[str]:
    spec = policy.props.get("spec") or {}
    jwt = spec.get("jwt") or {}
    problems = []
    if not jwt_providers(policy) or jwt.get("optional") or jwt.get("failOpen"):
        problems.append("spec.jwt must require a token (providers set, optional and failOpen unset)")
    for provider in jwt_providers(policy):
        extract = provider.get("extractFrom") or {}
        if not extract.get("headers") or extract.get("params") or extract.get("cookies"):
            problems.append(f"spec.jwt.providers[{provider.get('name')}].extractFrom must read the token from headers "
                            "only: without it Envoy also reads ?access_token=, which lands in logs and upstream")
        problems += _provider_problems(provider)
    expiry = [h for h, claim in claim_headers(policy).items() if claim == "exp"]
    users = [h for h, claim in claim_headers(policy).items() if claim == user_claim]
    if jwt_providers(policy) and not users:
        problems.append(f"no JWT provider copies the user claim {user_claim!r} into a header (claimToHeaders): per-user "
                        "limits and attribution have nothing to key on")
    authorization = spec.get("authorization") or {}
    if authorization.get("defaultAction", "Deny") != "Deny" or not authorization.get("rules"):
        problems.append("spec.authorization must deny by default and allow per rule")
    for rule in authorization.get("rules") or []:
        if rule.get("action") != "Allow":
            continue
        path = ((rule.get("operation") or {}).get("path")) or {}
        if path.get("type") != "Exact" or path.get("value") not in allowed or path.get("invert"):
            problems.append(f"authorization rule {rule.get('name')} must allow one exact OpenAI path of {allowed}, "
                            f"not {path or 'every path'}")
        cel = rule.get("cel") or ""
        if "request.query == ''" not in cel:
            problems.append(f"authorization rule {rule.get('name')} must require no query string (cel request.query == '')")
        if not any(f"'{h}' in request.headers" in cel for h in expiry):
            problems.append(f"authorization rule {rule.get('name')} must require a token with exp (copy exp into a "
                            "header with claimToHeaders and require it in the rule's cel)")
        if users and not any(f"'{h}' in request.headers" in cel for h in users):
            problems.append(f"authorization rule {rule.get('name')} must require the user claim {user_claim!r} (require "
                            "its header in the rule's cel): without it a token with no user shares one anonymous "
                            "limit and its calls are attributed to nobody")
    return problems


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    violations = []
    for route in (r for r in resources if is_ai_route(r)):
        for gateway in parent_gateways(route):
            policies = attached(resources, SECURITY_POLICY, gateway)
            if not policies:
                violations.append((route.urn, f"AIGatewayRoute {name_of(route)}: Gateway {gateway[3]} has no "
                                              "SecurityPolicy requiring a JWT"))
            for policy in policies:
                violations += [(policy.urn, f"{name_of(policy)}: {p}") for p in _policy_problems(policy, config["allowedPaths"],
                                                                                           config["userClaim"])]
    return violations


RULE = Rule(
    name="ai-gateway-authenticated",
    title="The AI gateway endpoint is authenticated and authorized per model",
    citation="164.312(d)",
    severity=Severity.CRITICAL,
    description="Every AIGatewayRoute's Gateway requires a JWT for its audience, verified with keys fetched over HTTPS, "
    "read from the Authorization header only, and denies by default, allowing only exact OpenAI paths with no query "
    "string and tokens that expire and name their user. Without it one endpoint serves every model to callers who are "
    "not identified, to tokens minted for other applications, or to tokens that never lapse.",
    check=check,
    stack=True,
    config={"allowedPaths": {"type": "array", "items": {"type": "string"},
                             "default": ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"],
                             "description": "OpenAI API paths the endpoint may serve."},
            "userClaim": {"type": "string", "default": "sub",
                          "description": "The claim naming the user, which every allowed call must carry."}},
)
