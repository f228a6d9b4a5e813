"""Wires the five components together and names the stack outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.builders import ai_gateway as ai
from components.builders.admission import fences as admission_fences
from components.builders.gateway_pods import (
    CONTROLLER_METRICS_PORT,
    CONTROLLER_NAMESPACE,
    EXTPROC_METRICS_PORT,
    PROXY_METRICS_PORT,
    PROXY_PORT,
)
from components.builders.vllm_pod import API_PORT
from components.config import PlatformConfig, dr_figures, question_set, site_mirror
from components.config.model import OPENAI_ENDPOINTS, GatewayConfig, ModelConfig
from components.outputs import CONTRACT_VERSION
from components.planning import capacity
from components.planning.compliance import PACK_NAME, exceptions
from components.planning.monitoring.rules import CanaryWatch, EvaluationScore, RuleSettings
from components.resources.access import ClusterAccess, ClusterAccessArgs
from components.resources.aria import AriaIntegration, AriaIntegrationArgs
from components.resources.audit import NAMESPACE as AUDIT_NAMESPACE
from components.resources.audit import PREFIX as AUDIT_PREFIX
from components.resources.audit import AuditShipping, AuditShippingArgs
from components.resources.benchmark import SiteBenchmark, SiteBenchmarkArgs
from components.resources.dr_site import DrSite, DrSiteArgs
from components.resources.evaluation import ModelEvaluation, ModelEvaluationArgs
from components.resources.gateway import CandidateBackend, ModelGateway, ModelGatewayArgs, RoutedModel
from components.resources.gateway_controller_network import GatewayControllerNetwork, GatewayControllerNetworkArgs
from components.resources.gpu_host_pool import GpuHostPool, GpuHostPoolArgs
from components.resources.observability_stack import ObservabilityStack, ObservabilityStackArgs
from components.resources.tanzu_cluster import TanzuCluster, TanzuClusterArgs
from components.resources.velero import METRICS_PORT as VELERO_METRICS_PORT
from components.resources.velero import NAMESPACE as VELERO_NAMESPACE
from components.resources.vllm_service import ServingCertificate, VllmService, VllmServiceArgs


@dataclass(frozen=True)
class Platform:
    """One site's components. A standby in backup-restore that has not taken over builds none of them."""

    config: PlatformConfig
    host_pool: GpuHostPool | None
    cluster: TanzuCluster | None
    models: dict[str, VllmService]
    observability: ObservabilityStack | None
    dr_site: DrSite | None
    aria: AriaIntegration | None
    gateway: ModelGateway | None
    """None where no model is served (a standby in pilot-light that has not taken over)."""
    access: ClusterAccess | None
    audit: AuditShipping | None


def site_name(cfg: PlatformConfig) -> str:
    """Prefix of the site's pool and cluster resources."""
    return "standby" if cfg.standby else "primary"


def build_platform(cfg: PlatformConfig, secrets: dict[str, pulumi.Input[str]]) -> Platform:
    """Create every component of this stack's site. ``secrets`` maps secret config keys to Outputs."""
    if not cfg.deploys_site:
        return Platform(cfg, None, None, {}, None, None, None, None, None, None)
    site = site_name(cfg)
    host_pool = GpuHostPool(site, GpuHostPoolArgs(
        vsphere=cfg.vsphere, pool=cfg.gpu_pool, password=secrets["vspherePassword"], gpu_nodes=cfg.gpu_nodes_now,
        trust_bundle=cfg.site.trust_bundle))
    cluster = TanzuCluster(
        site,
        TanzuClusterArgs(
            tanzu=cfg.tanzu, addons=cfg.addons, pool=cfg.gpu_pool, host_pool=host_pool,
            privileged_namespaces=cfg.compliance.privileged_namespaces,
            supervisor_kubeconfig=secrets["supervisorKubeconfig"],
            namespace_grants=cfg.namespace_grants,
            registry_password=secrets["registryPassword"],
            nls_client_token=secrets.get("nlsClientToken"),
            waits=cfg.waits,
            leader_worker_set=spans_nodes(cfg),
            trust_bundle=cfg.site.trust_bundle,
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
                dead_mans_switch_url=secrets.get("deadMansSwitchUrl"),
            ),
        )
    # kube-prometheus-stack installs the monitoring CRDs: monitors wait for it, or there are none.
    monitoring = observability.release if observability else None
    serving = serving_certificate(cfg, secrets)
    models = {
        key: VllmService(
            key,
            VllmServiceArgs(
                model=model, cluster=cluster.core,
                hf_token=secrets.get("hfToken") if model.source == "huggingface" else None,
                monitoring=monitoring, gateway_namespace=cfg.gateway.namespace, layout=capacity.layout_of(cfg, model),
                serving_tls=serving,
            ),
        )
        for key, model in cfg.models.items()
    } if cfg.serves_models else {}
    # A canary beside the current revision: its own workload, Service and key; on shared weights it stages its
    # revision into the current one's volume (a directory of its own), so removing it deletes no protected claim.
    candidates = {
        key: VllmService(
            ai.candidate_backend(key),
            VllmServiceArgs(
                model=candidate, cluster=cluster.core,
                hf_token=secrets.get("hfToken") if candidate.source == "huggingface" else None,
                monitoring=monitoring, gateway_namespace=cfg.gateway.namespace, layout=capacity.layout_of(cfg, candidate),
                role="candidate",
                shared_weights_claim=f"{key}-weights" if candidate.weights.access_mode == "ReadWriteMany" else None,
                serving_tls=serving,
            ),
            opts=pulumi.ResourceOptions(depends_on=[models[key]]),
        )
        for key, model in cfg.models.items()
        if key in models and (candidate := model.candidate_model) is not None
    }
    aria = None
    if cfg.aria.enabled:
        aria = AriaIntegration("aria", AriaIntegrationArgs(
            aria=cfg.aria, vsphere=cfg.vsphere, host_pool=host_pool,
            vsphere_password=secrets["vspherePassword"], refresh_token=secrets["ariaRefreshToken"],
        ))
    gateway = None
    if models:
        # Both sites route the same served names with the same access rules: failover changes only the address.
        gateway = ModelGateway("gateway", ModelGatewayArgs(
            settings=gateway_settings(cfg), cluster=cluster.core,
            models=tuple(RoutedModel(key, svc.service_name, API_PORT, svc.api_key, svc.served_model_name,
                                     svc.api_key_generation, candidate=_canary(cfg, key, candidates.get(key)),
                                     tls=svc.tls, max_tokens=cfg.models[key].max_tokens_ceiling)
                         for key, svc in models.items()),
            tls_certificate=secrets["gatewayTlsCert"], tls_key=secrets["gatewayTlsKey"],
            api_server_cidrs=cfg.tanzu.api_server_cidrs, monitoring=monitoring,
        ))
        # The controller's namespace is the gateway's; its policies wait for it.
        GatewayControllerNetwork("gateway-controller-network", GatewayControllerNetworkArgs(
            cluster=cluster.core, gateway_namespace=cfg.gateway.namespace, api_server_cidrs=cfg.tanzu.api_server_cidrs,
        ), opts=pulumi.ResourceOptions(depends_on=[gateway]))
        if cfg.benchmark.enabled:
            keys = cfg.benchmark.models or tuple(cfg.models)
            SiteBenchmark("benchmark", SiteBenchmarkArgs(
                settings=cfg.benchmark, cost=cfg.cost, models={k: cfg.models[k] for k in keys}, cluster=cluster.core,
                gateway_url=gateway.url, gateway_namespace=cfg.gateway.namespace, token=secrets["benchmarkToken"],
                gateway_certificate=secrets["gatewayTlsCert"], site=site,
                hf_token=secrets.get("hfToken"), depends_on=(gateway, *(models[k] for k in keys)),
            ))
        targets = evaluation_targets(cfg)
        if cfg.evaluation.enabled and targets:
            questions, _ = question_set.load(cfg.evaluation.question_set or "")
            ModelEvaluation("evaluation", ModelEvaluationArgs(
                settings=cfg.evaluation, questions=questions or {}, targets=targets, cluster=cluster.core,
                gateway_url=gateway.url, gateway_namespace=cfg.gateway.namespace, token=secrets["evaluationToken"],
                gateway_certificate=secrets["gatewayTlsCert"],
                depends_on=(gateway, *(models[k] for k in targets), *(candidates[k] for k in targets if k in candidates)),
            ))
    access = ClusterAccess("access", ClusterAccessArgs(
        access=cfg.access, cluster=cluster.core, host_pool=host_pool,
        operator_namespaces=operator_namespaces(cfg), fences=admission_fences(cfg),
    ))
    audit = None
    if cfg.audit.enabled:
        audit = AuditShipping("audit", AuditShippingArgs(
            settings=cfg.audit, cluster=cluster.core, gateway_namespace=cfg.gateway.namespace,
            evaluation_namespace=cfg.evaluation.namespace if cfg.evaluation.enabled else None,
            signature_namespace=signature_namespace(cfg),
            privileged_reason=cfg.compliance.privileged_namespaces["logging"],
            access_key_id=secrets["auditS3AccessKeyId"], secret_access_key=secrets["auditS3SecretAccessKey"],
            api_server_cidrs=cfg.tanzu.api_server_cidrs, monitoring=monitoring,
            # A standby's chain is its own, under its cluster's name, wherever its store is.
            **({"prefix": f"{AUDIT_PREFIX}/{cfg.tanzu.cluster_name}"} if cfg.standby else {}),
            **audit_secrets(secrets),
        ))
    dr_site = None
    if cfg.dr.enabled:
        velero_security = (
            ("privileged", cfg.compliance.privileged_namespaces[VELERO_NAMESPACE]) if cfg.dr.file_system_backup
            else ("baseline", cfg.compliance.baseline_namespaces[VELERO_NAMESPACE]))
        dr_site = DrSite("dr", DrSiteArgs(
            dr=cfg.dr, figures=dr_figures(cfg), cluster=cluster.core, standby=cfg.standby,
            access_key_id=secrets["backupS3ReadOnlyAccessKeyId" if cfg.standby else "backupS3AccessKeyId"],
            secret_access_key=secrets["backupS3ReadOnlySecretAccessKey" if cfg.standby else "backupS3SecretAccessKey"],
            repository_password=secrets["backupRepositoryPassword"],
            api_server_cidrs=cfg.tanzu.api_server_cidrs, pod_security=velero_security, monitoring=monitoring,
            lock_check_image=cfg.audit.tools_image.reference if cfg.audit.tools_image else None,
        ))
    return Platform(cfg, host_pool, cluster, models, observability, dr_site, aria, gateway, access, audit)


def _canary(cfg: PlatformConfig, key: str, svc: VllmService | None) -> CandidateBackend | None:
    """The gateway's view of a model's candidate: its Service, key and share of requests."""
    if svc is None:
        return None
    return CandidateBackend(svc.service_name, svc.api_key, cfg.models[key].candidate.weight, svc.api_key_generation,
                            tls=svc.tls)


def serving_certificate(cfg: PlatformConfig, secrets: dict[str, pulumi.Input[str]]) -> ServingCertificate | None:
    """What vLLM serves HTTPS with (``gateway.upstreamTls``), or None for plain HTTP."""
    tls = cfg.gateway.upstream_tls
    # A standby that serves nothing until failover (pilot-light) has no model server to give the key to.
    if not cfg.serves_models or not tls.enabled or tls.certificate is None:
        return None
    return ServingCertificate(tls.certificate, secrets["upstreamTlsKey"])


def evaluation_targets(cfg: PlatformConfig) -> dict[str, tuple[str, ModelConfig]]:
    """Per model key, the revision the evaluation grades: its candidate, else its current one if listed."""
    targets: dict[str, tuple[str, ModelConfig]] = {}
    for key, model in cfg.models.items():
        if model.candidate_model is not None:
            targets[key] = ("candidate", model.candidate_model)
        elif key in cfg.evaluation.models:
            targets[key] = ("current", model)
    return targets


def gateway_settings(cfg: PlatformConfig) -> GatewayConfig:
    """The gateway's config, with the benchmark's and the evaluation's namespaces admitted as clients while on."""
    extra = [job.namespace for job in (cfg.benchmark, cfg.evaluation)
             if job.enabled and job.namespace not in cfg.gateway.client_namespaces]
    if not extra:
        return cfg.gateway
    return cfg.gateway.model_copy(update={"client_namespaces": (*cfg.gateway.client_namespaces, *extra)})


def signature_namespace(cfg: PlatformConfig) -> str | None:
    """Where a weights signature is checked on this cluster: the serving namespace, when a served model (and so its
    candidate, verified with the same signer) has one; None when no check runs here."""
    signed = cfg.serves_models and any(m.weights_signature is not None for m in cfg.models.values())
    return cfg.tanzu.serving_namespace if signed else None


def audit_secrets(secrets: dict[str, pulumi.Input[str]]) -> dict[str, Any]:
    """The sealing identity, the signing key and the anchor store's identity (apart from the shipping one)."""
    return {
        "seal_access_key_id": secrets["auditSealS3AccessKeyId"],
        "seal_secret_access_key": secrets["auditSealS3SecretAccessKey"],
        "signing_key": secrets["auditSigningKey"],
        "anchor_access_key_id": secrets.get("auditAnchorAccessKeyId"),
        "anchor_secret_access_key": secrets.get("auditAnchorSecretAccessKey"),
    }


def operator_namespaces(cfg: PlatformConfig) -> tuple[str, ...]:
    """Where operators read container logs and restart pods: the serving path and its watchers."""
    found = [cfg.tanzu.serving_namespace, cfg.tanzu.monitoring_namespace, *([cfg.gateway.namespace] if cfg.serves_models else [])]
    if cfg.audit.enabled:
        found.append(AUDIT_NAMESPACE)
    if cfg.evaluation.enabled and cfg.serves_models:
        # The evaluation Job's log is its record, which the operator copies into config.
        found.append(cfg.evaluation.namespace)
    return tuple(found)


def spans_nodes(cfg: PlatformConfig) -> bool:
    """Whether a model's replica spans nodes, so the clusters need the LeaderWorkerSet controller."""
    return any(capacity.layout_of(cfg, model).multi_node for model in cfg.models.values())


def scrape_targets(cfg: PlatformConfig) -> dict[str, int | tuple[int, ...]]:
    """Namespaces this site's Prometheus scrapes, with the metrics port(s) of each."""
    targets: dict[str, int | tuple[int, ...]] = {cfg.addons.gpu_operator.namespace: 9400}
    if cfg.serves_models:
        targets[cfg.tanzu.serving_namespace] = 8000
        # Envoy's own stats and the AI gateway's token usage, in the proxy pods.
        targets[cfg.gateway.namespace] = (PROXY_METRICS_PORT, EXTPROC_METRICS_PORT)
        targets[CONTROLLER_NAMESPACE] = CONTROLLER_METRICS_PORT
    if cfg.dr.enabled:
        targets[VELERO_NAMESPACE] = VELERO_METRICS_PORT
    if cfg.audit.enabled:
        targets[AUDIT_NAMESPACE] = 2020
    return targets


def canary_watches(cfg: PlatformConfig) -> tuple[CanaryWatch, ...]:
    """The models with a candidate, as the comparison alerts watch them (Service names as VllmService gives them)."""
    if not cfg.serves_models:
        return ()
    return tuple(CanaryWatch(m.served_model_name, f"{key}-api", f"{ai.candidate_backend(key)}-api",
                             m.candidate.error_rate_margin, m.candidate.latency_margin)
                 for key, m in cfg.models.items() if m.candidate is not None)


def evaluation_scores(cfg: PlatformConfig) -> tuple[EvaluationScore, ...]:
    """The evaluation records config holds, per revision served: Prometheus keeps them as a metric."""
    if not cfg.serves_models:
        return ()
    found = []
    for m in cfg.models.values():
        for role, record in (("current", m.evaluation), ("candidate", m.candidate.evaluation if m.candidate else None)):
            if record is not None:
                found.append(EvaluationScore(m.served_model_name, role, record.weights_manifest, record.score,
                                             record.result_digest))
    return tuple(found)


def rule_settings(cfg: PlatformConfig) -> RuleSettings:
    return RuleSettings(
        canaries=canary_watches(cfg),
        evaluations=evaluation_scores(cfg),
        serving_namespace=cfg.tanzu.serving_namespace,
        served_model_names=tuple(m.served_model_name for m in cfg.models.values()) if cfg.serves_models else (),
        latency_p95_threshold_seconds=cfg.observability.latency_p95_threshold_seconds,
        queue_per_replica_threshold=cfg.observability.queue_per_replica_alert,
        gpu_temperature_celsius=cfg.observability.gpu_temperature_alert_celsius,
        runbook_base_url=cfg.observability.runbook_base_url,
        vgpu=cfg.gpu_pool.mode == "vgpu",
        # Only the primary backs up; a standby's Velero only reads.
        backup_rpo_seconds=cfg.dr.rpo_minutes * 60 if cfg.dr.enabled and not cfg.standby else None,
        audit=cfg.audit.enabled,
        gateway_namespace=cfg.gateway.namespace,
        group_quotas=dict(cfg.gateway.monthly_token_quotas),
        quota_alert_ratio=cfg.gateway.quota_alert_ratio,
        cost_per_million_tokens_usd=capacity.plan(cfg).cost.cost_per_million_tokens_usd,
        group_models=tuple(m.served_model_name for m in cfg.models.values() if capacity.layout_of(cfg, m).multi_node),
        itl_target_seconds=cfg.cost.itl_target_seconds,
    )


def stack_outputs(platform: Platform, mirrored: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stack outputs, camelCase. Secrets stay secret Outputs. ``mirrored``: the primary's siteMirror a standby
    used, with its source."""
    cfg, dr, gateway = platform.config, platform.dr_site, platform.gateway
    plan = capacity.plan(cfg)
    figures = dr_figures(cfg) if cfg.dr.enabled else None
    return {
        "contractVersion": CONTRACT_VERSION,
        "siteRole": cfg.site.role,
        "siteActive": not cfg.standby or cfg.dr.active,
        "clusterName": cfg.tanzu.cluster_name,
        "supervisorNamespace": cfg.tanzu.supervisor_namespace,
        "servingNamespace": cfg.tanzu.serving_namespace,
        "gatewayNamespaces": list(cfg.tanzu.gateway_namespaces),
        "kubeconfig": platform.cluster.kubeconfig if platform.cluster else None,
        "gpuCount": platform.host_pool.gpu_nodes * platform.host_pool.gpus_per_node if platform.host_pool else 0,
        "nodePools": platform.cluster.node_pools if platform.cluster else [],
        "models": {
            key: {
                "servedModelName": svc.served_model_name,
                "endpoints": [OPENAI_ENDPOINTS[e] for e in access.endpoints] if access else [],
                "groups": list(access.groups) if access else [],
                "weightsManifest": cfg.models[key].weights_identity,
                "candidateWeightsManifest": candidate.weights_identity if candidate else None,
                "weightsSigner": cfg.models[key].weights_signer,
            }
            for key, svc in platform.models.items()
            for access in [cfg.gateway.model_access.get(key)]
            for candidate in [cfg.models[key].candidate_model]
        },
        "prometheusUrl": platform.observability.prometheus_url if platform.observability else None,
        "alertmanagerUrl": platform.observability.alertmanager_url if platform.observability else None,
        "grafanaUrl": platform.observability.grafana_url if platform.observability else None,
        "grafanaAdminPassword": platform.observability.grafana_admin_password if platform.observability else None,
        "capacity": {key: p.to_dict() for key, p in plan.models.items()},
        "gpusNeeded": plan.gpus_needed,
        "cost": plan.cost.to_dict(),
        "chargeback": capacity.chargeback(cfg, plan).to_dict(),
        "compliance": {
            "policyPack": PACK_NAME,
            "policyConfig": f"policies/config/{pulumi.get_stack()}.json",
            "exceptions": exceptions(cfg),
        },
        "gatewayUrl": gateway.url if gateway else None,
        "gatewayBaseUrl": gateway.base_url if gateway else None,
        "gatewayAddress": gateway.address if gateway else None,
        "gatewayClients": {
            "namespaces": list(gateway.client_namespaces),
            "proxyNamespace": gateway.namespace,
            "proxyPodLabels": gateway.proxy_selector,
            "proxyPort": PROXY_PORT,
        } if gateway else None,
        "oidc": {"issuer": cfg.gateway.oidc.issuer, "audiences": list(cfg.gateway.oidc.audiences),
                 "jwksUri": cfg.gateway.oidc.jwks_uri, "userClaim": cfg.gateway.oidc.user_claim,
                 "groupClaim": cfg.gateway.oidc.group_claim},
        "tokenLimits": {
            "requestsPerMinutePerUser": cfg.gateway.requests_per_minute_per_user,
            "perUser": [{"tokens": w.tokens, "per": w.per} for w in cfg.gateway.token_limits.per_user],
            "perGroup": [{"tokens": w.tokens, "per": w.per} for w in cfg.gateway.token_limits.per_group],
            "monthlyTokenQuotas": dict(sorted(cfg.gateway.monthly_token_quotas.items())),
            "rateLimitFailure": cfg.gateway.rate_limit_failure or "open",
        },
        "auditBucket": platform.audit.bucket if platform.audit else None,
        "auditRetentionDays": platform.audit.retention_days if platform.audit else None,
        "ariaProjectId": platform.aria.project_id if platform.aria else None,
        "ariaCloudAccountId": platform.aria.cloud_account_id if platform.aria else None,
        "ariaZoneId": platform.aria.zone_id if platform.aria else None,
        "drMode": cfg.dr.mode if figures else None,
        "drRpoTargetMinutes": cfg.dr.rpo_minutes if figures else None,
        "drRtoTargetMinutes": cfg.dr.rto_minutes if figures else None,
        "drAchievedRpoMinutes": figures.rpo_minutes if figures else None,
        "drAchievedRtoMinutes": figures.rto_minutes if figures else None,
        "backupLocation": dr.backup_location if dr else None,
        "restoreName": dr.restore_name if dr else None,
        "siteMirror": None if cfg.standby else site_mirror.mirror_of(cfg),
        "mirroredPrimary": mirrored if cfg.standby else None,
    }
