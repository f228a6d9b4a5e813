"""TanzuCluster: the workload cluster on a vSphere Supervisor, its add-ons and baseline namespaces."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vsphere as vsphere

from components import versions
from components.builders import k8s as _k8s
from components.builders.charts import mirrored, pinned_tag, release_args
from components.builders.cluster_spec import UBUNTU_IMAGE, NodeShape, clusterclass_spec, tkc_spec
from components.builders.gpu_operator import GRIDD_CONF, LICENSING_SECRET, gpu_operator_values
from components.builders.k8s import PULL_SECRET
from components.builders.monitoring import PROMETHEUS_PORT
from components.config import AddonsConfig, GpuPoolConfig, TanzuConfig
from components.config.model import NamespaceGrantConfig, RegistryConfig, WaitsConfig
from components.planning import waits
from components.resources.gpu_host_pool import GpuHostPool
from components.resources.namespace_access import NamespaceAccess
from components.supervisor_login import LoginExpired, require_login_lasts

TYPE = "onprem:platform:TanzuCluster"


def _grant_suffix(principal: str) -> str:
    """A principal as part of a resource name: HOSPITAL.EXAMPLE\\llm-operators -> hospital-example-llm-operators."""
    return re.sub(r"[^a-z0-9]+", "-", principal.lower()).strip("-")
LWS_IMAGE = "registry.k8s.io/lws/lws"
# KEDA's image of each component, as the chart's values name them.
KEDA_IMAGES = {"keda": "keda", "metricsApiServer": "keda-metrics-apiserver", "webhooks": "keda-admission-webhooks"}
"""The LeaderWorkerSet controller image the chart pulls (its values.yaml), mirrored under the same path."""
LWS_WEBHOOK_PORT = 9443
KEDA_UID = 10001
"""KEDA's pods run as this UID and group (the images' own is 1000; checkov wants one above the node's users)."""


@dataclass(frozen=True)
class ClusterCore:
    """What components running on the workload cluster need from it (not the whole cluster)."""

    provider: k8s.Provider
    cluster_name: str
    kubernetes_version: str
    serving_namespace: str
    monitoring_namespace: str
    gateway_namespaces: tuple[str, ...]
    image_pull_secret: str
    storage_class: str
    registry: RegistryConfig
    """Where every image and (air-gapped) every chart comes from."""
    registry_server: str
    registry_username: str
    registry_password: pulumi.Input[str]
    """Secret; lets components create pull secrets in namespaces of their own."""
    keda: pulumi.Resource
    """The KEDA Release: ScaledObjects wait for it, since it installs their CRD."""
    gpu_operator: pulumi.Resource
    """The GPU Operator Release: GPU workloads wait for it (device plugin and driver)."""
    waits: WaitsConfig
    """Estimates the components' timeouts derive from (``components.planning.waits``)."""
    leader_worker_set: pulumi.Resource | None = None
    """The LeaderWorkerSet controller's Release: models across nodes wait for it (CRD and webhooks); None when no
    model spans nodes."""
    trust_bundle: str | None = None
    """The site's CA certificates (PEM, site.trustBundle) for calls to internal HTTPS services; the serving and
    monitoring namespaces hold them as the ConfigMap ``site-trust-bundle``, other components make their own."""


@dataclass(frozen=True)
class TanzuClusterArgs:
    tanzu: TanzuConfig
    """Supervisor, cluster shape, namespaces and registry."""
    addons: AddonsConfig
    """GPU Operator driver source and add-on namespaces."""
    pool: GpuPoolConfig
    """Node sizing: system nodes and GPU node disks."""
    host_pool: GpuHostPool
    """The site's GPU host pool: vSphere provider, VM classes and storage policy."""
    privileged_namespaces: dict[str, str]
    """Namespaces allowed the privileged Pod Security level, with the reason (compliance config)."""
    supervisor_kubeconfig: pulumi.Input[str]
    """Kubeconfig with rights in the vSphere Namespace; a Pulumi secret."""
    namespace_grants: tuple[NamespaceGrantConfig, ...]
    """The vSphere Namespace's access entries (``PlatformConfig.namespace_grants``)."""
    registry_password: pulumi.Input[str]
    """Password of the registry robot account; a Pulumi secret."""
    nls_client_token: pulumi.Input[str] | None = None
    """NVIDIA License System client token; a Pulumi secret; required in vgpu mode."""
    waits: WaitsConfig = field(default_factory=WaitsConfig)
    """Estimates the timeouts derive from. Default: the ``waits`` section's defaults."""
    leader_worker_set: bool = False
    """Install the LeaderWorkerSet controller (a model spans nodes). Default: false."""
    trust_bundle: str | None = None
    """The site's CA certificates (PEM) for calls to internal HTTPS services. Default: none."""


class TanzuCluster(pulumi.ComponentResource):
    """Creates the vSphere Namespace and workload cluster, reads its kubeconfig, installs add-ons."""

    k8s_provider: k8s.Provider
    """Provider for the workload cluster; every later component deploys with it."""
    kubeconfig: pulumi.Output[str]
    """Admin kubeconfig of the workload cluster (secret)."""
    core: ClusterCore
    node_pools: list[dict]
    """Per node pool: name, replicas, GPUs per node and vGPU profile (stack output)."""

    def __init__(self, name: str, args: TanzuClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        tanzu, pool, host_pool = args.tanzu, args.pool, args.host_pool
        shape = NodeShape(
            gpu_vm_class=host_pool.gpu_vm_class, system_vm_class=host_pool.system_vm_class,
            storage_class=host_pool.storage_policy_name, gpu_nodes=host_pool.gpu_nodes,
            system_nodes=pool.system_nodes, containerd_disk_gib=pool.containerd_disk_gib,
            kubelet_disk_gib=pool.kubelet_disk_gib,
        )

        vsphere_namespace = vsphere.Namespace(
            f"{name}-vsphere-namespace",
            supervisor=tanzu.supervisor_id,
            name=tanzu.supervisor_namespace,
            storage_policies=[host_pool.storage_policy_id],
            vm_services=[vsphere.NamespaceVmServiceArgs(vm_classes=[shape.gpu_vm_class, shape.system_vm_class])],
            opts=pulumi.ResourceOptions(parent=self, provider=host_pool.provider),
        )
        # vCenter grants namespace access per principal; the identity behind the Supervisor kubeconfig needs its
        # entry before it may create anything there.
        grants = [
            NamespaceAccess(
                # Named by principal alone: vCenter keeps one entry per principal, so a new type is that entry replaced.
                f"{name}-namespace-access-{_grant_suffix(grant.principal)}", host_pool.vcenter,
                vsphere_namespace.name, grant.principal, grant.type.upper(), grant.role.upper(),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[vsphere_namespace]),
            )
            for grant in args.namespace_grants
        ]
        # The Supervisor login must outlast the longest wait on the Supervisor: the cluster's create or roll.
        nodes = (tanzu.control_plane.replicas, shape.gpu_nodes + shape.system_nodes)
        supervisor_wait = max(waits.cluster_create_seconds(*nodes, args.waits), waits.cluster_update_seconds(*nodes, args.waits))
        supervisor = k8s.Provider(
            f"{name}-supervisor",
            kubeconfig=pulumi.Output.secret(args.supervisor_kubeconfig).apply(
                lambda text: _login_lasting(require_kubeconfig(text, "the Supervisor kubeconfig (secret config)"),
                                            supervisor_wait)
            ),
            namespace=tanzu.supervisor_namespace,
            enable_server_side_apply=True,
            # A re-login, an IP instead of the FQDN or a new CA changes the kubeconfig: that must update
            # the provider, not replace every object on it (the workload cluster included).
            cluster_identifier=f"supervisor/{tanzu.supervisor_id}/{tanzu.supervisor_namespace}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_supervisor = pulumi.ResourceOptions(parent=self, provider=supervisor, depends_on=[vsphere_namespace, *grants])
        cluster = self._cluster(name, tanzu, shape, args.waits, on_supervisor)

        # Cluster API stores the admin kubeconfig in "<cluster>-kubeconfig", data key "value". The id
        # comes from the Cluster's own id, so the read waits for the Cluster in `pulumi up` and is
        # skipped in the preview of a new stack, where the Cluster's id is unknown: with a fixed id the
        # engine would run the read in that preview (depends_on does not delay reads) and fail on a
        # Secret that does not exist yet.
        secret_id = f"{tanzu.supervisor_namespace}/{tanzu.cluster_name}-kubeconfig"
        kubeconfig_secret = k8s.core.v1.Secret.get(
            f"{name}-kubeconfig",
            cluster.id.apply(lambda _: secret_id),
            # Records the edge in the state and the dependency graph; the id is what makes the read wait.
            opts=pulumi.ResourceOptions(parent=self, provider=supervisor, depends_on=[cluster]),
        )
        self.kubeconfig = pulumi.Output.secret(
            kubeconfig_secret.data.apply(lambda data: require_kubeconfig(
                base64.b64decode((data or {}).get("value") or "").decode(), f"Secret {secret_id}"
            ))
        )
        self.k8s_provider = k8s.Provider(
            f"{name}-workload",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # A new value (a renewed certificate, a rotated password or key) updates the Secret or ConfigMap in place;
            # replaced, it would be deleted before it is created again, and whatever reads it in between fails.
            enable_secret_mutable=True,
            enable_config_map_mutable=True,
            # Kubeconfig rotation must update the provider, not replace every object on it.
            cluster_identifier=f"{tanzu.supervisor_namespace}/{tanzu.cluster_name}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=self.k8s_provider)

        version = tanzu.kubernetes_version
        for namespace, component in ((tanzu.serving_namespace, "serving"), (tanzu.monitoring_namespace, "monitoring")):
            ns = _k8s.namespace(f"{name}-ns-{component}", namespace, name, component, "restricted", version, on_cluster)
            in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[ns]))
            _k8s.baseline_network_policies(f"{name}-{component}", namespace, _k8s.labels(namespace, name, component), in_ns)
            if args.trust_bundle:
                _k8s.trust_bundle_config_map(f"{name}-trust-bundle-{component}", namespace, args.trust_bundle,
                                             _k8s.labels(_k8s.TRUST_BUNDLE, name, component), in_ns)
        self._pull_secret(name, "serving", tanzu, args.registry_password, on_cluster)
        gpu_operator = self._gpu_operator(name, args, on_cluster)
        keda = self._keda(name, tanzu, args.addons.keda_namespace, args.registry_password, args.waits, on_cluster)
        leader_worker_set = None
        if args.leader_worker_set:
            leader_worker_set = self._leader_worker_set(name, tanzu, args.addons.lws_namespace, args.registry_password,
                                                        args.waits, on_cluster)

        self.core = ClusterCore(
            provider=self.k8s_provider,
            cluster_name=tanzu.cluster_name,
            kubernetes_version=version,
            serving_namespace=tanzu.serving_namespace,
            monitoring_namespace=tanzu.monitoring_namespace,
            gateway_namespaces=tanzu.gateway_namespaces,
            image_pull_secret=PULL_SECRET,
            storage_class=host_pool.storage_policy_name,
            registry=tanzu.registry,
            registry_server=tanzu.registry.server,
            registry_username=tanzu.registry.username,
            registry_password=args.registry_password,
            keda=keda,
            gpu_operator=gpu_operator,
            waits=args.waits,
            leader_worker_set=leader_worker_set,
            trust_bundle=args.trust_bundle,
        )
        self.node_pools = [
            {"name": "gpu", "replicas": host_pool.gpu_nodes, "gpusPerNode": host_pool.gpus_per_node,
             "gpuMode": host_pool.mode, "vgpuProfile": host_pool.vgpu_profile},
            {"name": "system", "replicas": pool.system_nodes, "gpusPerNode": 0, "gpuMode": None, "vgpuProfile": None},
        ]
        self.register_outputs({"kubeconfig": self.kubeconfig, "clusterName": tanzu.cluster_name, "nodePools": self.node_pools})

    # -- the cluster object ----------------------------------------------------------------------

    def _cluster(self, name: str, tanzu: TanzuConfig, shape: NodeShape, waits_config: WaitsConfig,
                 opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        labels = _k8s.labels("workload-cluster", tanzu.cluster_name, "cluster")
        control_plane, workers = tanzu.control_plane.replicas, shape.gpu_nodes + shape.system_nodes
        # Later components need a cluster that answers; wait for its Ready condition.
        annotations = {"pulumi.com/waitFor": "condition=Ready"}
        if tanzu.cluster_api == "tkc":
            api_version, kind, spec = "run.tanzu.vmware.com/v1alpha3", "TanzuKubernetesCluster", tkc_spec(tanzu, shape)
            annotations.update(UBUNTU_IMAGE)
        else:
            api_version, kind, spec = "cluster.x-k8s.io/v1beta1", "Cluster", clusterclass_spec(tanzu, shape)
            if tanzu.trusted_cas:
                # ClusterClass clusters read extra CAs from this Secret; the value is the base64 PEM.
                k8s.core.v1.Secret(
                    f"{name}-trusted-ca",
                    metadata=_k8s.metadata(f"{tanzu.cluster_name}-user-trusted-ca-secret", tanzu.supervisor_namespace, labels),
                    string_data=dict(sorted(tanzu.trusted_cas.items())),
                    opts=opts,
                )
        return k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=api_version,
            kind=kind,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=tanzu.cluster_name, namespace=tanzu.supervisor_namespace, labels=labels, annotations=annotations,
            ),
            spec=spec,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                # Deleting or replacing the cluster deletes every workload and volume on it.
                protect=True,
                # The Ready wait covers building every control-plane node, then the workers.
                custom_timeouts=pulumi.CustomTimeouts(
                    create=waits.duration(waits.cluster_create_seconds(control_plane, workers, waits_config)),
                    update=waits.duration(waits.cluster_update_seconds(control_plane, workers, waits_config)),
                    # Cluster API drains and deletes every node VM first; the provider's 10-minute default is short.
                    delete=waits.duration(waits.cluster_create_seconds(control_plane, workers, waits_config)),
                ),
            )),
        )

    # -- namespaces ------------------------------------------------------------------------------

    def _pull_secret(self, name: str, component: str, tanzu: TanzuConfig, password: pulumi.Input[str],
                     opts: pulumi.ResourceOptions, namespace: str | None = None) -> k8s.core.v1.Secret:
        return _k8s.registry_pull_secret(
            f"{name}-registry-pull-{component}", namespace or tanzu.serving_namespace, tanzu.registry.server,
            tanzu.registry.username, password, _k8s.labels(PULL_SECRET, tanzu.cluster_name, "credentials"), opts,
        )

    # -- add-ons ---------------------------------------------------------------------------------

    def _gpu_operator(self, name: str, args: TanzuClusterArgs, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        settings, mode = args.addons.gpu_operator, args.host_pool.mode
        namespace = settings.namespace
        # Config validation guarantees the exception entry, with its reason.
        reason = args.privileged_namespaces[namespace]
        ns = _k8s.namespace(f"{name}-ns-gpu-operator", namespace, name, "gpu-operator", "privileged",
                            args.tanzu.kubernetes_version, opts, reason)
        in_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns]))
        self._gpu_operator_network(name, args, namespace, in_ns)
        needs = [ns, self._pull_secret(name, "gpu-operator", args.tanzu, args.registry_password, in_ns, namespace)]
        if mode == "vgpu":
            needs.append(k8s.core.v1.Secret(
                f"{name}-nls-licensing",
                metadata=_k8s.metadata(LICENSING_SECRET, namespace, _k8s.labels("nvidia-licensing", name, "gpu-operator")),
                string_data={
                    "gridd.conf": GRIDD_CONF,
                    "client_configuration_token.tok": pulumi.Output.secret(args.nls_client_token),
                },
                opts=in_ns,
            ))
        chart = versions.GPU_OPERATOR
        return k8s.helm.v3.Release(
            f"{name}-gpu-operator",
            name="gpu-operator",
            **release_args(chart, args.tanzu.registry),
            namespace=namespace,
            values=gpu_operator_values(mode, settings, args.tanzu.registry, PULL_SECRET),
            # Driver builds and installs take minutes per node, after the operands' images are pulled.
            timeout=waits.gpu_operator_release_seconds(args.waits),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=needs)),
        )

    def _keda(self, name: str, tanzu: TanzuConfig, namespace: str, registry_password: pulumi.Input[str],
              waits_config: WaitsConfig, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        registry = tanzu.registry
        ns = _k8s.namespace(f"{name}-ns-keda", namespace, name, "keda", "restricted", tanzu.kubernetes_version, opts)
        in_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns]))
        self._keda_network(name, tanzu, namespace, in_ns)
        pull = self._pull_secret(name, "keda", tanzu, registry_password, in_ns, namespace)
        chart = versions.KEDA
        return k8s.helm.v3.Release(
            f"{name}-keda",
            name="keda",
            **release_args(chart, registry),
            namespace=namespace,
            values={
                # Every KEDA image from the private registry; the chart keeps the upstream paths.
                "global": {"image": {"registry": registry.server}},
                # Each pulled by the digest of the site's copy (the chart writes `<repository>:<tag>`).
                "image": {part: tag for part, upstream in KEDA_IMAGES.items()
                          if (tag := pinned_tag(registry, chart.image(f"ghcr.io/kedacore/{upstream}")))},
                "imagePullSecrets": [{"name": PULL_SECRET}],
                # KEDA reads Secrets only for TriggerAuthentications, which the platform does not use: its own
                # namespace only, instead of every Secret of the cluster.
                "permissions": {"operator": {"restrict": {"secret": True}}, "metricServer": {"restrict": {"secret": True}}},
                # The chart's default renders `get` on every resource of every group and `patch` on every `*/scale`
                # for custom scale targets; the platform scales Deployments only (the chart's own rules).
                "rbac": {"enabledCustomScaledRefKinds": False},
                # The chart's defaults already run non-root; pin the restricted fields explicitly, and a UID above
                # the node's own users (the images' is 1000): static binaries on a read-only root that read their
                # certificates from world-readable Secret volumes.
                "podSecurityContext": {part: {"runAsNonRoot": True, "runAsUser": KEDA_UID, "runAsGroup": KEDA_UID,
                                              "seccompProfile": {"type": "RuntimeDefault"}}
                                       for part in ("operator", "metricServer", "webhooks")},
            },
            timeout=waits.release_seconds(waits_config),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns, pull])),
        )

    def _leader_worker_set(self, name: str, tanzu: TanzuConfig, namespace: str, registry_password: pulumi.Input[str],
                           waits_config: WaitsConfig, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        """The LeaderWorkerSet controller (kubernetes-sigs/lws), pinned, from the private registry."""
        registry, version = tanzu.registry, tanzu.kubernetes_version
        labels = _k8s.labels(namespace, name, "leader-worker-set")
        ns = _k8s.namespace(f"{name}-ns-lws", namespace, name, "leader-worker-set", "restricted", version, opts)
        in_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns]))
        _k8s.baseline_network_policies(f"{name}-lws", namespace, labels, in_ns)
        net = k8s.networking.v1
        policies = [
            # The API server calls the admission webhooks (LeaderWorkerSets and their pods) from the control-plane
            # nodes' host network, whose addresses the program does not know: the webhook port only, from anywhere.
            net.NetworkPolicy(
                f"{name}-lws-allow-webhook",
                metadata=_k8s.metadata("allow-webhook", namespace, labels),
                spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress"], ingress=[
                    net.NetworkPolicyIngressRuleArgs(ports=_k8s.tcp(LWS_WEBHOOK_PORT)),
                ]),
                opts=in_ns,
            ),
            # The controller watches LeaderWorkerSets and writes StatefulSets, Services and webhook certificates.
            net.NetworkPolicy(
                f"{name}-lws-allow-api",
                metadata=_k8s.metadata("allow-api-server-egress", namespace, labels),
                spec=net.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Egress"], egress=[
                    net.NetworkPolicyEgressRuleArgs(to=_k8s.ip_peers(tanzu.api_server_cidrs), ports=_k8s.tcp(443, 6443)),
                ]),
                opts=in_ns,
            ),
        ]
        pull = self._pull_secret(name, "lws", tanzu, registry_password, in_ns, namespace)
        return k8s.helm.v3.Release(
            f"{name}-lws",
            name="lws",
            **release_args(versions.LWS, registry),
            namespace=namespace,
            values={
                # The controller image from the private registry under its upstream path; the tag stays the chart's.
                "image": {"manager": {"repository": mirrored(registry.server, LWS_IMAGE),
                                      **pinned_tag(registry, versions.LWS.image(LWS_IMAGE))}},
                "imagePullSecrets": [{"name": PULL_SECRET}],
                # The chart runs non-root with no privilege escalation and no capabilities; add the seccomp profile
                # Pod Security restricted requires.
                "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            },
            timeout=waits.release_seconds(waits_config),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns, pull, *policies])),
        )


    # -- the add-ons' namespaces: default-deny, then each flow they need -------------------------

    def _gpu_operator_network(self, name: str, args: TanzuClusterArgs, namespace: str,
                              opts: pulumi.ResourceOptions) -> None:
        """The operator and its operands watch the API server; the vGPU guest driver licenses itself at the NLS;
        Prometheus scrapes the DCGM exporter. (Operands on the host network are not subject to these policies.)"""
        labels = _k8s.labels(namespace, name, "gpu-operator")
        tanzu = args.tanzu
        _k8s.baseline_network_policies(f"{name}-gpu-operator", namespace, labels, opts)
        egress = [_k8s.to_peers(_k8s.ip_peers(tanzu.api_server_cidrs), 443, 6443)]
        licensing = args.addons.gpu_operator.license_server_cidrs
        if licensing:
            egress.append(_k8s.to_peers(_k8s.ip_peers(licensing), 443))
        _k8s.network_policy(f"{name}-gpu-operator-egress", "allow-api-server-and-licensing", namespace, labels, opts,
                            egress=egress)
        _k8s.network_policy(f"{name}-gpu-operator-metrics", "allow-metrics-scrape", namespace, labels, opts,
                            ingress=[_k8s.from_peers([_k8s.prometheus_peer(tanzu.monitoring_namespace)], DCGM_PORT)])

    def _keda_network(self, name: str, tanzu: TanzuConfig, namespace: str, opts: pulumi.ResourceOptions) -> None:
        """KEDA watches the API server and queries Prometheus; the API server calls its metrics adapter (6443) and
        admission webhooks (9443) from the control-plane nodes; its three deployments talk to each other."""
        labels = _k8s.labels(namespace, name, "keda")
        _k8s.baseline_network_policies(f"{name}-keda", namespace, labels, opts)
        own = [k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector={})]
        _k8s.network_policy(f"{name}-keda-within", "allow-within-namespace", namespace, labels, opts,
                            ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=own)],
                            egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=own)])
        _k8s.network_policy(f"{name}-keda-egress", "allow-api-server-and-prometheus", namespace, labels, opts, egress=[
            _k8s.to_peers(_k8s.ip_peers(tanzu.api_server_cidrs), 443, 6443),
            _k8s.to_peers([_k8s.prometheus_peer(tanzu.monitoring_namespace)], PROMETHEUS_PORT),
        ])
        _k8s.network_policy(f"{name}-keda-api-server", "allow-api-server-calls", namespace, labels, opts, ingress=[
            _k8s.from_peers(_k8s.ip_peers(tanzu.api_server_cidrs), KEDA_METRICS_ADAPTER_PORT, KEDA_WEBHOOK_PORT),
        ])


DCGM_PORT = 9400
KEDA_METRICS_ADAPTER_PORT = 6443
KEDA_WEBHOOK_PORT = 9443


def _login_lasting(kubeconfig: str, seconds: int) -> str:
    try:
        require_login_lasts(kubeconfig, seconds, "the workload cluster's create or rolling-update wait")
    except LoginExpired as expired:
        raise pulumi.RunError(str(expired)) from None
    return kubeconfig


def require_kubeconfig(text: str | None, source: str) -> str:
    """``text``, unless it is empty: pulumi-kubernetes would then silently use the kubeconfig of
    whoever runs Pulumi (``$KUBECONFIG`` or ``~/.kube/config``), so objects would land elsewhere."""
    if not text or not text.strip():
        raise pulumi.RunError(
            f"{source} is empty; refusing it, because the Kubernetes provider would fall back to the "
            "ambient kubeconfig of the machine running Pulumi"
        )
    return text
