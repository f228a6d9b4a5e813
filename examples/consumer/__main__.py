"""A team's app stack that uses the onprem-llm platform through its gateway, read from its stack outputs.

It reads the platform's contract with StackReference, refuses to run against a contract major it
does not know, a namespace the gateway does not admit or a model its group may not use, and creates
the app namespace, a ConfigMap with the gateway's one OpenAI base URL, the model name and what the
app needs to get its own tokens from the identity provider, and the NetworkPolicies that let the app
reach the gateway's proxies (and the identity provider) and nothing else. There is no shared key:
the app authenticates with its own IdP token, so every call is attributed and logged at the gateway.
"""

import pulumi
import pulumi_kubernetes as k8s

SUPPORTED_CONTRACT_MAJOR = "3"

config = pulumi.Config()
model_key = config.require("model")
app_namespace = config.require("appNamespace")
app_group = config.require("appGroup")
idp_cidrs = config.require_object("idpCidrs")
platform = pulumi.StackReference(config.require("platformStack"))


def _checked(contract_version: str, clients: dict, models: dict) -> bool:
    if contract_version.split(".")[0] != SUPPORTED_CONTRACT_MAJOR:
        raise ValueError(f"platform contract {contract_version} is not major {SUPPORTED_CONTRACT_MAJOR}; update this app")
    if app_namespace not in clients["namespaces"]:
        raise ValueError(f"namespace {app_namespace!r} is not in the platform's gatewayClients.namespaces "
                         f"{clients['namespaces']}; ask the platform team to add it to gateway.clientNamespaces")
    if model_key not in models:
        raise ValueError(f"model {model_key!r} is not served by the platform ({sorted(models)})")
    if app_group not in models[model_key]["groups"]:
        raise ValueError(f"group {app_group!r} may not use {model_key!r} (admitted: {models[model_key]['groups']}); "
                         "ask the platform team to add it to gateway.modelAccess")
    return True


clients = platform.require_output("gatewayClients")
models = platform.require_output("models")
admitted = pulumi.Output.all(platform.require_output("contractVersion"), clients, models) \
    .apply(lambda values: _checked(*values))
model = models.apply(lambda m: m[model_key])
oidc = platform.require_output("oidc")

# The team's own namespace-scoped credential, not the platform's admin kubeconfig.
provider = k8s.Provider("cluster", kubeconfig=config.require_secret("clusterKubeconfig"))
on_cluster = pulumi.ResourceOptions(provider=provider)
app_labels = {"app.kubernetes.io/name": "clinical-notes", "app.kubernetes.io/part-of": "clinical-notes"}

namespace = k8s.core.v1.Namespace(
    "app",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        # Waits for the admission check, so nothing is created for a namespace the platform refuses.
        name=admitted.apply(lambda _: app_namespace),
        labels={**app_labels, **{f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}},
    ),
    opts=on_cluster,
)
in_namespace = pulumi.ResourceOptions(provider=provider, depends_on=[namespace])

# Nothing secret: the base URL, the model's name and where the app gets its own tokens.
k8s.core.v1.ConfigMap(
    "llm-client",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="llm-client", namespace=app_namespace, labels=app_labels),
    data={
        "base-url": platform.require_output("gatewayBaseUrl"),
        "model": model.apply(lambda m: m["servedModelName"]),
        "token-issuer": oidc.apply(lambda o: o["issuer"]),
        "token-audience": oidc.apply(lambda o: o["audiences"][0]),
    },
    opts=in_namespace,
)

k8s.networking.v1.NetworkPolicy(
    "default-deny",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=app_namespace, labels=app_labels),
    spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress", "Egress"]),
    opts=in_namespace,
)
k8s.networking.v1.NetworkPolicy(
    "allow-gateway",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-llm-gateway", namespace=app_namespace, labels=app_labels),
    spec=k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector={"matchLabels": app_labels},
        policy_types=["Egress"],
        egress=[
            # The gateway's proxy pods only (never the model servers), on the port behind the gateway's 443.
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": clients.apply(
                        lambda c: c["proxyNamespace"])}},
                    pod_selector={"matchLabels": clients.apply(lambda c: c["proxyPodLabels"])},
                )],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=clients.apply(lambda c: c["proxyPort"]))],
            ),
            # The identity provider, for the app's own tokens.
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                    for cidr in idp_cidrs],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
            ),
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    pod_selector={"matchLabels": {"k8s-app": "kube-dns"}},
                )],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")],
            ),
        ],
    ),
    opts=in_namespace,
)

pulumi.export("baseUrl", platform.require_output("gatewayBaseUrl"))
pulumi.export("model", model.apply(lambda m: m["servedModelName"]))
pulumi.export("clientConfigMap", "llm-client")
