"""Model endpoints are reachable only from the gateway (and scraped from monitoring)."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, name_of, namespace_of, pod_spec
from hipaa._rule import Resource, Rule

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE = "kubernetes:core/v1:Service"


def _vllm_pods(resources: list[Resource]) -> list[tuple[Resource, dict[str, str]]]:
    found = []
    for resource in resources:
        pod = pod_spec(resource)
        if pod and any("vllm" in (c.get("image") or "").rsplit("/", 1)[-1] for _, c in containers(pod)):
            template = (resource.props.get("spec") or {}).get("template") or {}
            found.append((resource, dict((template.get("metadata") or {}).get("labels") or {})))
    return found


def _served_ports(resource: Resource) -> list[tuple[str | None, int]]:
    """(name, number) of every port a model server's containers declare: the endpoint's ports."""
    pod = pod_spec(resource) or {}
    return [(p.get("name"), p.get("containerPort")) for _, c in containers(pod) for p in c.get("ports") or []]


def _admits(rule: dict, ports: list[tuple[str | None, int]]) -> bool:
    """Whether an ingress rule admits any of the endpoint's ports (a rule without ports admits all)."""
    if not rule.get("ports"):
        return True
    for allowed in rule["ports"]:
        port = allowed.get("port")
        if port is None:
            return True
        for name, number in ports:
            # Numbers arrive as floats over the engine's protocol (protobuf Struct).
            if port == name or (isinstance(port, (int, float)) and isinstance(number, (int, float))
                                and port <= number <= (allowed.get("endPort") or port)):
                return True
    return False


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _own_pods(peer: dict, labels: list[dict[str, str]]) -> bool:
    """Whether a peer is the model's own pods: a pod selector in the policy's namespace that selects them."""
    selector = peer.get("podSelector") or {}
    return ("namespaceSelector" not in peer and "ipBlock" not in peer and bool(selector.get("matchLabels"))
            and not selector.get("matchExpressions") and all(_selects(selector, lab) for lab in labels))


def _admitted_namespaces(peer: dict) -> set[str] | None:
    """The namespaces a peer admits, or None when it admits more than named namespaces."""
    if "ipBlock" in peer or "namespaceSelector" not in peer:
        return None
    selector = peer["namespaceSelector"] or {}
    names = set()
    if "kubernetes.io/metadata.name" in (selector.get("matchLabels") or {}):
        names.add(selector["matchLabels"]["kubernetes.io/metadata.name"])
    for expression in selector.get("matchExpressions") or []:
        if expression.get("key") == "kubernetes.io/metadata.name" and expression.get("operator") == "In":
            names |= set(expression.get("values") or [])
        else:
            return None
    return names or None


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    allowed = set(config["gatewayNamespaces"]) | {config["monitoringNamespace"]}
    violations = []
    vllm = _vllm_pods(resources)
    for policy in (r for r in resources if r.type == NETWORK_POLICY):
        spec = policy.props.get("spec") or {}
        targets = [w for w, labels in vllm if w.provider == policy.provider and namespace_of(w) == namespace_of(policy)
                   and _selects(spec.get("podSelector") or {}, labels)]
        if not targets:
            continue
        served = [port for target in targets for port in _served_ports(target)]
        for rule in spec.get("ingress") or []:
            if served and not _admits(rule, served):
                # Ports beside the endpoint (a group's Ray and NCCL ports): only the model's own pods may reach them.
                labels = [lab for w, lab in vllm if w in targets]
                for peer in rule.get("from") or [{}]:
                    if not _own_pods(peer, labels):
                        violations.append((policy.urn, f"NetworkPolicy {name_of(policy)} admits "
                                           f"{_admitted_namespaces(peer) or 'any source'} to model servers' ports beside "
                                           "the endpoint (a group's Ray and NCCL ports run code for whoever reaches "
                                           "them); only the model's own pods may"))
                continue
            peers = rule.get("from") or [{}]
            for peer in peers:
                names = _admitted_namespaces(peer)
                if names is None or not names <= allowed:
                    violations.append((policy.urn, f"NetworkPolicy {name_of(policy)} admits {names or 'any source'} to "
                                                   f"model servers; only {sorted(allowed)} may reach them"))
    vllm_services = {(r.provider, namespace_of(r), name_of(r)) for r in resources if r.type == SERVICE
                     and any(_selects({"matchLabels": (r.props.get("spec") or {}).get("selector") or {}}, labels)
                             for w, labels in vllm if w.provider == r.provider and namespace_of(w) == namespace_of(r))}
    for ingress in (r for r in resources if r.type == INGRESS):
        for rule in (ingress.props.get("spec") or {}).get("rules") or []:
            for path in ((rule.get("http") or {}).get("paths") or []):
                service = ((path.get("backend") or {}).get("service") or {}).get("name")
                if (ingress.provider, namespace_of(ingress), service) in vllm_services:
                    violations.append((ingress.urn, f"Ingress {name_of(ingress)} exposes model service {service} "
                                                    "around the authenticating gateway"))
    return violations


RULE = Rule(
    name="gateway-only-exposure",
    title="Model endpoints only through the gateway",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="NetworkPolicies admit only the gateway namespaces and monitoring to the model servers, and no "
    "Ingress routes to them. A shared API key identifies nobody, so every caller must come through the gateway "
    "that authenticates the person.",
    check=check,
    stack=True,
    config={
        "gatewayNamespaces": {"type": "array", "items": {"type": "string"}, "default": ["api-gateway"],
                              "description": "Namespaces whose pods may call the model servers."},
        "monitoringNamespace": {"type": "string", "default": "monitoring", "description": "Namespace of Prometheus."},
    },
)
