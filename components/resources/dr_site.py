"""DrSite: backups of the primary and a secondary site that keeps the stated RPO and RTO.

What exists at the secondary depends on the recovery pattern:

| mode | secondary site | failover |
|---|---|---|
| backup-restore | nothing but the backup bucket | rebuild the site from this program with DR config, restore Velero backups |
| pilot-light | GPU pool (may be 0 nodes), workload cluster, Velero reading the backups | scale GPUs, stage weights, restore |
| warm-standby | the above plus every model Ready at reduced replicas with weights staged, and monitoring | switch traffic |

Wherever the secondary runs a cluster it gets the primary's controls: the same RBAC (break-glass the
only cluster-admin), the same audit trail (its own chain under its own prefix in the audit bucket),
and, in warm-standby, the same front door: the authenticating gateway is the only way to its models.
Its Velero only restores, so it holds the backup bucket's read-only keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi
import pulumi_random as random

from components.builders.gateway_pods import (
    CONTROLLER_METRICS_PORT,
    CONTROLLER_NAMESPACE,
    EXTPROC_METRICS_PORT,
    PROXY_METRICS_PORT,
)
from components.builders.vllm_pod import API_PORT
from components.config import (
    AddonsConfig,
    DrConfig,
    GpuPoolConfig,
    ModelConfig,
    ObservabilityConfig,
    TanzuConfig,
    WeightsVolumeConfig,
)
from components.config.model import AccessConfig, AuditConfig, GatewayConfig, WaitsConfig
from components.planning import sizing
from components.planning.dr_plan import DrFigures
from components.planning.monitoring.rules import RuleSettings
from components.resources.access import ClusterAccess, ClusterAccessArgs
from components.resources.audit import NAMESPACE as AUDIT_NAMESPACE
from components.resources.audit import PREFIX as AUDIT_PREFIX
from components.resources.audit import AuditShipping, AuditShippingArgs
from components.resources.gateway import ModelGateway, ModelGatewayArgs, RoutedModel
from components.resources.gateway_controller_network import GatewayControllerNetwork, GatewayControllerNetworkArgs
from components.resources.gpu_host_pool import GpuHostPool, GpuHostPoolArgs
from components.resources.observability_stack import ObservabilityStack, ObservabilityStackArgs
from components.resources.tanzu_cluster import ClusterCore, TanzuCluster, TanzuClusterArgs
from components.resources.velero import METRICS_PORT, BackupSchedule, Velero, VeleroArgs
from components.resources.velero import NAMESPACE as VELERO_NAMESPACE
from components.resources.vllm_service import VllmService, VllmServiceArgs

TYPE = "onprem:platform:DrSite"


@dataclass(frozen=True)
class DrSecrets:
    vsphere_password: pulumi.Input[str]
    supervisor_kubeconfig: pulumi.Input[str]
    registry_password: pulumi.Input[str]
    s3_access_key_id: pulumi.Input[str]
    s3_secret_access_key: pulumi.Input[str]
    nls_client_token: pulumi.Input[str] | None = None
    hf_token: pulumi.Input[str] | None = None
    smtp_password: pulumi.Input[str] | None = None
    webhook_url: pulumi.Input[str] | None = None
    s3_read_only_access_key_id: pulumi.Input[str] | None = None
    s3_read_only_secret_access_key: pulumi.Input[str] | None = None
    """The backup bucket's read-only identity: the secondary's Velero restores and never writes."""
    tls_certificate: pulumi.Input[str] | None = None
    tls_key: pulumi.Input[str] | None = None
    """The gateway certificate: clients reach the standby under the same host name after the DNS switch."""
    dead_mans_switch_url: pulumi.Input[str] | None = None
    audit: dict = field(default_factory=dict)
    """AuditShippingArgs' credentials and signing key (the primary's identities, the secondary's own prefix)."""


@dataclass(frozen=True)
class DrSiteArgs:
    dr: DrConfig
    """Mode, targets, backup storage and the secondary site (validated: storage and secondary set)."""
    figures: DrFigures
    """Achieved RPO and RTO of this configuration."""
    primary: ClusterCore
    """The primary cluster, whose namespaces are backed up."""
    pool: GpuPoolConfig
    tanzu: TanzuConfig
    addons: AddonsConfig
    privileged_namespaces: dict[str, str]
    baseline_namespaces: dict[str, str]
    models: dict[str, ModelConfig]
    observability: ObservabilityConfig
    rules: RuleSettings
    secrets: DrSecrets
    primary_monitoring: pulumi.Resource | None = None
    """The primary's kube-prometheus-stack Release; Velero's ServiceMonitor there waits for it."""
    waits: WaitsConfig = field(default_factory=WaitsConfig)
    """Estimates the standby site's timeouts derive from. Default: the ``waits`` section's defaults."""
    gateway: GatewayConfig | None = None
    """The front door the standby serves behind (warm-standby); None: no models there."""
    access: AccessConfig | None = None
    """Who may do what on the standby cluster: the primary's groups and roles."""
    audit: AuditConfig | None = None
    """The audit trail of the standby cluster; None when audit is off."""
    lock_check_image: str | None = None
    """Image that verifies the backup bucket's Object Lock (the audit tools image)."""


class DrSite(pulumi.ComponentResource):
    mode: str
    rpo_minutes: int
    rto_minutes: int
    backup_location: str
    cluster_name: str | None
    """Standby cluster; None in backup-restore mode."""
    standby_endpoints: dict[str, str]
    """Per model key, the standby's in-cluster OpenAI base URL (warm-standby only)."""

    def __init__(self, name: str, args: DrSiteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        dr, secrets = args.dr, args.secrets
        secondary, storage = dr.secondary, dr.backup_storage
        if secondary is None or storage is None:
            raise ValueError("dr.secondary and dr.backupStorage are required; config validation should have refused this")
        child = pulumi.ResourceOptions(parent=self)
        self.mode, self.rpo_minutes, self.rto_minutes = dr.mode, args.figures.rpo_minutes, args.figures.rto_minutes
        self.cluster_name, self.standby_endpoints = None, {}
        self._velero_security = (
            ("privileged", args.privileged_namespaces[VELERO_NAMESPACE]) if dr.file_system_backup
            else ("baseline", args.baseline_namespaces[VELERO_NAMESPACE])
        )

        # Velero's Kopia repositories are encrypted with this; both sites need it, and a new one could no longer
        # read the backups made with the old, so it is generated once and protected.
        self._repository_password = pulumi.Output.secret(random.RandomPassword(
            f"{name}-backup-repository-password", length=48, special=False,
            opts=pulumi.ResourceOptions(parent=self, protect=True)).result)
        primary_velero = Velero(f"{name}-velero-primary", VeleroArgs(
            cluster=args.primary, storage=storage, access_mode="ReadWrite",
            access_key_id=secrets.s3_access_key_id, secret_access_key=secrets.s3_secret_access_key,
            api_server_cidrs=args.tanzu.api_server_cidrs, schedules=self._schedules(args),
            file_system_backup=dr.file_system_backup, pod_security=self._velero_security,
            monitoring=args.primary_monitoring, repository_password=self._repository_password,
            lock_check_image=args.lock_check_image,
        ), opts=child)
        self.backup_location = primary_velero.location_name

        if dr.mode != "backup-restore":
            self._standby_site(name, args, child)

        self.register_outputs({
            "mode": self.mode, "rpoMinutes": self.rpo_minutes, "rtoMinutes": self.rto_minutes,
            "backupLocation": self.backup_location, "clusterName": self.cluster_name,
            "standbyEndpoints": self.standby_endpoints,
        })

    @staticmethod
    def _schedules(args: DrSiteArgs) -> tuple[BackupSchedule, ...]:
        dr, namespaces = args.dr, (args.primary.serving_namespace, args.primary.monitoring_namespace)
        schedules = [BackupSchedule("platform-frequent", dr.backup_interval_minutes, dr.backup_ttl_hours, namespaces)]
        if dr.long_term_ttl_hours:
            # One copy a day kept long, for retention duties beyond the operational window.
            schedules.append(BackupSchedule("platform-daily", 24 * 60, dr.long_term_ttl_hours, namespaces))
        return tuple(schedules)

    @staticmethod
    def _layout(args: DrSiteArgs, model: ModelConfig) -> sizing.Layout:
        """The standby replica's layout: the primary's, on the same node shape."""
        return sizing.layout(int(model.tensor_parallel_size), int(model.nodes_per_replica), args.pool.gpus_per_node)

    def _standby_site(self, name: str, args: DrSiteArgs, child: pulumi.ResourceOptions) -> None:
        dr, secrets, secondary = args.dr, args.secrets, args.dr.secondary
        host_pool = GpuHostPool(
            f"{name}-pool",
            GpuHostPoolArgs(vsphere=secondary.vsphere, pool=args.pool, password=secrets.vsphere_password,
                            gpu_nodes=secondary.gpu_nodes),
            opts=child,
        )
        site_registry = secondary.registry.server if secondary.registry else None
        standby_addons = args.addons
        if site_registry:
            driver = args.addons.gpu_operator
            standby_addons = args.addons.model_copy(update={"gpu_operator": driver.model_copy(update={
                "driver_repository": at_registry(driver.driver_repository, site_registry)})})
        standby_tanzu = args.tanzu.model_copy(update={
            "registry": secondary.registry or args.tanzu.registry,
            "supervisor_id": secondary.supervisor_id,
            "supervisor_namespace": secondary.supervisor_namespace,
            "cluster_name": secondary.cluster_name,
            "control_plane": args.tanzu.control_plane.model_copy(update={"replicas": 1}),
        })
        cluster = TanzuCluster(
            f"{name}-cluster",
            TanzuClusterArgs(
                tanzu=standby_tanzu, addons=standby_addons, pool=args.pool, host_pool=host_pool,
                privileged_namespaces=args.privileged_namespaces,
                supervisor_kubeconfig=secrets.supervisor_kubeconfig, registry_password=secrets.registry_password,
                nls_client_token=secrets.nls_client_token, waits=args.waits,
                # The standby runs every model, so a model across nodes needs the controller there too.
                leader_worker_set=dr.mode == "warm-standby" and any(
                    self._layout(args, m).multi_node for m in args.models.values()),
            ),
            opts=child,
        )
        self.cluster_name = secondary.cluster_name
        core = cluster.core
        if args.access is not None:
            namespaces = [core.serving_namespace, core.monitoring_namespace]
            namespaces += [args.gateway.namespace] if args.gateway and dr.mode == "warm-standby" else []
            namespaces += [AUDIT_NAMESPACE] if args.audit else []
            ClusterAccess(f"{name}-access", ClusterAccessArgs(access=args.access, cluster=core, host_pool=host_pool,
                                                              operator_namespaces=tuple(namespaces)), opts=child)
        monitoring = None
        if dr.mode == "warm-standby":
            scrape: dict[str, int | tuple[int, ...]] = {
                core.serving_namespace: 8000, args.addons.gpu_operator.namespace: 9400, VELERO_NAMESPACE: METRICS_PORT,
                CONTROLLER_NAMESPACE: CONTROLLER_METRICS_PORT,
            }
            if args.gateway is not None:
                scrape[args.gateway.namespace] = (PROXY_METRICS_PORT, EXTPROC_METRICS_PORT)
            if args.audit is not None:
                scrape[AUDIT_NAMESPACE] = 2020
            monitoring = ObservabilityStack(f"{name}-observability", ObservabilityStackArgs(
                settings=args.observability, cluster=core,
                rules=replace(args.rules, backup_rpo_seconds=None, audit=args.audit is not None),
                scrape_namespaces=scrape,
                client_namespaces=(args.addons.keda_namespace,),
                api_server_cidrs=args.tanzu.api_server_cidrs,
                smtp_password=secrets.smtp_password, webhook_url=secrets.webhook_url,
                dead_mans_switch_url=secrets.dead_mans_switch_url,
            ), opts=child).release
        # The secondary reads the same bucket but never writes to it, with keys that cannot.
        Velero(f"{name}-velero-secondary", VeleroArgs(
            cluster=core, storage=dr.backup_storage, access_mode="ReadOnly",
            access_key_id=secrets.s3_read_only_access_key_id or secrets.s3_access_key_id,
            secret_access_key=secrets.s3_read_only_secret_access_key or secrets.s3_secret_access_key,
            api_server_cidrs=args.tanzu.api_server_cidrs, file_system_backup=dr.file_system_backup,
            pod_security=self._velero_security, monitoring=monitoring, repository_password=self._repository_password,
        ), opts=child)
        if args.audit is not None:
            AuditShipping(f"{name}-audit", AuditShippingArgs(
                settings=args.audit, cluster=core,
                gateway_namespace=args.gateway.namespace if args.gateway else "api-gateway",
                privileged_reason=args.privileged_namespaces[AUDIT_NAMESPACE],
                api_server_cidrs=args.tanzu.api_server_cidrs, monitoring=monitoring,
                prefix=f"{AUDIT_PREFIX}/{secondary.cluster_name}", **secrets.audit,
            ), opts=child)
        if dr.mode != "warm-standby":
            return
        services = {}
        for key, model in args.models.items():
            service = VllmService(f"{name}-{key}", VllmServiceArgs(
                model=standby_model(model, dr.standby_replicas, site_registry, secondary.weights_storage_class),
                cluster=core,
                hf_token=secrets.hf_token if model.source == "huggingface" else None, monitoring=monitoring,
                gateway_namespace=args.gateway.namespace if args.gateway else "api-gateway",
                layout=self._layout(args, model),
            ), opts=child)
            services[key] = service
            self.standby_endpoints[key] = service.base_url
        if args.gateway is not None:
            # The same front door as the primary: TLS, JWT, the OpenAI paths only, the key injected upstream.
            gateway = ModelGateway(f"{name}-gateway", ModelGatewayArgs(
                settings=args.gateway, cluster=core,
                # Clients name the same models at either site, so failover changes only the address.
                models=tuple(RoutedModel(key, svc.service_name, API_PORT, svc.api_key, svc.served_model_name)
                             for key, svc in services.items()),
                tls_certificate=secrets.tls_certificate, tls_key=secrets.tls_key,
                api_server_cidrs=args.tanzu.api_server_cidrs, monitoring=monitoring,
            ), opts=child)
            GatewayControllerNetwork(f"{name}-gateway-controller-network", GatewayControllerNetworkArgs(
                cluster=core, gateway_namespace=args.gateway.namespace, api_server_cidrs=args.tanzu.api_server_cidrs,
            ), opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))


def standby_model(model: ModelConfig, replicas: int, registry: str | None = None,
                  shared_class: str | None = None) -> ModelConfig:
    """The primary's model entry at standby size, on the secondary's own encrypted storage.

    With ``registry`` (the secondary site's own), the image comes from there under the same path. With
    ``shared_class`` (a ReadWriteMany class of the secondary), the weights are one shared volume filled by a
    download Job, so only that Job may reach the download networks; otherwise each replica stages its own
    block volume.
    """
    weights = (WeightsVolumeConfig(size_gib=model.weights.size_gib, access_mode="ReadWriteMany",
                                   storage_class=shared_class) if shared_class
               else WeightsVolumeConfig(size_gib=model.weights.size_gib, access_mode="ReadWriteOnce"))
    update: dict = {
        "replicas": model.replicas.model_copy(update={"min": replicas, "max": replicas}),
        "weights": weights,
        "ingress": None,
    }
    if registry:
        update["image"] = model.image.model_copy(update={"repository": at_registry(model.image.repository, registry)})
    return model.model_copy(update=update)


def at_registry(repository: str, registry: str) -> str:
    """The same repository path in another registry (each site mirrors the same paths)."""
    return f"{registry}/{repository.split('/', 1)[1]}"
