"""The stack's standing exceptions to the policy pack, shared by the outputs and the pack's config."""

from __future__ import annotations

from components.config.model import PlatformConfig

PACK_NAME = "onprem-llm-hipaa"
"""Name of the policy pack in policies/ (a test keeps the two equal)."""

NETWORK_EXEMPTIONS: dict[str, str] = {}
"""Namespaces without a default-deny policy, with the reason: none. The add-ons' namespaces (GPU Operator,
KEDA, the gateway controller) deny by default and open only the flows each needs."""


CHART_SECRET_READERS = {
    "velero": "backs up and restores every kind of object, so its server runs as cluster-admin; Secrets are excluded "
              "from the backups themselves, and its namespace admits no operator",
    "gateway-helm": "the Envoy Gateway controller reads the gateways' TLS Secrets and watches every namespace; no "
                    "operator can run a pod as its account",
}
"""Charts whose service accounts read every Secret of the cluster, each with the reason (see docs/security.md)."""
CHART_NAMESPACES = {"velero": "velero", "gateway-helm": "envoy-gateway-system"}


def network_exemptions(cfg: PlatformConfig) -> dict[str, str]:
    return dict(NETWORK_EXEMPTIONS)


def exceptions(cfg: PlatformConfig) -> list[dict[str, str]]:
    found = [{"policy": "pod-security-restricted", "namespace": ns, "reason": reason}
             for ns, reason in sorted(cfg.compliance.privileged_namespaces.items())]
    found += [{"policy": "pod-security-restricted", "namespace": ns, "reason": f"baseline level: {reason}"}
              for ns, reason in sorted(cfg.compliance.baseline_namespaces.items())]
    found += [{"policy": "default-deny-network-policy", "namespace": ns, "reason": reason}
              for ns, reason in sorted(network_exemptions(cfg).items())]
    found += [{"policy": "chart-secret-access", "namespace": CHART_NAMESPACES[chart], "reason": f"chart {chart}: {reason}"}
              for chart, reason in sorted(CHART_SECRET_READERS.items())]
    return found
