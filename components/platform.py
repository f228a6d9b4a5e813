"""Wires the five components together and names the stack outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.builders.vllm_pod import API_PORT
from components.config import PlatformConfig, dr_figures
from components.outputs import CONTRACT_VERSION
from components.planning import capacity
from components.planning.compliance import PACK_NAME, exceptions
from components.planning.monitoring.rules import RuleSettings
from components.resources.access import ClusterAccess, ClusterAccessArgs
from components.resources.aria import AriaIntegration, AriaIntegrationArgs
from components.resources.audit import NAMESPACE as AUDIT_NAMESPACE
from components.resources.audit import AuditShipping, AuditShippingArgs
from components.resources.dr_site import DrSecrets, DrSite, DrSiteArgs
from components.resources.gateway import ModelGateway, ModelGatewayArgs, RoutedModel
from components.resources.gpu_host_pool import GpuHostPool, GpuHostPoolArgs
from components.resources.observability_stack import ObservabilityStack, ObservabilityStackArgs
from components.resources.tanzu_cluster import TanzuCluster, TanzuClusterArgs
from components.resources.velero import METRICS_PORT as VELERO_METRICS_PORT
from components.resources.velero import NAMESPACE as VELERO_NAMESPACE
from components.resources.vllm_service import VllmService, VllmServiceArgs


@dataclass(frozen=True)
class Platform:
    config: PlatformConfig
    host_pool: GpuHostPool
    cluster: TanzuCluster
    models: dict[str, VllmService]
    observability: ObservabilityStack | None
    dr_site: DrSite | None
    aria: AriaIntegration | None
    gateway: ModelGateway
    access: ClusterAccess
    audit: AuditShipping | None


def build_platform(cfg: PlatformConfig, secrets: dict[str, pulumi.Input[str]]) -> Platform:
    """Create every component of one environment. ``secrets`` maps secret config keys to Outputs."""
    host_pool = GpuHostPool(
        "primary", GpuHostPoolArgs(vsphere=cfg.vsphere, pool=cfg.gpu_pool, password=secrets["vspherePassword"])
    )
    cluster = TanzuCluster(
        "primary",
        TanzuClusterArgs(
            tanzu=cfg.tanzu, addons=cfg.addons, pool=cfg.gpu_pool, host_pool=host_pool,
            privileged_namespaces=cfg.compliance.privileged_namespaces,
            supervisor_kubeconfig=secrets["supervisorKubeconfig"],
            registry_password=secrets["registryPassword"],
            nls_client_token=secrets.get("nlsClientToken"),
            waits=cfg.waits,
            leader_worker_set=spans_nodes(cfg),
        ),
    )
    observability = None
    if cfg.observability.enabled:
        observability = ObservabilityStack(
            "observability",
            ObservabilityStackArgs(
                settings=cfg.observability, cluster=cluster.core, rules=rule_settings(cfg),
                scrape_namespaces=scrape_targets(cfg),
                client_namespaces=(cfg.addons.keda_namespace,),
                api_server_cidrs=cfg.tanzu.api_server_cidrs,
                smtp_password=secrets.get("alertSmtpPassword"),
                webhook_url=secrets.get("alertWebhookUrl"),
            ),
        )
    # kube-prometheus-stack installs the monitoring CRDs: monitors wait for it, or there are none.
    monitoring = observability.release if observability else None
    models = {
        key: VllmService(
            key,
            VllmServiceArgs(
                model=model, cluster=cluster.core,
                hf_token=secrets.get("hfToken") if model.source == "huggingface" else None,
                monitoring=monitoring, layout=capacity.layout_of(cfg, model),
            ),
        )
        for key, model in cfg.models.items()
    }
    aria = None
    if cfg.aria.enabled:
        aria = AriaIntegration("aria", AriaIntegrationArgs(
            aria=cfg.aria, vsphere=cfg.vsphere, host_pool=host_pool,
            vsphere_password=secrets["vspherePassword"], refresh_token=secrets["ariaRefreshToken"],
        ))
    gateway = ModelGateway("gateway", ModelGatewayArgs(
        settings=cfg.gateway, cluster=cluster.core,
        models=tuple(RoutedModel(key, svc.service_name, API_PORT, svc.api_key) for key, svc in models.items()),
        tls_certificate=secrets["gatewayTlsCert"], tls_key=secrets["gatewayTlsKey"],
        api_server_cidrs=cfg.tanzu.api_server_cidrs,
    ))
    access = ClusterAccess("access", ClusterAccessArgs(access=cfg.access, cluster=cluster.core, host_pool=host_pool))
    audit = None
    if cfg.audit.enabled:
        audit = AuditShipping("audit", AuditShippingArgs(
            settings=cfg.audit, cluster=cluster.core, gateway_namespace=cfg.gateway.namespace,
            privileged_reason=cfg.compliance.privileged_namespaces["logging"],
            access_key_id=secrets["auditS3AccessKeyId"], secret_access_key=secrets["auditS3SecretAccessKey"],
            api_server_cidrs=cfg.tanzu.api_server_cidrs, monitoring=monitoring,
        ))
    dr_site = None
    if cfg.dr.enabled:
        dr_site = DrSite(
            "dr",
            DrSiteArgs(
                dr=cfg.dr, figures=dr_figures(cfg), primary=cluster.core, pool=cfg.gpu_pool, tanzu=cfg.tanzu,
                addons=cfg.addons, privileged_namespaces=cfg.compliance.privileged_namespaces,
                baseline_namespaces=cfg.compliance.baseline_namespaces, models=cfg.models, primary_monitoring=monitoring,
                observability=cfg.observability, rules=rule_settings(cfg), waits=cfg.waits,
                secrets=DrSecrets(
                    vsphere_password=secrets["drVspherePassword"],
                    supervisor_kubeconfig=secrets["drSupervisorKubeconfig"],
                    registry_password=secrets.get("drRegistryPassword", secrets["registryPassword"]),
                    s3_access_key_id=secrets["backupS3AccessKeyId"],
                    s3_secret_access_key=secrets["backupS3SecretAccessKey"],
                    nls_client_token=secrets.get("nlsClientToken"),
                    hf_token=secrets.get("hfToken"),
                    smtp_password=secrets.get("alertSmtpPassword"),
                    webhook_url=secrets.get("alertWebhookUrl"),
                ),
            ),
        )
    return Platform(cfg, host_pool, cluster, models, observability, dr_site, aria, gateway, access, audit)


def spans_nodes(cfg: PlatformConfig) -> bool:
    """Whether a model's replica spans nodes, so the clusters need the LeaderWorkerSet controller."""
    return any(capacity.layout_of(cfg, model).multi_node for model in cfg.models.values())


def scrape_targets(cfg: PlatformConfig) -> dict[str, int]:
    """Namespaces the primary Prometheus scrapes, with the metrics port of each."""
    targets = {cfg.tanzu.serving_namespace: 8000, cfg.addons.gpu_operator.namespace: 9400, cfg.gateway.namespace: 19001}
    if cfg.dr.enabled:
        targets[VELERO_NAMESPACE] = VELERO_METRICS_PORT
    if cfg.audit.enabled:
        targets[AUDIT_NAMESPACE] = 2020
    return targets


def rule_settings(cfg: PlatformConfig) -> RuleSettings:
    return RuleSettings(
        serving_namespace=cfg.tanzu.serving_namespace,
        served_model_names=tuple(m.served_model_name for m in cfg.models.values()),
        latency_p95_threshold_seconds=cfg.observability.latency_p95_threshold_seconds,
        queue_per_replica_threshold=cfg.observability.queue_per_replica_alert,
        gpu_temperature_celsius=cfg.observability.gpu_temperature_alert_celsius,
        runbook_base_url=cfg.observability.runbook_base_url,
        vgpu=cfg.gpu_pool.mode == "vgpu",
        backup_rpo_seconds=cfg.dr.rpo_minutes * 60 if cfg.dr.enabled else None,
        audit=cfg.audit.enabled,
        group_models=tuple(m.served_model_name for m in cfg.models.values() if capacity.layout_of(cfg, m).multi_node),
        itl_target_seconds=cfg.cost.itl_target_seconds,
    )


def stack_outputs(platform: Platform) -> dict[str, Any]:
    """The stack outputs, camelCase. Secrets stay secret Outputs."""
    cfg, dr = platform.config, platform.dr_site
    plan = capacity.plan(cfg)
    return {
        "contractVersion": CONTRACT_VERSION,
        "clusterName": cfg.tanzu.cluster_name,
        "supervisorNamespace": cfg.tanzu.supervisor_namespace,
        "servingNamespace": cfg.tanzu.serving_namespace,
        "gatewayNamespaces": list(cfg.tanzu.gateway_namespaces),
        "kubeconfig": platform.cluster.kubeconfig,
        "gpuCount": platform.host_pool.gpu_nodes * platform.host_pool.gpus_per_node,
        "nodePools": platform.cluster.node_pools,
        "models": {
            key: {
                "servedModelName": svc.served_model_name,
                "baseUrl": svc.base_url,
                "namespace": svc.namespace,
                "service": svc.service_name,
                "port": API_PORT,
                "apiKeySecretName": svc.api_key_secret_name,
            }
            for key, svc in platform.models.items()
        },
        "apiKeys": pulumi.Output.secret({key: svc.api_key for key, svc in platform.models.items()}),
        "prometheusUrl": platform.observability.prometheus_url if platform.observability else None,
        "alertmanagerUrl": platform.observability.alertmanager_url if platform.observability else None,
        "grafanaUrl": platform.observability.grafana_url if platform.observability else None,
        "grafanaAdminPassword": platform.observability.grafana_admin_password if platform.observability else None,
        "capacity": {key: p.to_dict() for key, p in plan.models.items()},
        "gpusNeeded": plan.gpus_needed,
        "cost": plan.cost.to_dict(),
        "compliance": {
            "policyPack": PACK_NAME,
            "policyConfig": f"policies/config/{pulumi.get_stack()}.json",
            "exceptions": exceptions(cfg),
        },
        "gatewayUrl": platform.gateway.url,
        "gatewayModelUrls": platform.gateway.model_urls,
        "oidc": {"issuer": cfg.gateway.oidc.issuer, "audiences": list(cfg.gateway.oidc.audiences),
                 "jwksUri": cfg.gateway.oidc.jwks_uri, "userClaim": cfg.gateway.oidc.user_claim},
        "auditBucket": platform.audit.bucket if platform.audit else None,
        "auditRetentionDays": platform.audit.retention_days if platform.audit else None,
        "ariaProjectId": platform.aria.project_id if platform.aria else None,
        "ariaCloudAccountId": platform.aria.cloud_account_id if platform.aria else None,
        "ariaZoneId": platform.aria.zone_id if platform.aria else None,
        "drMode": dr.mode if dr else None,
        "drRpoTargetMinutes": cfg.dr.rpo_minutes if dr else None,
        "drRtoTargetMinutes": cfg.dr.rto_minutes if dr else None,
        "drAchievedRpoMinutes": dr.rpo_minutes if dr else None,
        "drAchievedRtoMinutes": dr.rto_minutes if dr else None,
        "drClusterName": dr.cluster_name if dr else None,
        "drStandbyEndpoints": dr.standby_endpoints if dr else {},
        "backupLocation": dr.backup_location if dr else None,
    }
