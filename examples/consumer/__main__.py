"""A team's app stack that uses one model of the onprem-llm platform through its stack outputs.

It reads the platform's contract with StackReference, refuses to run against a contract major it
does not know or a namespace the platform does not admit, and creates the app namespace, a Secret
with the model's API key and base URL for the app, and the NetworkPolicies that let the app reach
the model endpoint and nothing else.
"""

import pulumi
import pulumi_kubernetes as k8s

SUPPORTED_CONTRACT_MAJOR = "1"

config = pulumi.Config()
model_key = config.require("model")
app_namespace = config.require("appNamespace")
platform = pulumi.StackReference(config.require("platformStack"))


def _checked(contract_version: str, gateways: list[str]) -> bool:
    if contract_version.split(".")[0] != SUPPORTED_CONTRACT_MAJOR:
        raise ValueError(f"platform contract {contract_version} is not major {SUPPORTED_CONTRACT_MAJOR}; update this app")
    if app_namespace not in gateways:
        raise ValueError(f"namespace {app_namespace!r} is not in the platform's gatewayNamespaces {gateways}; "
                         "ask the platform team to add it to tanzu.gatewayNamespaces")
    return True


admitted = pulumi.Output.all(platform.require_output("contractVersion"), platform.require_output("gatewayNamespaces")) \
    .apply(lambda values: _checked(*values))
endpoint = platform.require_output("models").apply(lambda models: models[model_key])
api_key = pulumi.Output.secret(platform.require_output("apiKeys").apply(lambda keys: keys[model_key]))

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

k8s.core.v1.Secret(
    "model-credentials",
    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{model_key}-client", namespace=app_namespace, labels=app_labels),
    string_data={
        "api-key": api_key,
        "base-url": endpoint.apply(lambda e: e["baseUrl"]),
        "model": endpoint.apply(lambda e: e["servedModelName"]),
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
    "allow-model",
    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"allow-{model_key}", namespace=app_namespace, labels=app_labels),
    spec=k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector={"matchLabels": app_labels},
        policy_types=["Egress"],
        egress=[
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": endpoint.apply(lambda e: e["namespace"])}},
                )],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=endpoint.apply(lambda e: e["port"]))],
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

pulumi.export("modelBaseUrl", endpoint.apply(lambda e: e["baseUrl"]))
pulumi.export("credentialsSecret", f"{model_key}-client")
