"""What an on-demand Job that calls the gateway as a user needs around it, shared by the benchmark and the evaluation.

A restricted, default-deny namespace whose only way out is the gateway's proxies, the site registry's pull secret,
the caller's bearer token and the gateway's certificate as Secrets, and a ServiceAccount without a token. The Jobs
themselves are the caller's; ``on_demand_job`` gives them the run-once shape both use.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.builders import k8s as _k8s
from components.builders.gateway_pods import GATEWAY_PROXY_SELECTOR, PROXY_PORT
from components.resources.tanzu_cluster import ClusterCore

CA_SECRET = "gateway-ca"


@dataclass(frozen=True)
class GatewayClient:
    in_namespace: pulumi.ResourceOptions
    """Options for everything else in the namespace (after it, on the cluster's provider)."""
    ready: list[pulumi.Resource]
    """What a Job must wait for: pull secret, token, certificate and ServiceAccount."""


def gateway_client(name: str, parent: pulumi.Resource, cluster: ClusterCore, namespace: str, component: str,
                   labels: dict[str, str], gateway_namespace: str, token: tuple[str, str, pulumi.Input[str]],
                   gateway_certificate: tuple[str, pulumi.Input[str]], service_account: str) -> GatewayClient:
    """``token`` is (Secret name, entry, value); ``gateway_certificate`` (entry, value) goes to Secret gateway-ca."""
    on_cluster = pulumi.ResourceOptions(parent=parent, provider=cluster.provider)
    ns = _k8s.namespace(f"{name}-ns", namespace, name, component, "restricted", cluster.kubernetes_version, on_cluster)
    in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[ns]))
    _k8s.baseline_network_policies(name, namespace, labels, in_ns)
    # The gateway's proxies on their port: the Job reaches a model as a user does, never its Service.
    _k8s.network_policy(f"{name}-allow-gateway", "allow-gateway-egress", namespace, labels, in_ns, egress=[
        _k8s.to_peers([_k8s.pods_peer(gateway_namespace, GATEWAY_PROXY_SELECTOR)], PROXY_PORT)])
    pull = _k8s.registry_pull_secret(f"{name}-registry-pull", namespace, cluster.registry_server,
                                     cluster.registry_username, cluster.registry_password, labels, in_ns)
    secrets = [opaque_secret(f"{name}-token", *token[:2], namespace, token[2], labels, in_ns),
               opaque_secret(f"{name}-gateway-ca", CA_SECRET, gateway_certificate[0], namespace, gateway_certificate[1],
                             labels, in_ns)]
    account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=_k8s.metadata(service_account, namespace, labels),
                                         automount_service_account_token=False, opts=in_ns)
    return GatewayClient(in_ns, [pull, *secrets, account])


def opaque_secret(resource_name: str, secret_name: str, entry: str, namespace: str, value: pulumi.Input[str],
                  labels: dict[str, str], opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(resource_name, metadata=_k8s.metadata(secret_name, namespace, labels),
                              type="Opaque", string_data={entry: pulumi.Output.secret(value)}, opts=opts)


def on_demand_job(resource_name: str, job: str, namespace: str, labels: dict[str, str], deadline_seconds: int,
                  pod_spec: k8s.core.v1.PodSpecArgs, ready: list, opts: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
    """A run-once Job: `pulumi up` does not wait for it (its log is the result), a failure is not retried, and a
    changed template replaces it under the same name, the old Job first."""
    return k8s.batch.v1.Job(
        resource_name,
        metadata=_k8s.metadata(job, namespace, labels, annotations={"pulumi.com/skipAwait": "true"}),
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=0,
            active_deadline_seconds=deadline_seconds,
            template=k8s.core.v1.PodTemplateSpecArgs(metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels), spec=pod_spec),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=ready, delete_before_replace=True)),
    )
