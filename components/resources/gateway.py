"""ModelGateway: one OpenAI base URL for every model, authenticating every caller, counting tokens.

Envoy Gateway (pinned) runs the proxies in the gateway namespace; Envoy AI Gateway (pinned, an
extension of Envoy Gateway) reads the model from each request's body and routes it. A single
HTTPS listener on `gateway.hostname` serves `https://<hostname>/v1`: chat completions,
completions and embeddings where a model serves them, and `GET /v1/models`, which lists the
models the caller's group may use. The request path, filter by filter, is described in
components/builders/ai_gateway.py; the objects here are, in order of `pulumi up`:

- namespaces and their NetworkPolicies: the gateway (proxies), the Envoy Gateway controller, the
  AI gateway controller and the rate-limit store (Redis: counters only, in an append-only file on its own
  protected volume);
- the Envoy Gateway Release with the AI gateway's extension hooks and the Redis-backed global rate
  limit (after the Role its cache needs in its own namespace beyond the chart's), the AI gateway CRD Release
  and the AI gateway controller Release (after the account and roles the program writes for it);
- the EnvoyProxy (mirrored image, access log), GatewayClass, TLS Secret, the external processor's
  GatewayConfig and the Gateway;
- the ClientTrafficPolicy that strips identity headers, the SecurityPolicy (JWT, per-model
  authorization), the BackendTrafficPolicy (token limits and quotas, OpenAI-style errors);
- per model an Envoy Gateway Backend, an AIServiceBackend and a BackendSecurityPolicy that
  injects the model's API key from a Secret, then the one AIGatewayRoute over all models, and the
  per-group `/v1/models` answers;
- with monitoring, a PodMonitor for the proxies' token metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import versions
from components.builders import ai_gateway as ai
from components.builders import ai_gateway_rbac as rbac_rules
from components.builders import k8s as _k8s
from components.builders import serving_tls
from components.builders.charts import mirrored, pinned_reference, release_args, tag_and_digest
from components.builders.gateway_pods import (
    CONTROLLER_NAMESPACE,
    EXTPROC_METRICS_PORT,
    GATEWAY_NAME,
    GATEWAY_PROXY_SELECTOR,
    PROXY_METRICS_PORT,
    PROXY_PORT,
    RATE_LIMIT_PORT,
    RATE_LIMIT_SELECTOR,
)
from components.builders.monitoring import MONITOR_LABELS
from components.config.model import GatewayConfig
from components.planning import waits
from components.resources.tanzu_cluster import ClusterCore
from components.resources.vllm_service import KEY_GENERATION

TYPE = "onprem:platform:ModelGateway"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
TLS_SECRET = "llm-gateway-tls"
PROXY_CONFIG = "llm-gateway-proxy"
API_PATHS = ("/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings")
"""The only paths the gateway serves; /metrics, /health, /tokenize, /pooling, /invocations and the rest of vLLM are not."""
ACCESS_LOG_FORMAT = ai.ACCESS_LOG_FORMAT


@dataclass(frozen=True)
class CandidateBackend:
    """A second revision of a routed model (a canary), served by its own Service with its own key."""

    service: str
    api_key: pulumi.Input[str]
    weight: int
    """Percent of the model's requests it receives."""
    key_generation: str = "g0"
    tls: bool = False
    """Whether its replicas serve HTTPS (the gateway then verifies them: a BackendTLSPolicy)."""


@dataclass(frozen=True)
class RoutedModel:
    key: str
    service: str
    """The model's ClusterIP Service (`<key>-api`), whatever runs behind it."""
    port: int
    api_key: pulumi.Input[str]
    served_model_name: str | None = None
    """What clients send as `model`. Default: the key."""
    key_generation: str = "g0"
    """Generation of ``api_key`` (``g<N>``), recorded on the credential so a plan can match it to the replicas."""
    candidate: CandidateBackend | None = None
    """A canary beside the model's Service; None: every request goes to ``service``."""
    tls: bool = False
    """Whether the model's replicas serve HTTPS (the gateway then verifies them: a BackendTLSPolicy)."""
    max_tokens: int | None = None
    """The ceiling vLLM puts on each request's max_tokens, which the gateway reserves at admission."""


@dataclass(frozen=True)
class ModelGatewayArgs:
    settings: GatewayConfig
    cluster: ClusterCore
    models: tuple[RoutedModel, ...]
    tls_certificate: pulumi.Input[str]
    tls_key: pulumi.Input[str]
    api_server_cidrs: tuple[str, ...]
    monitoring: pulumi.Resource | None = None
    """The Release that installs the PodMonitor CRD (kube-prometheus-stack); None: no monitor."""


def gateway_models(settings: GatewayConfig, models: tuple[RoutedModel, ...], serving_namespace: str) -> list[ai.GatewayModel]:
    """The routed models with the groups and endpoints config gives them (none: nobody may call it)."""
    found = []
    for model in models:
        access = settings.model_access.get(model.key)
        found.append(ai.GatewayModel(
            key=model.key, served_model_name=model.served_model_name or model.key, backend_service=model.service,
            backend_namespace=serving_namespace, port=model.port,
            groups=access.groups if access else (), endpoints=access.endpoints if access else ("chat",),
            candidate_service=model.candidate.service if model.candidate else None,
            candidate_weight=model.candidate.weight if model.candidate else 0, max_tokens=model.max_tokens,
        ))
    return found


def rate_limit_fails_closed(settings: GatewayConfig) -> bool:
    """Whether the proxies refuse requests while the rate-limit service cannot answer (``gateway.rateLimitFailure``)."""
    return settings.rate_limit_failure == "closed"


class ObservedCustomResource(pulumi.CustomResource):
    """A custom resource whose live ``status`` is an output.

    pulumi-kubernetes returns the object as it read it after its await (status included), but the SDK's
    ``CustomResource`` declares no ``status`` property, so the Python SDK would drop it.
    """

    status: pulumi.Output[Any]

    def __init__(self, resource_name: str, api_version: str, kind: str, metadata: k8s.meta.v1.ObjectMetaArgs,
                 spec: dict[str, Any], opts: pulumi.ResourceOptions):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s._utilities.get_version()))
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name,
                         {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec, "status": None},
                         opts)


def gateway_address(status: Any) -> str | None:
    """The first address a programmed Gateway reports (its load balancer's), or None before it has one."""
    addresses = (status or {}).get("addresses") or []
    return next((a.get("value") for a in addresses if a.get("value")), None)


class ModelGateway(pulumi.ComponentResource):
    address: pulumi.Output[str | None]
    """This site's load-balancer address of the gateway, once Envoy Gateway has programmed it."""
    url: str
    """https://<hostname>"""
    base_url: str
    """The OpenAI base URL of every model: https://<hostname>/v1."""
    namespace: str
    """Where the proxies run."""
    proxy_selector: dict[str, str]
    """Pod labels of the proxies, for in-cluster callers' egress policies."""
    client_namespaces: tuple[str, ...]

    def __init__(self, name: str, args: ModelGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        settings, cluster = args.settings, args.cluster
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        ns, labels = settings.namespace, _k8s.labels("llm-gateway", name, "gateway")
        version = cluster.kubernetes_version
        models = gateway_models(settings, args.models, cluster.serving_namespace)
        gateway = ai.gateway_ref(GATEWAY_NAME)

        def after(*resources: pulumi.Resource, base: pulumi.ResourceOptions = on_cluster) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=list(resources)))

        def pull_secret(suffix: str, namespace: str, namespace_resource: pulumi.Resource) -> k8s.core.v1.Secret:
            return _k8s.registry_pull_secret(f"{name}-registry-pull{suffix}", namespace, cluster.registry_server,
                                             cluster.registry_username, cluster.registry_password, labels,
                                             after(namespace_resource))

        controller_ns = _k8s.namespace(f"{name}-ns-controller", CONTROLLER_NAMESPACE, name, "gateway-controller",
                                       "restricted", version, on_cluster)
        gateway_ns = _k8s.namespace(f"{name}-ns", ns, name, "gateway", "restricted", version, on_cluster)
        ai_ns = _k8s.namespace(f"{name}-ns-ai-controller", ai.AI_GATEWAY_NAMESPACE, name, "ai-gateway-controller",
                               "restricted", version, on_cluster)
        redis_ns = _k8s.namespace(f"{name}-ns-redis", ai.REDIS_NAMESPACE, name, "rate-limit-store", "restricted",
                                  version, on_cluster)
        in_ns = after(gateway_ns)
        self._gateway_policies(name, args, labels, in_ns)
        self._controller_policies(name, args, labels, after(ai_ns))
        self._redis_policies(name, labels, after(redis_ns))

        proxy_pull = pull_secret("", ns, gateway_ns)
        # The counters' password, in a Secret beside Redis and one beside the rate-limit service that Envoy Gateway runs.
        redis_password = random.RandomPassword(f"{name}-redis-password", length=40, special=False,
                                               opts=pulumi.ResourceOptions(parent=self))
        redis_auth = {namespace: k8s.core.v1.Secret(
            f"{name}-redis-auth{suffix}",
            metadata=_k8s.metadata(ai.REDIS_AUTH_SECRET, namespace, labels),
            type="Opaque", string_data=data, opts=after(ns_resource))
            for namespace, suffix, ns_resource, data in (
                (ai.REDIS_NAMESPACE, "", redis_ns,
                 {ai.REDIS_AUTH_CONFIG_KEY: redis_password.result.apply(ai.redis_auth_config)}),
                (CONTROLLER_NAMESPACE, "-rate-limit", controller_ns, {ai.REDIS_AUTH_KEY: redis_password.result}))}
        redis = self._redis(name, cluster, labels, pull_secret("-redis", ai.REDIS_NAMESPACE, redis_ns),
                            after(redis_ns, redis_auth[ai.REDIS_NAMESPACE]))

        # The proxy carries every prompt: it, like every image here, is pulled by the digest of the site's copy.
        proxy_image = pinned_reference(cluster.registry, versions.ENVOY_PROXY)
        ratelimit_image = pinned_reference(cluster.registry, versions.ENVOY_RATELIMIT)
        controller_chart_image = versions.ENVOY_GATEWAY.image("docker.io/envoyproxy/gateway")
        controller = k8s.helm.v3.Release(
            f"{name}-envoy-gateway",
            name="envoy-gateway",
            **release_args(versions.ENVOY_GATEWAY, cluster.registry),
            namespace=CONTROLLER_NAMESPACE,
            values={
                "global": {"imageRegistry": cluster.registry_server, "imagePullSecrets": [{"name": _k8s.PULL_SECRET}],
                           "images": {"envoyGateway": {"image": pinned_reference(cluster.registry, controller_chart_image)},
                                      "envoyProxy": {"image": proxy_image}, "ratelimit": {"image": ratelimit_image}}},
                "config": {"envoyGateway": ai.envoy_gateway_config(ns, settings.replicas,
                                                                   rate_limit_fails_closed(settings))},
                # The chart's requests and memory limit, and a CPU limit it leaves out: a translation storm is
                # throttled instead of starving the node's other pods.
                "deployment": {
                    "envoyGateway": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                                   "limits": {"cpu": "1", "memory": "1024Mi"}}},
                    **({"replicas": settings.replicas, "pod": {
                        "topologySpreadConstraints": ai.spread({"control-plane": "envoy-gateway"})}}
                       if settings.replicas > 1 else {})},
                **({"podDisruptionBudget": {"minAvailable": 1}} if settings.replicas > 1 else {}),
                # The certificate Job writes the control plane's certificate Secrets and exits.
                "certgen": {"job": {"resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                                  "limits": {"cpu": "200m", "memory": "128Mi"}}}},
            },
            timeout=waits.release_seconds(cluster.waits),
            # The rate-limit service it starts connects to Redis at once; its cache syncs only with every role bound.
            opts=after(controller_ns, pull_secret("-controller", CONTROLLER_NAMESPACE, controller_ns), *redis,
                       redis_auth[CONTROLLER_NAMESPACE],
                       *self._envoy_gateway_rbac(name, labels, after(controller_ns))),
        )
        ai_crds = k8s.helm.v3.Release(
            f"{name}-ai-gateway-crds",
            name="ai-gateway-crds",
            **release_args(versions.AI_GATEWAY_CRDS, cluster.registry),
            namespace=ai.AI_GATEWAY_NAMESPACE,
            timeout=waits.release_seconds(cluster.waits),
            opts=after(ai_ns),
        )
        controller_image = mirrored(cluster.registry_server, versions.AI_GATEWAY_CONTROLLER.image)
        extproc_image = mirrored(cluster.registry_server, versions.AI_GATEWAY_EXTPROC.image)
        ai_controller = k8s.helm.v3.Release(
            f"{name}-ai-gateway",
            name="ai-gateway",
            **release_args(versions.AI_GATEWAY, cluster.registry),
            namespace=ai.AI_GATEWAY_NAMESPACE,
            values=ai.ai_gateway_values(controller_image, extproc_image,
                                        tag_and_digest(cluster.registry, versions.AI_GATEWAY_CONTROLLER),
                                        tag_and_digest(cluster.registry, versions.AI_GATEWAY_EXTPROC),
                                        _k8s.PULL_SECRET, ns, settings.replicas),
            timeout=waits.release_seconds(cluster.waits),
            # It watches its own CRDs and Envoy Gateway's (Backend, HTTPRouteFilter) from the start, as its own account.
            opts=after(ai_ns, pull_secret("-ai-controller", ai.AI_GATEWAY_NAMESPACE, ai_ns), ai_crds, controller,
                       *self._ai_controller_rbac(name, ns, labels, after(ai_ns, gateway_ns, controller_ns))),
        )
        after_eg = after(controller, base=in_ns)
        after_ai_crds = after(ai_crds, base=in_ns)

        def custom(suffix: str, api_version: str, kind: str, object_name: str, spec: dict,
                   options: pulumi.ResourceOptions, namespace: str | None = ns,
                   annotations: dict[str, str] | None = None,
                   extra_labels: dict[str, str] | None = None) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{suffix}", api_version=api_version, kind=kind,
                metadata=_k8s.metadata(object_name, namespace, {**labels, **(extra_labels or {})}, annotations=annotations),
                spec=spec, opts=options,
            )

        eg, aig = "gateway.envoyproxy.io/v1alpha1", "aigateway.envoyproxy.io/v1beta1"
        custom("proxy-config", eg, "EnvoyProxy", PROXY_CONFIG, {
            "provider": {"type": "Kubernetes", "kubernetes": {
                # This object replaces the controller's proxy defaults, so it names the mirrored image itself.
                "envoyDeployment": {
                    "replicas": settings.replicas,
                    "container": {"image": proxy_image},
                    "pod": {"imagePullSecrets": [{"name": _k8s.PULL_SECRET}],
                            **({"topologySpreadConstraints": ai.spread(GATEWAY_PROXY_SELECTOR)}
                               if settings.replicas > 1 else {})},
                },
                # A drain or an upgrade evicts one proxy at a time; the others keep serving.
                **({"envoyPDB": {"minAvailable": 1}} if settings.replicas > 1 else {}),
                # The load balancer answers only the configured client networks.
                "envoyService": {"loadBalancerSourceRanges": list(settings.client_cidrs)},
            }},
            "telemetry": {"accessLog": {"settings": [{
                "format": {"type": "JSON", "json": ACCESS_LOG_FORMAT},
                "sinks": [{"type": "File", "file": {"path": "/dev/stdout"}}],
            }]}},
        }, after_eg)
        custom("class", "gateway.networking.k8s.io/v1", "GatewayClass", "onprem-llm", {
            "controllerName": CONTROLLER_NAME,
            "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": PROXY_CONFIG,
                              "namespace": ns},
        }, after(controller), namespace=None)
        tls = k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=_k8s.metadata(TLS_SECRET, ns, labels),
            type="kubernetes.io/tls",
            string_data={"tls.crt": pulumi.Output.secret(args.tls_certificate),
                         "tls.key": pulumi.Output.secret(args.tls_key)},
            opts=in_ns,
        )
        extproc = custom("extproc-config", aig, "GatewayConfig", ai.GATEWAY_CONFIG, ai.gateway_config_spec(), after_ai_crds)
        front_door = ObservedCustomResource(
            f"{name}-gateway", "gateway.networking.k8s.io/v1", "Gateway",
            _k8s.metadata(GATEWAY_NAME, ns, labels, annotations={
                ai.GATEWAY_CONFIG_ANNOTATION: ai.GATEWAY_CONFIG,
                # `up` finishes only once Envoy Gateway has programmed the proxies and the load balancer has an
                # address: the address the DNS/GSLB record of this site needs.
                "pulumi.com/waitFor": "condition=Programmed"}),
            {
                "gatewayClassName": "onprem-llm",
                "listeners": [{
                    "name": "https", "protocol": "HTTPS", "port": 443, "hostname": settings.hostname,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }],
            },
            # The AI gateway's webhook adds the external processor to each proxy pod as it is created, and refuses
            # the pod while the controller is not up (failurePolicy Fail): the proxies start only after it.
            after(controller, ai_controller, tls, proxy_pull, extproc, base=in_ns))
        custom("strip-identity-headers", eg, "ClientTrafficPolicy", "strip-identity-headers",
               ai.client_traffic_policy_spec(gateway), after_eg)
        jwks_backend, trust = None, None
        if cluster.trust_bundle:
            # The proxies fetch the IdP's keys through a Backend that trusts the site's CA, and verify the model
            # servers against it.
            trust = _k8s.trust_bundle_config_map(f"{name}-trust-bundle", ns, cluster.trust_bundle,
                                                 _k8s.labels(_k8s.TRUST_BUNDLE, name, "gateway"), in_ns)
            jwks_backend = custom("jwks-backend", eg, "Backend", ai.JWKS_BACKEND,
                                  ai.jwks_backend_spec(settings.oidc, _k8s.TRUST_BUNDLE), after(controller, trust, base=in_ns))
        custom("authentication", eg, "SecurityPolicy", "require-jwt",
               ai.security_policy_spec(settings.oidc, models, gateway, ai.JWKS_BACKEND if jwks_backend else None),
               after(controller, *([jwks_backend] if jwks_backend else []), base=in_ns))
        custom("token-limits", eg, "BackendTrafficPolicy", "token-limits",
               ai.backend_traffic_policy_spec(settings, gateway, models), after_eg)

        if trust is None and any(m.tls or (m.candidate and m.candidate.tls) for m in args.models):
            raise ValueError("a model serves HTTPS but the cluster has no site trust bundle to verify it against; "
                             "config requires site.trustBundle with gateway.upstreamTls")
        backends = []
        for model, routed in zip(models, args.models, strict=True):
            backends += self._backend(name, model, routed.api_key, routed.key_generation, ns, labels, custom,
                                      after_eg, after_ai_crds, in_ns, trust if routed.tls else None)
            if routed.candidate is not None:
                canary = replace(model, key=ai.candidate_backend(model.key), backend_service=routed.candidate.service)
                backends += self._backend(name, canary, routed.candidate.api_key, routed.candidate.key_generation,
                                          ns, labels, custom, after_eg, after_ai_crds, in_ns,
                                          trust if routed.candidate.tls else None)
        for route_name, spec in ai.ai_routes(models, gateway, settings.request_timeout_seconds).items():
            custom(route_name.replace(ai.ROUTE_NAME, "route", 1), aig, "AIGatewayRoute", route_name, spec,
                   after(*backends, base=after_ai_crds))
        filters = [custom(f"models-filter-{filter_name.removeprefix('models-')}", eg, "HTTPRouteFilter", filter_name, spec,
                          after_eg) for filter_name, spec in ai.models_list_filters(models).items()]
        for index, spec in enumerate(ai.models_list_routes(models, gateway)):
            custom(f"models-route-{index}", "gateway.networking.k8s.io/v1", "HTTPRoute", f"list-models-{index}", spec,
                   after(*filters, base=after_eg))
        if args.monitoring is not None:
            custom("monitor", "monitoring.coreos.com/v1", "PodMonitor", "llm-gateway-proxies", {
                "selector": {"matchLabels": GATEWAY_PROXY_SELECTOR},
                "podMetricsEndpoints": [
                    {"portNumber": EXTPROC_METRICS_PORT, "path": "/metrics"},
                    {"portNumber": PROXY_METRICS_PORT, "path": "/stats/prometheus"},
                ],
            # kube-prometheus-stack installs the PodMonitor CRD; the label selects it for the platform's Prometheus.
            }, after(args.monitoring, base=in_ns), extra_labels=MONITOR_LABELS)
        self.address = front_door.status.apply(gateway_address)
        self.url = f"https://{settings.hostname}"
        self.base_url = f"{self.url}/v1"
        self.namespace = ns
        self.proxy_selector = dict(GATEWAY_PROXY_SELECTOR)
        self.client_namespaces = tuple(settings.client_namespaces)
        self.register_outputs({"url": self.url, "baseUrl": self.base_url, "address": self.address})

    def _backend(self, name: str, model: ai.GatewayModel, api_key: pulumi.Input[str],
                 key_generation: str, ns: str, labels: dict[str, str], custom, after_eg: pulumi.ResourceOptions,
                 after_ai_crds: pulumi.ResourceOptions, in_ns: pulumi.ResourceOptions,
                 trust: pulumi.Resource | None) -> list[pulumi.Resource]:
        """The model (or its candidate, ``model.key`` then naming the candidate's backend) as an AI gateway backend,
        with its API key injected from a Secret; with ``trust`` (the site's CAs here), reached over verified TLS."""
        secret = k8s.core.v1.Secret(
            f"{name}-{model.key}-credential",
            metadata=_k8s.metadata(ai.upstream_key_secret(model.key), ns, labels,
                                   annotations={KEY_GENERATION: key_generation}),
            type="Opaque",
            string_data={ai.UPSTREAM_KEY_ENTRY: pulumi.Output.secret(api_key)},
            opts=in_ns,
        )
        backend = custom(f"{model.key}-backend", "gateway.envoyproxy.io/v1alpha1", "Backend", model.key,
                         ai.backend_spec(model), after_eg)
        upstream = []
        if trust is not None:
            # Before the route sends prompts to it: the AIServiceBackend and the route wait for the policy.
            upstream = [custom(f"{model.key}-upstream-tls", serving_tls.POLICY_API_VERSION, serving_tls.POLICY_KIND,
                               model.key, serving_tls.backend_tls_policy_spec(
                                   model.key, serving_tls.service_host(model.backend_service, model.backend_namespace)),
                               pulumi.ResourceOptions.merge(after_eg, pulumi.ResourceOptions(
                                   depends_on=[backend, trust])))]
        service_backend = custom(f"{model.key}-ai-backend", "aigateway.envoyproxy.io/v1beta1", "AIServiceBackend",
                                 model.key, ai.ai_service_backend_spec(model),
                                 pulumi.ResourceOptions.merge(after_ai_crds, pulumi.ResourceOptions(
                                     depends_on=[backend, *upstream])))
        key = custom(f"{model.key}-upstream-key", "aigateway.envoyproxy.io/v1beta1", "BackendSecurityPolicy", model.key,
                     ai.backend_security_policy_spec(model),
                     pulumi.ResourceOptions.merge(after_ai_crds, pulumi.ResourceOptions(depends_on=[secret, service_backend])))
        return [service_backend, key]

    def _redis(self, name: str, cluster: ClusterCore, labels: dict[str, str], pull: k8s.core.v1.Secret,
               opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """The rate-limit counters: one Redis persisting to its own volume, reachable from the rate-limit service alone."""
        selector = {**ai.REDIS_SELECTOR, "app.kubernetes.io/instance": name}
        pod_labels = {**labels, **selector, "app.kubernetes.io/component": "rate-limit-store"}
        reference = pinned_reference(cluster.registry, versions.REDIS)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-redis-sa", metadata=_k8s.metadata(ai.REDIS_NAME, ai.REDIS_NAMESPACE, pod_labels),
            automount_service_account_token=False, opts=opts)
        # Month-to-date quota counts live here: the claim is protected, and a destroy refuses until it is unprotected.
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-redis-counters",
            metadata=_k8s.metadata(ai.COUNTERS_CLAIM, ai.REDIS_NAMESPACE, pod_labels),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"], storage_class_name=cluster.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": "1Gi"})),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)),
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-redis",
            metadata=_k8s.metadata(ai.REDIS_NAME, ai.REDIS_NAMESPACE, pod_labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # One writer of the append-only file at a time, and its volume attaches to one node.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=ai.redis_pod_spec(reference, _k8s.PULL_SECRET, ai.REDIS_NAME),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[pull, account, claim])),
        )
        service = k8s.core.v1.Service(
            f"{name}-redis-service",
            metadata=_k8s.metadata(ai.REDIS_NAME, ai.REDIS_NAMESPACE, pod_labels),
            spec=k8s.core.v1.ServiceSpecArgs(type="ClusterIP", selector=selector, ports=[
                k8s.core.v1.ServicePortArgs(name="redis", port=ai.REDIS_PORT, target_port=ai.REDIS_PORT, protocol="TCP")]),
            opts=opts,
        )
        return [deployment, service]

    @staticmethod
    def _envoy_gateway_rbac(name: str, labels: dict[str, str], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What Envoy Gateway caches in its own namespace beyond the chart's Roles there
        (components/builders/ai_gateway_rbac.py, envoy_gateway_own_namespace_rules)."""
        rbac, role_name = k8s.rbac.v1, "onprem-llm-envoy-gateway-endpointslices"
        role = rbac.Role(f"{name}-envoy-gateway-role-own", metadata=_k8s.metadata(role_name, CONTROLLER_NAMESPACE, labels),
                         rules=[rbac.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
                                for r in rbac_rules.envoy_gateway_own_namespace_rules()], opts=opts)
        binding = rbac.RoleBinding(
            f"{name}-envoy-gateway-binding-own", metadata=_k8s.metadata(role_name, CONTROLLER_NAMESPACE, labels),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=role_name),
            subjects=[rbac.SubjectArgs(kind="ServiceAccount", name=rbac_rules.ENVOY_GATEWAY_ACCOUNT,
                                       namespace=CONTROLLER_NAMESPACE)], opts=opts)
        return [role, binding]

    @staticmethod
    def _ai_controller_rbac(name: str, gateway_namespace: str, labels: dict[str, str],
                            opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """The AI gateway controller's account and roles (components/builders/ai_gateway_rbac.py)."""
        rbac, account = k8s.rbac.v1, rbac_rules.CONTROLLER_ACCOUNT
        own = ai.AI_GATEWAY_NAMESPACE
        subject = [rbac.SubjectArgs(kind="ServiceAccount", name=account, namespace=own)]

        def rules(found: list[dict]) -> list:
            return [rbac.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"],
                                        resource_names=r.get("resourceNames")) for r in found]

        created: list[pulumi.Resource] = [k8s.core.v1.ServiceAccount(
            f"{name}-ai-controller-sa", metadata=_k8s.metadata(account, own, labels, annotations={
                "onprem-llm.io/needs-api-token": "the controller watches the gateway's objects and writes the proxies' "
                                                 "filter configuration through the API"}), opts=opts)]
        cluster_role = f"onprem-llm-{account}"
        created += [
            rbac.ClusterRole(f"{name}-ai-controller-cluster-role", metadata=_k8s.metadata(
                cluster_role, None, labels, annotations={"checkov.io/skip1": rbac_rules.CHECKOV_SKIPS["cluster"]}),
                             rules=rules(rbac_rules.cluster_rules(own)), opts=opts),
            rbac.ClusterRoleBinding(
                f"{name}-ai-controller-cluster-binding", metadata=_k8s.metadata(cluster_role, None, labels),
                role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=cluster_role),
                subjects=subject, opts=opts),
        ]
        for suffix, namespace, found in (("gateway", gateway_namespace, rbac_rules.gateway_namespace_rules()),
                                         ("envoy-gateway", CONTROLLER_NAMESPACE, rbac_rules.envoy_gateway_namespace_rules()),
                                         ("own", own, rbac_rules.own_namespace_rules())):
            skip = {"checkov.io/skip1": rbac_rules.CHECKOV_SKIPS[suffix]} if suffix in rbac_rules.CHECKOV_SKIPS else None
            role = rbac.Role(f"{name}-ai-controller-role-{suffix}",
                             metadata=_k8s.metadata(account, namespace, labels, annotations=skip),
                             rules=rules(found), opts=opts)
            binding = rbac.RoleBinding(
                f"{name}-ai-controller-binding-{suffix}", metadata=_k8s.metadata(account, namespace, labels),
                role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=account),
                subjects=subject, opts=opts)
            created += [role, binding]
        return created

    def _gateway_policies(self, name: str, args: ModelGatewayArgs, labels: dict[str, str],
                          opts: pulumi.ResourceOptions) -> None:
        net, ns, settings = k8s.networking.v1, args.settings.namespace, args.settings
        _k8s.baseline_network_policies(name, ns, labels, opts)
        proxies = k8s.meta.v1.LabelSelectorArgs(match_labels=GATEWAY_PROXY_SELECTOR)

        def policy(suffix: str, types: list[str], **rules) -> None:
            net.NetworkPolicy(f"{name}-{suffix}", metadata=_k8s.metadata(suffix, ns, labels),
                              spec=net.NetworkPolicySpecArgs(pod_selector=proxies, policy_types=types, **rules), opts=opts)

        # Envoy listens on PROXY_PORT behind the Service's 443: the client networks, and in-cluster applications.
        policy("allow-clients", ["Ingress"], ingress=[
            net.NetworkPolicyIngressRuleArgs(
                from_=_k8s.ip_peers(settings.client_cidrs) + [_k8s.namespace_peer(n) for n in settings.client_namespaces],
                ports=_k8s.tcp(PROXY_PORT)),
        ])
        policy("allow-upstreams", ["Egress"], egress=[
            net.NetworkPolicyEgressRuleArgs(to=[_k8s.namespace_peer(args.cluster.serving_namespace)], ports=_k8s.tcp(8000)),
            net.NetworkPolicyEgressRuleArgs(to=[_k8s.namespace_peer(CONTROLLER_NAMESPACE)], ports=_k8s.tcp(18000)),
            net.NetworkPolicyEgressRuleArgs(to=[net.NetworkPolicyPeerArgs(
                namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": CONTROLLER_NAMESPACE}},
                pod_selector={"matchLabels": RATE_LIMIT_SELECTOR})], ports=_k8s.tcp(RATE_LIMIT_PORT)),
            net.NetworkPolicyEgressRuleArgs(to=_k8s.ip_peers(settings.idp_egress_cidrs), ports=_k8s.tcp(443)),
            net.NetworkPolicyEgressRuleArgs(to=_k8s.ip_peers(args.api_server_cidrs), ports=_k8s.tcp(443, 6443)),
        ])
        policy("allow-metrics-scrape", ["Ingress"], ingress=[
            net.NetworkPolicyIngressRuleArgs(from_=[_k8s.namespace_peer(args.cluster.monitoring_namespace)],
                                             ports=_k8s.tcp(PROXY_METRICS_PORT, EXTPROC_METRICS_PORT)),
        ])

    def _controller_policies(self, name: str, args: ModelGatewayArgs, labels: dict[str, str],
                             opts: pulumi.ResourceOptions) -> None:
        """The AI gateway controller: Envoy Gateway calls its extension server, the API server its webhook."""
        net, ns = k8s.networking.v1, ai.AI_GATEWAY_NAMESPACE
        _k8s.baseline_network_policies(f"{name}-ai-controller", ns, labels, opts)

        def policy(suffix: str, types: list[str], **rules) -> None:
            net.NetworkPolicy(f"{name}-ai-controller-{suffix}", metadata=_k8s.metadata(suffix, ns, labels),
                              spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=types, **rules), opts=opts)

        policy("allow-extension-server", ["Ingress"], ingress=[net.NetworkPolicyIngressRuleArgs(
            from_=[_k8s.namespace_peer(CONTROLLER_NAMESPACE)], ports=_k8s.tcp(ai.EXTENSION_PORT))])
        policy("allow-webhook", ["Ingress"], ingress=[net.NetworkPolicyIngressRuleArgs(
            from_=_k8s.ip_peers(args.api_server_cidrs), ports=_k8s.tcp(ai.WEBHOOK_PORT))])
        policy("allow-api-server", ["Egress"], egress=[net.NetworkPolicyEgressRuleArgs(
            to=_k8s.ip_peers(args.api_server_cidrs), ports=_k8s.tcp(443, 6443))])

    def _redis_policies(self, name: str, labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
        """Redis answers Envoy Gateway's rate-limit service and nothing else, and calls nobody."""
        net, ns = k8s.networking.v1, ai.REDIS_NAMESPACE
        _k8s.baseline_network_policies(f"{name}-redis", ns, labels, opts)
        net.NetworkPolicy(
            f"{name}-redis-allow-rate-limit",
            metadata=_k8s.metadata("allow-rate-limit-service", ns, labels),
            spec=net.NetworkPolicySpecArgs(
                pod_selector={"matchLabels": ai.REDIS_SELECTOR},
                policy_types=["Ingress"],
                ingress=[net.NetworkPolicyIngressRuleArgs(
                    from_=[net.NetworkPolicyPeerArgs(
                        namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": CONTROLLER_NAMESPACE}},
                        pod_selector={"matchLabels": RATE_LIMIT_SELECTOR})],
                    ports=_k8s.tcp(ai.REDIS_PORT))],
            ),
            opts=opts,
        )
