"""Wires the five components together and names the stack outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import PlatformConfig
from components.dr_site import DrSite, DrSiteArgs
from components.gpu_host_pool import GpuHostPool, GpuHostPoolArgs
from components.observability_stack import ObservabilityStack, ObservabilityStackArgs
from components.tanzu_cluster import TanzuCluster, TanzuClusterArgs
from components.vllm_service import VllmService, VllmServiceArgs


@dataclass(frozen=True)
class Platform:
    config: PlatformConfig
    host_pool: GpuHostPool
    cluster: TanzuCluster
    models: dict[str, VllmService]
    observability: ObservabilityStack | None
    dr_site: DrSite | None


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
        ),
    )
    models = {
        key: VllmService(
            key,
            VllmServiceArgs(
                model=model, cluster=cluster.core,
                hf_token=secrets.get("hfToken") if model.source == "huggingface" else None,
            ),
        )
        for key, model in cfg.models.items()
    }
    observability = None
    if cfg.observability.enabled:
        observability = ObservabilityStack(
            "observability",
            ObservabilityStackArgs(
                settings=cfg.observability, cluster=cluster.core,
                served_model_names=tuple(m.served_model_name for m in cfg.models.values()),
            ),
        )
    dr_site = None
    if cfg.dr.enabled:
        dr_site = DrSite(
            "dr",
            DrSiteArgs(
                dr=cfg.dr, pool=cfg.gpu_pool, tanzu=cfg.tanzu, addons=cfg.addons,
                privileged_namespaces=cfg.compliance.privileged_namespaces,
                nls_client_token=secrets.get("nlsClientToken"),
                vsphere_password=secrets["drVspherePassword"],
                supervisor_kubeconfig=secrets["drSupervisorKubeconfig"],
                registry_password=secrets["registryPassword"],
            ),
        )
    return Platform(cfg, host_pool, cluster, models, observability, dr_site)


def stack_outputs(platform: Platform) -> dict[str, Any]:
    """The stack outputs, camelCase. Secrets stay secret Outputs."""
    cfg = platform.config
    return {
        "clusterName": cfg.tanzu.cluster_name,
        "supervisorNamespace": cfg.tanzu.supervisor_namespace,
        "servingNamespace": cfg.tanzu.serving_namespace,
        "kubeconfig": platform.cluster.kubeconfig,
        "gpuCount": platform.host_pool.gpu_nodes * platform.host_pool.gpus_per_node,
        "nodePools": platform.cluster.node_pools,
        "models": {
            key: {
                "servedModelName": svc.served_model_name,
                "baseUrl": svc.base_url,
                "namespace": svc.namespace,
                "service": svc.service_name,
                "apiKeySecretName": svc.api_key_secret_name,
            }
            for key, svc in platform.models.items()
        },
        "apiKeys": pulumi.Output.secret({key: svc.api_key for key, svc in platform.models.items()}),
        "drMode": platform.dr_site.mode if platform.dr_site else None,
        "drClusterName": cfg.dr.secondary.cluster_name if platform.dr_site and cfg.dr.secondary else None,
    }
