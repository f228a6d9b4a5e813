"""Prompts and secrets cross the pod network only over TLS: gateway to vLLM, and Envoy Gateway's extension feed."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, name_of, namespace_of, pod_spec
from hipaa._rule import Resource, Rule
from hipaa.vllm_hardening import _is_vllm, _role

RELEASE = "kubernetes:helm.sh/v3:Release"
BACKEND = "kubernetes:gateway.envoyproxy.io/v1alpha1:Backend"
AI_SERVICE_BACKEND = ":AIServiceBackend"
BACKEND_TLS_POLICY = ":BackendTLSPolicy"
TLS_FLAGS = ("--ssl-certfile", "--ssl-keyfile")


def _extension_manager(release: Resource) -> dict | None:
    values = release.props.get("values") or {}
    return ((values.get("config") or {}).get("envoyGateway") or {}).get("extensionManager")


def extension_feed_problems(resources: list[Resource]) -> list[tuple[str, str]]:
    """Envoy Gateway sends xDS secrets to its extension server unless the hook says not to (its default includes
    them); over plain gRPC they cross the pod network readable."""
    found = []
    for release in (r for r in resources if r.type == RELEASE):
        manager = _extension_manager(release)
        if not manager:
            continue
        tls = ((manager.get("service") or {}).get("tls") or {}).get("certificateRef")
        translation = ((manager.get("hooks") or {}).get("xdsTranslator") or {}).get("translation") or {}
        sends_secrets = (translation.get("secret") or {}).get("includeAll", True) is not False
        if sends_secrets and not tls:
            found.append((release.urn, f"{name_of(release)}: values.config.envoyGateway.extensionManager sends every "
                          "xDS secret (TLS keys) to the extension server over plain gRPC; set hooks.xdsTranslator."
                          "translation.secret.includeAll: false, or service.tls.certificateRef"))
    return found


def _key(resource: Resource, name: str | None) -> tuple[str, str, str | None]:
    return (resource.provider, namespace_of(resource) or "", name)


def upstream_problems(resources: list[Resource]) -> list[tuple[str, str]]:
    """Every model backend of the AI gateway is reached over verified TLS, for the name it is called by."""
    backends = {_key(r, name_of(r)): r for r in resources if r.type == BACKEND}
    policies: dict[tuple, list[dict]] = {}
    for policy in (r for r in resources if r.type.endswith(BACKEND_TLS_POLICY)):
        spec = policy.props.get("spec") or {}
        for ref in spec.get("targetRefs") or []:
            if ref.get("kind") == "Backend":
                policies.setdefault(_key(policy, ref.get("name")), []).append(spec.get("validation") or {})
    found = []
    for service in (r for r in resources if r.type.endswith(AI_SERVICE_BACKEND)):
        ref = (service.props.get("spec") or {}).get("backendRef") or {}
        backend = backends.get(_key(service, ref.get("name")))
        if backend is None or (backend.props.get("spec") or {}).get("tls"):
            continue  # not a Backend of this stack, or TLS set on the Backend itself
        hosts = [(e.get("fqdn") or {}).get("hostname") for e in (backend.props.get("spec") or {}).get("endpoints") or []]
        checks = policies.get(_key(backend, name_of(backend)), [])
        if not checks:
            found.append((backend.urn, f"Backend {name_of(backend)}: prompts reach {', '.join(filter(None, hosts))} in "
                          "plain HTTP; attach a BackendTLSPolicy with validation.caCertificateRefs (the site's CAs) "
                          "and validation.hostname (gateway.upstreamTls)"))
            continue
        for validation in checks:
            if not (validation.get("caCertificateRefs") or validation.get("wellKnownCACertificates")):
                found.append((backend.urn, f"Backend {name_of(backend)}: its BackendTLSPolicy verifies against no CA; "
                              "set validation.caCertificateRefs"))
            if validation.get("hostname") not in hosts:
                found.append((backend.urn, f"Backend {name_of(backend)}: its BackendTLSPolicy verifies the name "
                              f"{validation.get('hostname')!r}, not the endpoint it calls ({', '.join(filter(None, hosts))})"))
    return found


def server_problems(resources: list[Resource]) -> list[tuple[str, str]]:
    """Every vLLM API server serves HTTPS, and its probes follow."""
    found = []
    for resource in resources:
        pod = pod_spec(resource)
        if pod is None:
            continue
        for path, container in containers(pod):
            if not _is_vllm(container) or _role(container) != "server":
                continue
            args = [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
            missing = [flag for flag in TLS_FLAGS if not any(a == flag or a.startswith(f"{flag}=") for a in args)]
            if missing:
                found.append((resource.urn, f"{name_of(resource)}: {path} serves plain HTTP (no {', '.join(missing)}); "
                              "prompts cross the pod network readable: set gateway.upstreamTls"))
                continue
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                scheme = ((container.get(probe) or {}).get("httpGet") or {}).get("scheme", "HTTP")
                if container.get(probe) and scheme != "HTTPS":
                    found.append((resource.urn, f"{name_of(resource)}: {path}.{probe}.httpGet.scheme is {scheme}; the "
                                  "server speaks HTTPS only, so the probe fails: set it to HTTPS"))
    return found


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    violations = extension_feed_problems(resources)
    if config["requireUpstreamTls"]:
        violations += upstream_problems(resources) + server_problems(resources)
    return violations


RULE = Rule(
    name="in-cluster-tls",
    title="Prompts and secrets cross the pod network only over TLS",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="Envoy Gateway sends no secret to the AI gateway's extension server over plain gRPC, and in production "
    "every model backend of the AI gateway is reached over TLS verified against a CA and the backend's own name, its "
    "vLLM serving HTTPS. Without it prompts, completions and TLS keys travel the pod network where any node or "
    "captured interface can read them.",
    check=check,
    stack=True,
    config={"requireUpstreamTls": {"type": "boolean", "default": True,
                                   "description": "Whether the gateway must reach vLLM over TLS (production)."}},
)
