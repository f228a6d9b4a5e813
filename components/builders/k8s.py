"""Shared helpers for the Kubernetes objects the components define."""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_kubernetes as k8s

from components.builders.monitoring import PROMETHEUS_POD_LABELS

PART_OF = "onprem-llm"
EXCEPTION_REASON = "onprem-llm.io/pod-security-exception"
"""Annotation on a namespace whose Pod Security level is relaxed, saying why."""
PSA_LEVELS = ("enforce", "audit", "warn")


def labels(name: str, instance: str, component: str) -> dict[str, str]:
    """The recommended app.kubernetes.io labels every object of the platform carries."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def metadata(name: str, namespace: str | None, object_labels: dict[str, str], **extra) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=object_labels, **extra)


def pod_security_labels(level: str, kubernetes_version: str) -> dict[str, str]:
    """Pod Security Admission labels for all three modes, pinned to the cluster's minor version."""
    result = {}
    for mode in PSA_LEVELS:
        result[f"pod-security.kubernetes.io/{mode}"] = level
        result[f"pod-security.kubernetes.io/{mode}-version"] = f"v{kubernetes_version}"
    return result


def namespace(resource_name: str, name: str, instance: str, component: str, level: str, kubernetes_version: str,
              opts: pulumi.ResourceOptions, reason: str | None = None) -> k8s.core.v1.Namespace:
    """A namespace with Pod Security labels for all three modes; ``reason`` documents a relaxed level."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            labels={**labels(name, instance, component), **pod_security_labels(level, kubernetes_version)},
            annotations={EXCEPTION_REASON: reason} if reason else None,
        ),
        opts=opts,
    )


def baseline_network_policies(prefix: str, namespace: str, object_labels: dict[str, str],
                              opts: pulumi.ResourceOptions) -> None:
    """Default-deny for every pod of the namespace, then DNS, which every pod needs (UDP and TCP)."""
    net = k8s.networking.v1
    net.NetworkPolicy(
        f"{prefix}-default-deny",
        metadata=metadata("default-deny", namespace, object_labels),
        spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress", "Egress"]),
        opts=opts,
    )
    net.NetworkPolicy(
        f"{prefix}-allow-dns",
        metadata=metadata("allow-dns-egress", namespace, object_labels),
        spec=net.NetworkPolicySpecArgs(
            pod_selector={},
            policy_types=["Egress"],
            egress=[net.NetworkPolicyEgressRuleArgs(
                to=[net.NetworkPolicyPeerArgs(
                    namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    pod_selector={"matchLabels": {"k8s-app": "kube-dns"}},
                )],
                ports=[net.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")],
            )],
        ),
        opts=opts,
    )


PULL_SECRET = "registry-pull"


def registry_pull_secret(resource_name: str, namespace: str, server: str, username: str,
                         password: pulumi.Input[str], object_labels: dict[str, str],
                         opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    """The private registry's credentials as a dockerconfigjson Secret named PULL_SECRET."""
    def docker_config(secret: str) -> str:
        token = base64.b64encode(f"{username}:{secret}".encode()).decode()
        return json.dumps({"auths": {server: {"username": username, "password": secret, "auth": token}}})

    return k8s.core.v1.Secret(
        resource_name,
        metadata=metadata(PULL_SECRET, namespace, object_labels),
        type="kubernetes.io/dockerconfigjson",
        string_data={".dockerconfigjson": pulumi.Output.secret(pulumi.Output.from_input(password).apply(docker_config))},
        opts=opts,
    )


def ip_peers(cidrs: tuple[str, ...]) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
    """NetworkPolicy peers for address blocks outside the cluster."""
    return [k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=c)) for c in cidrs]


def namespace_peer(namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """A NetworkPolicy peer for every pod of one namespace, by its immutable name label."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": namespace}})


def prometheus_peer(monitoring_namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """The Prometheus pods of the monitoring namespace, by namespace and pod labels."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": monitoring_namespace}},
        pod_selector={"matchLabels": dict(PROMETHEUS_POD_LABELS)})


def tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]


def allow_store_and_api_egress(resource_name: str, object_name: str, namespace: str, object_labels: dict[str, str],
                               store_cidrs: tuple[str, ...], api_server_cidrs: tuple[str, ...],
                               opts: pulumi.ResourceOptions) -> None:
    """Egress for pods that write to an object store (443) and watch the API server (443, 6443)."""
    net = k8s.networking.v1
    net.NetworkPolicy(
        resource_name,
        metadata=metadata(object_name, namespace, object_labels),
        spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Egress"], egress=[
            net.NetworkPolicyEgressRuleArgs(to=ip_peers(store_cidrs), ports=tcp(443)),
            net.NetworkPolicyEgressRuleArgs(to=ip_peers(api_server_cidrs), ports=tcp(443, 6443)),
        ]),
        opts=opts,
    )


def allow_metrics_scrape(resource_name: str, namespace: str, object_labels: dict[str, str], monitoring_namespace: str,
                         port: int, opts: pulumi.ResourceOptions) -> None:
    """Ingress from the Prometheus pods of the monitoring namespace to the metrics port of every pod."""
    net = k8s.networking.v1
    net.NetworkPolicy(
        resource_name,
        metadata=metadata("allow-metrics-scrape", namespace, object_labels),
        spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress"], ingress=[
            net.NetworkPolicyIngressRuleArgs(from_=[prometheus_peer(monitoring_namespace)], ports=tcp(port)),
        ]),
        opts=opts,
    )


def network_policy(resource_name: str, object_name: str, namespace: str, object_labels: dict[str, str],
                   opts: pulumi.ResourceOptions, pods: dict[str, str] | None = None,
                   ingress: list | None = None, egress: list | None = None) -> k8s.networking.v1.NetworkPolicy:
    """One opening in a default-deny namespace: ``ingress`` and/or ``egress`` rules for the selected ``pods``."""
    net = k8s.networking.v1
    types = (["Ingress"] if ingress is not None else []) + (["Egress"] if egress is not None else [])
    return net.NetworkPolicy(
        resource_name,
        metadata=metadata(object_name, namespace, object_labels),
        spec=net.NetworkPolicySpecArgs(pod_selector={"matchLabels": pods} if pods else {}, policy_types=types,
                                       ingress=ingress, egress=egress),
        opts=opts,
    )


def from_peers(peers: list, *ports: int) -> k8s.networking.v1.NetworkPolicyIngressRuleArgs:
    return k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers, ports=tcp(*ports))


def to_peers(peers: list, *ports: int) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=peers, ports=tcp(*ports))


def pods_peer(namespace: str, pods: dict[str, str]) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """Pods with ``pods`` labels in one namespace (by its immutable name label)."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        pod_selector={"matchLabels": dict(pods)})


TRUST_BUNDLE = "site-trust-bundle"
"""ConfigMap holding the site's CA certificates (site.trustBundle), in each namespace whose pods call internal HTTPS."""
TRUST_BUNDLE_KEY = "ca.crt"
"""Its key: the name Envoy Gateway's caCertificateRefs read, and the file the pods mount."""
TRUST_BUNDLE_DIR = "/etc/site-trust"
TRUST_BUNDLE_FILE = f"{TRUST_BUNDLE_DIR}/{TRUST_BUNDLE_KEY}"


def trust_bundle_config_map(resource_name: str, namespace: str, pem: str, object_labels: dict[str, str],
                            opts: pulumi.ResourceOptions) -> k8s.core.v1.ConfigMap:
    """The site's CA certificates (public material, so a ConfigMap) where a namespace's pods verify internal TLS."""
    return k8s.core.v1.ConfigMap(resource_name, metadata=metadata(TRUST_BUNDLE, namespace, object_labels),
                                 data={TRUST_BUNDLE_KEY: pem}, opts=opts)


def trust_bundle_volume() -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(name="site-trust", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
        name=TRUST_BUNDLE, items=[k8s.core.v1.KeyToPathArgs(key=TRUST_BUNDLE_KEY, path=TRUST_BUNDLE_KEY)]))


def trust_bundle_mount() -> k8s.core.v1.VolumeMountArgs:
    return k8s.core.v1.VolumeMountArgs(name="site-trust", mount_path=TRUST_BUNDLE_DIR, read_only=True)
