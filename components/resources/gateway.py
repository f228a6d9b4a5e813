"""ModelGateway: the one way into the model endpoints, authenticating every caller.

Envoy Gateway (pinned) runs the proxies in the gateway namespace, the one the endpoints'
NetworkPolicies admit. A single HTTPS listener terminates TLS with the site's certificate; a
SecurityPolicy makes every route require a JWT from the site's identity provider and copies the
caller's identity claim into a header that rate limits and access logs key on. Each model gets an
HTTPRoute that exposes only the OpenAI API paths under `/<model key>/v1/...`, rewritten to vLLM's
`/v1/...`, and an HTTPRouteFilter that injects the model's API key from a Secret, so clients never
hold it. Access logs record who, which model, when, status and duration, never bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.builders import k8s as _k8s
from components.builders.charts import mirrored, release_args
from components.config.model import GatewayConfig
from components.planning import waits
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:ModelGateway"
CONTROLLER_NAMESPACE = "envoy-gateway-system"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_NAME = "llm-gateway"
TLS_SECRET = "llm-gateway-tls"
USER_HEADER = "x-llm-user"
API_PATHS = ("/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings")
"""The only paths routed; /metrics, /health, /tokenize, /pause and dev endpoints are not."""
ACCESS_LOG_FORMAT = {
    "start_time": "%START_TIME%",
    "user": f"%REQ({USER_HEADER})%",
    "route": "%ROUTE_NAME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "status": "%RESPONSE_CODE%",
    "duration_ms": "%DURATION%",
    "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "bytes_sent": "%BYTES_SENT%",
}
"""One JSON line per request; request and response bodies (prompts, completions) are never logged."""


@dataclass(frozen=True)
class RoutedModel:
    key: str
    service: str
    port: int
    api_key: pulumi.Input[str]


@dataclass(frozen=True)
class ModelGatewayArgs:
    settings: GatewayConfig
    cluster: ClusterCore
    models: tuple[RoutedModel, ...]
    tls_certificate: pulumi.Input[str]
    tls_key: pulumi.Input[str]
    api_server_cidrs: tuple[str, ...]


class ModelGateway(pulumi.ComponentResource):
    url: str
    """https://<hostname>"""
    model_urls: dict[str, str]
    """Per model key, the OpenAI base URL clients use."""

    def __init__(self, name: str, args: ModelGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        settings, cluster = args.settings, args.cluster
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        ns, labels = settings.namespace, _k8s.labels("llm-gateway", name, "gateway")
        version = cluster.kubernetes_version

        controller_ns = _k8s.namespace(f"{name}-ns-controller", CONTROLLER_NAMESPACE, name, "gateway-controller",
                                       "restricted", version, on_cluster)
        gateway_ns = _k8s.namespace(f"{name}-ns", ns, name, "gateway", "restricted", version, on_cluster)
        in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[gateway_ns]))
        _k8s.baseline_network_policies(name, ns, labels, in_ns)
        self._network_policies(name, args, labels, in_ns)

        proxy_image = f"{mirrored(cluster.registry_server, versions.ENVOY_PROXY.image)}:{versions.ENVOY_PROXY.tag}"
        proxy_pull = _k8s.registry_pull_secret(f"{name}-registry-pull", ns, cluster.registry_server,
                                               cluster.registry_username, cluster.registry_password, labels, in_ns)
        chart = versions.ENVOY_GATEWAY
        controller = k8s.helm.v3.Release(
            f"{name}-envoy-gateway",
            name="envoy-gateway",
            **release_args(chart, cluster.registry),
            namespace=CONTROLLER_NAMESPACE,
            values={
                "global": {"imageRegistry": cluster.registry_server, "imagePullSecrets": [{"name": _k8s.PULL_SECRET}],
                           "images": {"envoyProxy": {"image": proxy_image}}},
                # Proxies run in each Gateway's own namespace, the one the model endpoints admit.
                "config": {"envoyGateway": {"provider": {"type": "Kubernetes", "kubernetes": {
                    "deploy": {"type": "GatewayNamespace"},
                }}}},
            },
            timeout=waits.release_seconds(cluster.waits),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[
                controller_ns,
                _k8s.registry_pull_secret(f"{name}-registry-pull-controller", CONTROLLER_NAMESPACE,
                                          cluster.registry_server, cluster.registry_username, cluster.registry_password,
                                          labels, pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                                              depends_on=[controller_ns]))),
            ])),
        )
        after_controller = pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[controller]))

        def custom(suffix: str, api_version: str, kind: str, object_name: str, spec: dict,
                   namespace: str | None = ns, options: pulumi.ResourceOptions = after_controller):
            return k8s.apiextensions.CustomResource(
                f"{name}-{suffix}", api_version=api_version, kind=kind,
                metadata=_k8s.metadata(object_name, namespace, labels), spec=spec, opts=options,
            )

        custom("proxy-config", "gateway.envoyproxy.io/v1alpha1", "EnvoyProxy", "llm-gateway-proxy", {
            "provider": {"type": "Kubernetes", "kubernetes": {
                # This object replaces the controller's proxy defaults, so it names the mirrored image itself.
                "envoyDeployment": {
                    "container": {"image": proxy_image},
                    "pod": {"imagePullSecrets": [{"name": _k8s.PULL_SECRET}]},
                },
                # The load balancer answers only the configured client networks.
                "envoyService": {"loadBalancerSourceRanges": list(settings.client_cidrs)},
            }},
            "telemetry": {"accessLog": {"settings": [{
                "format": {"type": "JSON", "json": ACCESS_LOG_FORMAT},
                "sinks": [{"type": "File", "file": {"path": "/dev/stdout"}}],
            }]}},
        })
        custom("class", "gateway.networking.k8s.io/v1", "GatewayClass", "onprem-llm", {
            "controllerName": CONTROLLER_NAME,
            "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": "llm-gateway-proxy",
                              "namespace": ns},
        }, namespace=None)
        tls = k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=_k8s.metadata(TLS_SECRET, ns, labels),
            type="kubernetes.io/tls",
            string_data={"tls.crt": pulumi.Output.secret(args.tls_certificate),
                         "tls.key": pulumi.Output.secret(args.tls_key)},
            opts=in_ns,
        )
        custom("gateway", "gateway.networking.k8s.io/v1", "Gateway", GATEWAY_NAME, {
            "gatewayClassName": "onprem-llm",
            "listeners": [{
                "name": "https", "protocol": "HTTPS", "port": 443, "hostname": settings.hostname,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }],
        }, options=pulumi.ResourceOptions.merge(after_controller, pulumi.ResourceOptions(depends_on=[tls, proxy_pull])))
        gateway_ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME}
        custom("authentication", "gateway.envoyproxy.io/v1alpha1", "SecurityPolicy", "require-jwt", {
            "targetRefs": [gateway_ref],
            "jwt": {"providers": [{
                "name": "site-idp",
                "issuer": settings.oidc.issuer,
                "audiences": list(settings.oidc.audiences),
                "remoteJWKS": {"uri": settings.oidc.jwks_uri},
                "claimToHeaders": [{"claim": settings.oidc.user_claim, "header": USER_HEADER}],
            }]},
        })
        custom("rate-limit", "gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy", "per-user-rate-limit", {
            "targetRefs": [gateway_ref],
            "rateLimit": {"type": "Local", "local": {"rules": [{
                "clientSelectors": [{"headers": [{"name": USER_HEADER, "type": "Distinct"}]}],
                "limit": {"requests": settings.requests_per_minute_per_user, "unit": "Minute"},
            }]}},
        })
        # Routes in the gateway namespace reach Services in the serving namespace only through this grant.
        # The Envoy Gateway chart installs the Gateway API CRDs, ReferenceGrant's among them.
        custom("backend-grant", "gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "llm-gateway-backends", {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": ns}],
            "to": [{"group": "", "kind": "Service"}],
        }, namespace=cluster.serving_namespace, options=pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[controller])))

        self.url = f"https://{settings.hostname}"
        self.model_urls = {}
        for model in args.models:
            self._route(name, model, ns, cluster.serving_namespace, labels, gateway_ref, after_controller, in_ns)
            self.model_urls[model.key] = f"{self.url}/{model.key}/v1"
        self.register_outputs({"url": self.url, "modelUrls": self.model_urls})

    def _route(self, name: str, model: RoutedModel, ns: str, serving_ns: str, labels: dict[str, str],
               gateway_ref: dict, options: pulumi.ResourceOptions, in_ns: pulumi.ResourceOptions) -> None:
        credential = f"{model.key}-upstream-key"
        secret = k8s.core.v1.Secret(
            f"{name}-{model.key}-credential",
            metadata=_k8s.metadata(credential, ns, labels),
            type="Opaque",
            string_data={"credential": pulumi.Output.secret(
                pulumi.Output.from_input(model.api_key).apply(lambda key: f"Bearer {key}"))},
            opts=in_ns,
        )
        after_secret = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=[secret]))
        k8s.apiextensions.CustomResource(
            f"{name}-{model.key}-inject-key",
            api_version="gateway.envoyproxy.io/v1alpha1",
            kind="HTTPRouteFilter",
            metadata=_k8s.metadata(f"{model.key}-inject-key", ns, labels),
            spec={"credentialInjection": {"overwrite": True, "credential": {"valueRef": {"name": credential}}}},
            opts=after_secret,
        )
        rules = [{
            "matches": [{"path": {"type": "Exact", "value": f"/{model.key}{path}"}}],
            "filters": [
                {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": path}}},
                {"type": "ExtensionRef", "extensionRef": {"group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter",
                                                          "name": f"{model.key}-inject-key"}},
            ],
            "backendRefs": [{"group": "", "kind": "Service", "name": model.service, "namespace": serving_ns,
                             "port": model.port}],
        } for path in API_PATHS]
        k8s.apiextensions.CustomResource(
            f"{name}-{model.key}-route",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=_k8s.metadata(model.key, ns, labels),
            spec={"parentRefs": [{**gateway_ref, "sectionName": "https"}], "rules": rules},
            opts=after_secret,
        )

    def _network_policies(self, name: str, args: ModelGatewayArgs, labels: dict[str, str],
                          opts: pulumi.ResourceOptions) -> None:
        net, ns, settings = k8s.networking.v1, args.settings.namespace, args.settings

        def policy(suffix: str, types: list[str], **rules) -> None:
            net.NetworkPolicy(f"{name}-{suffix}", metadata=_k8s.metadata(suffix, ns, labels),
                              spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=types, **rules), opts=opts)

        # Envoy listens on 10443 behind the Service's 443.
        policy("allow-clients", ["Ingress"], ingress=[
            net.NetworkPolicyIngressRuleArgs(from_=_k8s.ip_peers(settings.client_cidrs), ports=_k8s.tcp(10443)),
        ])
        policy("allow-upstreams", ["Egress"], egress=[
            net.NetworkPolicyEgressRuleArgs(to=[_k8s.namespace_peer(args.cluster.serving_namespace)], ports=_k8s.tcp(8000)),
            net.NetworkPolicyEgressRuleArgs(to=[_k8s.namespace_peer(CONTROLLER_NAMESPACE)], ports=_k8s.tcp(18000)),
            net.NetworkPolicyEgressRuleArgs(to=_k8s.ip_peers(settings.idp_egress_cidrs), ports=_k8s.tcp(443)),
            net.NetworkPolicyEgressRuleArgs(to=_k8s.ip_peers(args.api_server_cidrs), ports=_k8s.tcp(443, 6443)),
        ])
        policy("allow-metrics-scrape", ["Ingress"], ingress=[
            net.NetworkPolicyIngressRuleArgs(from_=[_k8s.namespace_peer(args.cluster.monitoring_namespace)],
                                             ports=_k8s.tcp(19001)),
        ])
