"""The model port admits only the gateway's proxy pods and the Prometheus pods, each by pod and namespace."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of, namespace_of
from hipaa._rule import Resource, Rule
from hipaa.gateway_only_exposure import NETWORK_POLICY, _selects, _vllm_pods


def _names(selector: dict | None) -> set[str] | None:
    """The namespaces a namespaceSelector names by their immutable name label; None for anything broader."""
    if not selector:
        return None
    names = set()
    labels = selector.get("matchLabels") or {}
    if set(labels) - {"kubernetes.io/metadata.name"}:
        return None
    if "kubernetes.io/metadata.name" in labels:
        names.add(labels["kubernetes.io/metadata.name"])
    for expression in selector.get("matchExpressions") or []:
        if expression.get("key") != "kubernetes.io/metadata.name" or expression.get("operator") != "In":
            return None
        names |= set(expression.get("values") or [])
    return names or None


def _pods_within(selector: dict | None, required: dict[str, str]) -> bool:
    """The podSelector requires at least every label of ``required`` (so it selects no other pods)."""
    labels = (selector or {}).get("matchLabels") or {}
    return bool(required) and all(labels.get(k) == v for k, v in required.items())


def peer_problem(peer: dict, allowed: list[tuple[str, dict[str, str], str]]) -> str | None:
    if "ipBlock" in peer:
        return f"admits addresses {peer['ipBlock'].get('cidr')}"
    names = _names(peer.get("namespaceSelector"))
    if "namespaceSelector" not in peer:
        return "admits pods of the model servers' own namespace"
    if names is None:
        return "admits every namespace a label selector matches"
    for namespace in sorted(names):
        match = [what for ns, pods, what in allowed if ns == namespace and _pods_within(peer.get("podSelector"), pods)]
        if not match:
            return f"admits pods of namespace {namespace!r} other than the gateway's proxies and Prometheus"
    return None


def opens_port(rule: dict, port: int) -> bool:
    """Whether an ingress rule's ports reach TCP ``port``: no ports (all), the number, a range around it, or a
    named port (which may resolve to it)."""
    entries = rule.get("ports")
    if not entries:
        return True
    for entry in entries:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        number = entry.get("port")
        if number is None or isinstance(number, str):
            return True
        end = entry.get("endPort")
        if int(number) == port or (end is not None and int(number) <= port <= int(end)):
            return True
    return False


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    allowed = [(config["gatewayNamespace"], dict(config["gatewayProxyLabels"]), "the gateway's proxies"),
               (config["monitoringNamespace"], dict(config["prometheusLabels"]), "Prometheus")]
    vllm = _vllm_pods(resources)
    violations = []
    for policy in (r for r in resources if r.type == NETWORK_POLICY):
        spec = policy.props.get("spec") or {}
        if not any(w.provider == policy.provider and namespace_of(w) == namespace_of(policy)
                   and _selects(spec.get("podSelector") or {}, labels) for w, labels in vllm):
            continue
        for rule in spec.get("ingress") or []:
            # Other ports (the Ray and NCCL ports between the pods of a group) are not the model's API.
            if not opens_port(rule, int(config["modelPort"])):
                continue
            peers = rule.get("from")
            if not peers:
                violations.append((policy.urn, f"NetworkPolicy {name_of(policy)} admits any source to the model servers"))
                continue
            for peer in peers:
                problem = peer_problem(peer, allowed)
                if problem:
                    violations.append((policy.urn, f"NetworkPolicy {name_of(policy)} {problem}; the model port "
                                                   "(with /invocations, /pooling, /score, /tokenize and /metrics open) "
                                                   "admits only the gateway's proxy pods and Prometheus, each by "
                                                   "podSelector and namespaceSelector"))
    return violations


RULE = Rule(
    name="model-port-ingress",
    title="Model port only for the gateway's proxies and Prometheus",
    citation="164.312(a)(1)",
    severity=Severity.CRITICAL,
    description="NetworkPolicies selecting model server pods admit to the model port (a rule without ports, a range "
    "around it or a named port count) only the gateway's proxy pods in the gateway "
    "namespace and the Prometheus pods in the monitoring namespace, by pod and namespace selector together. vLLM "
    "checks its key only under /v1, so any other pod that reaches the port runs inference with no identity and no "
    "access log.",
    check=check,
    stack=True,
    config={
        "gatewayNamespace": {"type": "string", "default": "api-gateway", "description": "Namespace of the gateway."},
        "gatewayProxyLabels": {"type": "object", "additionalProperties": {"type": "string"}, "default": {
            "app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
            "app.kubernetes.io/managed-by": "envoy-gateway", "gateway.envoyproxy.io/owning-gateway-name": "llm-gateway",
            "gateway.envoyproxy.io/owning-gateway-namespace": "api-gateway"},
            "description": "Labels of the gateway's proxy pods."},
        "monitoringNamespace": {"type": "string", "default": "monitoring", "description": "Namespace of Prometheus."},
        "modelPort": {"type": "integer", "default": 8000, "description": "The model servers' API port."},
        "prometheusLabels": {"type": "object", "additionalProperties": {"type": "string"}, "default": {
            "app.kubernetes.io/name": "prometheus", "onprem-llm.io/role": "metrics-scraper"},
            "description": "Labels of the Prometheus pods."},
    },
)
