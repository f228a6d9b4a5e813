"""The stack's standing exceptions to the policy pack, shared by the outputs and the pack's config."""

from __future__ import annotations

from components.config.model import PlatformConfig

PACK_NAME = "onprem-llm-hipaa"
"""Name of the policy pack in policies/ (a test keeps the two equal)."""

NETWORK_EXEMPTIONS = {
    "gpu-operator": "operands reach the API server, whose address the program does not know",
    "keda": "the API server calls the metrics adapter from the control-plane nodes' host network",
    "envoy-gateway-system": "the controller watches the API server and serves xDS to proxies in the gateway namespace",
}
"""Why add-on namespaces get no default-deny policy (see README "GPU hosts and the cluster")."""


def network_exemptions(cfg: PlatformConfig) -> dict[str, str]:
    return {
        cfg.addons.gpu_operator.namespace: NETWORK_EXEMPTIONS["gpu-operator"],
        cfg.addons.keda_namespace: NETWORK_EXEMPTIONS["keda"],
        "envoy-gateway-system": NETWORK_EXEMPTIONS["envoy-gateway-system"],
    }


def exceptions(cfg: PlatformConfig) -> list[dict[str, str]]:
    found = [{"policy": "pod-security-restricted", "namespace": ns, "reason": reason}
             for ns, reason in sorted(cfg.compliance.privileged_namespaces.items())]
    found += [{"policy": "pod-security-restricted", "namespace": ns, "reason": f"baseline level: {reason}"}
              for ns, reason in sorted(cfg.compliance.baseline_namespaces.items())]
    found += [{"policy": "default-deny-network-policy", "namespace": ns, "reason": reason}
              for ns, reason in sorted(network_exemptions(cfg).items())]
    return found
