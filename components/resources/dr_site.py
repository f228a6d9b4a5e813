"""DrSite: backups of the primary and a secondary site that keeps the stated RPO and RTO.

What exists at the secondary depends on the recovery pattern:

| mode | secondary site | failover |
|---|---|---|
| backup-restore | nothing but the backup bucket | rebuild the site from this program with DR config, restore Velero backups |
| pilot-light | GPU pool (may be 0 nodes), workload cluster, Velero reading the backups | scale GPUs, stage weights, restore |
| warm-standby | the above plus every model Ready at reduced replicas with weights staged, and monitoring | switch traffic |
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi

from components.config import (
    AddonsConfig,
    DrConfig,
    GpuPoolConfig,
    ModelConfig,
    ObservabilityConfig,
    TanzuConfig,
    WeightsVolumeConfig,
)
from components.config.model import WaitsConfig
from components.planning import sizing
from components.planning.dr_plan import DrFigures
from components.planning.monitoring.rules import RuleSettings
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

        primary_velero = Velero(f"{name}-velero-primary", VeleroArgs(
            cluster=args.primary, storage=storage, access_mode="ReadWrite",
            access_key_id=secrets.s3_access_key_id, secret_access_key=secrets.s3_secret_access_key,
            api_server_cidrs=args.tanzu.api_server_cidrs, schedules=self._schedules(args),
            file_system_backup=dr.file_system_backup, pod_security=self._velero_security,
            monitoring=args.primary_monitoring,
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
        monitoring = None
        if dr.mode == "warm-standby":
            monitoring = ObservabilityStack(f"{name}-observability", ObservabilityStackArgs(
                settings=args.observability, cluster=cluster.core,
                rules=replace(args.rules, backup_rpo_seconds=None),
                scrape_namespaces={cluster.core.serving_namespace: 8000, args.addons.gpu_operator.namespace: 9400,
                                   VELERO_NAMESPACE: METRICS_PORT},
                client_namespaces=(args.addons.keda_namespace,),
                api_server_cidrs=args.tanzu.api_server_cidrs,
                smtp_password=secrets.smtp_password, webhook_url=secrets.webhook_url,
            ), opts=child).release
        # The secondary reads the same bucket but never writes to it.
        Velero(f"{name}-velero-secondary", VeleroArgs(
            cluster=cluster.core, storage=dr.backup_storage, access_mode="ReadOnly",
            access_key_id=secrets.s3_access_key_id, secret_access_key=secrets.s3_secret_access_key,
            api_server_cidrs=args.tanzu.api_server_cidrs, file_system_backup=dr.file_system_backup,
            pod_security=self._velero_security, monitoring=monitoring,
        ), opts=child)
        if dr.mode != "warm-standby":
            return
        for key, model in args.models.items():
            service = VllmService(f"{name}-{key}", VllmServiceArgs(
                model=standby_model(model, dr.standby_replicas, site_registry), cluster=cluster.core,
                hf_token=secrets.hf_token if model.source == "huggingface" else None, monitoring=monitoring,
                layout=self._layout(args, model),
            ), opts=child)
            self.standby_endpoints[key] = service.base_url


def standby_model(model: ModelConfig, replicas: int, registry: str | None = None) -> ModelConfig:
    """The primary's model entry at standby size, on the secondary's own encrypted block storage.

    With ``registry`` (the secondary site's own), the image comes from there under the same path.
    """
    update: dict = {
        "replicas": model.replicas.model_copy(update={"min": replicas, "max": replicas}),
        "weights": WeightsVolumeConfig(size_gib=model.weights.size_gib, access_mode="ReadWriteOnce"),
        "ingress": None,
    }
    if registry:
        update["image"] = model.image.model_copy(update={"repository": at_registry(model.image.repository, registry)})
    return model.model_copy(update=update)


def at_registry(repository: str, registry: str) -> str:
    """The same repository path in another registry (each site mirrors the same paths)."""
    return f"{registry}/{repository.split('/', 1)[1]}"
