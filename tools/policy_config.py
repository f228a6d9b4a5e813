"""Policy-pack configuration derived from a stack's config, so the pack checks what the stack promises.

    python -m tools.policy_config --stack prod          # print
    python -m tools.policy_config --stack prod --write  # write policies/config/prod.json

The same file serves `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`
and the offline engine; a test fails when a committed file drifts from its stack.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from components.builders.ai_gateway import REDIS_NAMESPACE
from components.builders.gateway_pods import CONTROLLER_NAMESPACE, RATE_LIMIT_SELECTOR, gateway_proxy_selector
from components.builders.monitoring import PROMETHEUS_POD_LABELS
from components.builders.vllm_pod import API_PORT
from components.config import PlatformConfig
from components.config.rules import SIX_YEARS_DAYS
from components.planning.compliance import (
    CHART_SECRET_READERS,
    SECRET_ACCOUNTS,
    capability_exceptions,
    network_exemptions,
    protected_namespaces,
)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "policies" / "config"

# Non-production stacks may be torn down and rebuilt freely and may point at a lab vCenter.
NON_PRODUCTION_ADVISORY = ("stateful-protected", "vsphere-tls")


def policy_config(cfg: PlatformConfig) -> dict[str, Any]:
    dr = cfg.dr
    encrypted = sorted({cfg.vsphere.storage_policy} | set(cfg.compliance.encrypted_storage_classes))
    exemptions = network_exemptions(cfg)
    pod_security = {"privilegedNamespaces": dict(cfg.compliance.privileged_namespaces),
                    "baselineNamespaces": dict(cfg.compliance.baseline_namespaces)}
    config: dict[str, Any] = {
        "all": "mandatory",
        "pod-security-restricted": pod_security,
        "namespace-pod-security": pod_security,
        "image-provenance": {
            "allowedRegistries": list(cfg.compliance.allowed_registries),
            "requireDigest": cfg.compliance.require_image_digest,
        },
        "default-deny-network-policy": {"networkPolicyExemptNamespaces": exemptions},
        "encrypted-storage": {"encryptedStorageClasses": encrypted},
        "vsphere-tls": {"allowUnverifiedSsl": cfg.vsphere.allow_unverified_ssl},
        "backup-coverage": {
            # Only the primary backs up; a standby's Velero only reads.
            "drEnabled": dr.enabled and not cfg.standby, "rpoMinutes": dr.rpo_minutes,
            "servingNamespace": cfg.tanzu.serving_namespace, "monitoringNamespace": cfg.tanzu.monitoring_namespace,
        },
        "backup-retention": {"minimumTtlHours": cfg.compliance.minimum_backup_ttl_hours},
        # A site watches what it runs: model alerts where models serve, backup alerts where backups are made.
        "alerting-present": {"drEnabled": dr.enabled and not cfg.standby and cfg.deploys_site,
                             **({} if cfg.serves_models else {"requiredAlerts": []})},
        "gateway-only-exposure": {
            "gatewayNamespaces": list(cfg.tanzu.gateway_namespaces), "monitoringNamespace": cfg.tanzu.monitoring_namespace,
        },
        "audit-shipping": {"auditRequired": cfg.deploys_site and (cfg.compliance.tier == "production" or cfg.audit.enabled),
                           "minimumRetentionDays": SIX_YEARS_DAYS},
        "cluster-admin-break-glass-only": {"breakGlassGroup": cfg.access.break_glass_group},
        "rbac-least-privilege": {"breakGlassGroup": cfg.access.break_glass_group,
                                 "secretAccounts": dict(SECRET_ACCOUNTS)},
        "ai-gateway-authenticated": {"userClaim": cfg.gateway.oidc.user_claim},
        "rate-limit-store-isolated": {"storeNamespace": REDIS_NAMESPACE, "rateLimitNamespace": CONTROLLER_NAMESPACE,
                                      "rateLimitLabels": dict(RATE_LIMIT_SELECTOR)},
        "effective-capability": {"breakGlassGroup": cfg.access.break_glass_group,
                                 "protectedNamespaces": protected_namespaces(cfg),
                                 "exceptions": capability_exceptions(cfg)},
        "model-port-ingress": {
            "gatewayNamespace": cfg.gateway.namespace, "gatewayProxyLabels": gateway_proxy_selector(cfg.gateway.namespace),
            "monitoringNamespace": cfg.tanzu.monitoring_namespace, "prometheusLabels": dict(PROMETHEUS_POD_LABELS),
            "modelPort": API_PORT,
        },
        "no-open-network": {"production": cfg.compliance.tier == "production", "gatewayNamespace": cfg.gateway.namespace},
        "in-cluster-tls": {"requireUpstreamTls": cfg.compliance.tier == "production"},
        "ai-gateway-token-reservation": {"requireReservation": cfg.compliance.tier == "production",
                                         "userClaim": cfg.gateway.oidc.user_claim},
        "chart-secret-access": {"exceptions": dict(CHART_SECRET_READERS)},
        "audit-evidence-separation": {"auditRequired": cfg.deploys_site and (cfg.compliance.tier == "production"
                                                                             or cfg.audit.enabled)},
    }
    if cfg.compliance.tier == "non-production":
        # Non-production may run without monitoring (production may not: config refuses it); the pack still says so.
        advisory = NON_PRODUCTION_ADVISORY + (() if cfg.observability.enabled else ("alerting-present",))
        for name in advisory:
            config[name] = {**config.get(name, {}), "enforcementLevel": "advisory"}
    return config


def render(cfg: PlatformConfig) -> str:
    return json.dumps(policy_config(cfg), indent=2, sort_keys=True) + "\n"


def for_stack(stack: str) -> PlatformConfig:
    from offline.run import platform_config

    return platform_config(stack)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", required=True)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    text = render(for_stack(args.stack))
    if args.write:
        (CONFIG_DIR / f"{args.stack}.json").write_text(text)
    else:
        print(text, end="")
