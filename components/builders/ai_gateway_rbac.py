"""The AI gateway controller's RBAC, written by the program instead of the chart, and Envoy Gateway's one missing Role.

The pinned chart (ai-gateway-helm v1.1.0, `templates/serviceaccount.yaml`) binds one ClusterRole with `*`
on Secrets, pods, deployments and daemonsets in every namespace, and no value narrows it; with
`controller.serviceAccount.create: false` it renders neither the account nor that role, and the
controller runs as the account named in `controller.serviceAccount.name`. The program creates that
account with the rights the controller's code uses (envoyproxy/ai-gateway v1.1.0):

- its cache watches only `controller.watch.namespaces` (`cmd/controller/main.go`, `setupCache`), the
  gateway's namespace, where the Gateway, routes, backends, their security policies and the proxies live;
- there it reads the backends' Secrets and writes the proxies' filter configuration Secret
  (`internal/controller/filter_config_bundle.go`), and patches the proxies' pods, deployments and
  daemonsets to roll them (`internal/controller/gateway.go`);
- it lists the proxies' workloads in Envoy Gateway's namespace too (`getObjectsForGateway` looks in both);
- its leader-election lease and events live in its own namespace;
- cluster-wide it needs only reads of its own API groups, the CRD lookups, and the CA bundle of its pod-mutating
  webhook (`maybePatchAdmissionWebhook`).
"""

from __future__ import annotations

from typing import Any

CONTROLLER_ACCOUNT = "ai-gateway-controller"
"""The name the chart's own account had, kept so the Deployment, fences and exceptions name the same subject."""
READ = ["get", "list", "watch"]
OWN_API_GROUPS = ("aigateway.envoyproxy.io", "gateway.networking.k8s.io", "gateway.envoyproxy.io",
                  "inference.networking.k8s.io")


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


def cluster_rules(controller_namespace: str) -> list[dict[str, Any]]:
    """Cluster-wide: reads of the gateway API kinds (GatewayClass is cluster-scoped), no Secret, pod or workload."""
    return [
        _rule(list(OWN_API_GROUPS), ["*"], READ),
        _rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list"]),
        _rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations"], READ),
        _rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations"], ["update", "patch"],
              [f"envoy-ai-gateway-gateway-pod-mutator.{controller_namespace}"]),
    ]


def gateway_namespace_rules() -> list[dict[str, Any]]:
    """Where the proxies run: its routes and their status, the backends' keys, the filter configuration Secret, and
    rolling the proxies."""
    return [
        _rule(list(OWN_API_GROUPS), ["*"], ["*"]),
        _rule([""], ["secrets", "services", "pods"], ["*"]),
        _rule(["apps"], ["deployments", "daemonsets"], ["*"]),
        _rule(["", "events.k8s.io"], ["events"], ["create", "patch"]),
    ]


def envoy_gateway_namespace_rules() -> list[dict[str, Any]]:
    """Envoy Gateway's namespace: the controller looks for the proxies there too, and only looks."""
    return [_rule([""], ["pods"], READ), _rule(["apps"], ["deployments", "daemonsets"], READ)]


def own_namespace_rules() -> list[dict[str, Any]]:
    """Its own namespace: the leader-election lease and its events."""
    return [
        _rule(["coordination.k8s.io"], ["leases"], ["get", "list", "watch", "create", "update", "patch"]),
        _rule(["", "events.k8s.io"], ["events"], ["create", "patch"]),
    ]


# -- Envoy Gateway ---------------------------------------------------------------------------------------

ENVOY_GATEWAY_ACCOUNT = "envoy-gateway"
"""The controller's account (chart gateway-helm v1.9.0), in its own namespace."""


def envoy_gateway_own_namespace_rules() -> list[dict[str, Any]]:
    """What Envoy Gateway caches in its own namespace and the chart does not grant there.

    With `watch.type: Namespaces` its cache (envoyproxy/gateway v1.9.0, `internal/provider/kubernetes/kubernetes.go`)
    watches ConfigMaps, Services and EndpointSlices in the watched namespaces and its own, and the controller always
    watches EndpointSlices (`controller.go`). The chart binds EndpointSlice reads in the watched namespaces only
    (`_rbac.tpl`, `eg.rbac.namespaced.discovery`); without this Role the informer is forbidden, the cache never syncs
    and the controller never becomes ready."""
    return [_rule(["discovery.k8s.io"], ["endpointslices"], READ)]
