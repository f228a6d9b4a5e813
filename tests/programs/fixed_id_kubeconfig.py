"""The kubeconfig read TanzuCluster used to do: a Cluster, then its Secret by a fixed id with depends_on.

Kept as a regression program: the preview of a new stack must fail on it, with the engine's message.
"""

import pulumi
import pulumi_kubernetes as k8s

supervisor = k8s.Provider("supervisor", kubeconfig="apiVersion: v1\nkind: Config\n", namespace="llm-platform-dev")
on_supervisor = pulumi.ResourceOptions(provider=supervisor)
cluster = k8s.apiextensions.CustomResource(
    "cluster", api_version="cluster.x-k8s.io/v1beta1", kind="Cluster",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="llm-dev", namespace="llm-platform-dev"),
    spec={"topology": {"class": "tanzukubernetescluster", "version": "v1.29.4"}},
    opts=on_supervisor,
)
secret = k8s.core.v1.Secret.get(
    "kubeconfig", "llm-platform-dev/llm-dev-kubeconfig",
    opts=pulumi.ResourceOptions(provider=supervisor, depends_on=[cluster]),
)
pulumi.export("kubeconfigKeys", secret.data.apply(lambda data: sorted(data or {})))
