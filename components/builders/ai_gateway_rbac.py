"""The AI gateway controller's RBAC, written by the program instead of the chart, and Envoy Gateway's one missing Role.

The pinned chart (ai-gateway-helm v1.1.0, `templates/serviceaccount.yaml`) binds one ClusterRole with `*`
on Secrets, pods, deployments and daemonsets in every namespace, and no value narrows it; with
`controller.serviceAccount.create: false` it renders neither the account nor that role, and the
controller runs as the account named in `controller.serviceAccount.name`. The program creates that
account with the rights the controller's code uses (envoyproxy/ai-gateway v1.1.0), and no more:

- its cache watches only `controller.watch.namespaces` (`cmd/controller/main.go`, `setupCache`), the
  gateway's namespace, where the Gateway, routes, backends, their security policies and the proxies live;
  there it reads and writes its own API kinds and their status;
- there it reads the backends' Secrets and gets, creates, updates and deletes the proxies' filter configuration
  Secrets (`internal/controller/filter_config_bundle.go`, `gateway.go`, `mcp_route.go`), never patches them;
- it lists the proxies' pods, deployments and daemonsets and merge-patches an annotation on them to roll them
  (`internal/controller/gateway.go`, `rollout`/`getObjectsForGateway`): it never creates a workload, so it cannot
  start a pod as another account of that namespace;
- it reads Services through its cache only (`internal/controller/inference_pool.go`);
- it lists the proxies' workloads in Envoy Gateway's namespace too (`getObjectsForGateway` looks in both);
- its leader-election lease and events live in its own namespace;
- cluster-wide: the lookup of the InferencePool CRD (a Get, `internal/controller/controller.go`), the Get and
  Update of its own pod-mutating webhook's CA bundle (`maybePatchAdmissionWebhook`), and a list of the
  AIGatewayRoutes and MCPRoutes: the webhook, when its cache has no route of a proxy's Gateway, lists them with
  an uncached reader across namespaces (`internal/controller/gateway_mutator.go`). It admits Envoy Gateway's
  rate-limit pods too (failurePolicy Fail): without that list no proxy or rate-limit pod could be created.
  No GatewayClass or other cluster-scoped kind is read.
"""

from __future__ import annotations

from typing import Any

CONTROLLER_ACCOUNT = "ai-gateway-controller"
"""The name the chart's own account had, kept so the Deployment, fences and exceptions name the same subject."""
READ = ["get", "list", "watch"]
OWN_API_GROUPS = ("aigateway.envoyproxy.io", "gateway.networking.k8s.io", "gateway.envoyproxy.io",
                  "inference.networking.k8s.io")
INFERENCE_POOL_CRD = "inferencepools.inference.networking.k8s.io"
WEBHOOK = "envoy-ai-gateway-gateway-pod-mutator"
"""The chart's MutatingWebhookConfiguration, named `<WEBHOOK>.<controller namespace>`."""


CHECKOV_SKIPS = {
    # On the Role in the gateway's namespace only.
    "gateway": "CKV_K8S_49=its own API groups in the gateway namespace only: it writes the HTTPRoutes, HTTPRouteFilters and "
               "Backends it derives from AIGatewayRoutes and their status, as the chart grants",
    # On the ClusterRole: one named webhook.
    "cluster": "CKV_K8S_155=get and update of its own pod-mutating webhook only (resourceNames), to keep its CA bundle",
}
"""checkov's annotation (`checkov.io/skip1`) on the two objects whose finding is the controller's own need."""


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


def cluster_rules(controller_namespace: str) -> list[dict[str, Any]]:
    """Cluster-wide: the webhook's uncached route list, one CRD lookup, its own webhook; no Secret, pod or workload."""
    return [
        _rule(["aigateway.envoyproxy.io"], ["aigatewayroutes", "mcproutes"], ["list"]),
        _rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get"], [INFERENCE_POOL_CRD]),
        _rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations"], ["get", "update"],
              [f"{WEBHOOK}.{controller_namespace}"]),
    ]


def gateway_namespace_rules() -> list[dict[str, Any]]:
    """Where the proxies run: its routes and their status, the backends' keys, the filter configuration Secrets, and
    rolling (patching, never creating) the proxies."""
    return [
        _rule(list(OWN_API_GROUPS), ["*"], ["*"]),
        _rule([""], ["secrets"], [*READ, "create", "update", "delete"]),
        _rule([""], ["services"], READ),
        _rule([""], ["pods"], [*READ, "patch"]),
        _rule(["apps"], ["deployments", "daemonsets"], [*READ, "patch"]),
    ]


def envoy_gateway_namespace_rules() -> list[dict[str, Any]]:
    """Envoy Gateway's namespace: the controller lists the proxies there too, and only lists."""
    return [_rule([""], ["pods"], ["list"]), _rule(["apps"], ["deployments", "daemonsets"], ["list"])]


def own_namespace_rules() -> list[dict[str, Any]]:
    """Its own namespace: the leader-election lease (controller-runtime gets, creates and renews it) and its events."""
    return [
        _rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update"]),
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
