"""Rules that span fields and sections of the stack config.

Each ``_rule_*`` returns the issues it finds; the path of each issue names the key to change and
the reason says how. They run once every section has parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.config.model import ModelConfig, PlatformConfig
from components.planning import capacity, sizing
from components.planning.dr_plan import DrFigures, DrInputs, achievable, cron_for_interval


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.value)}: {self.reason}"


def _show(value: Any) -> str:
    if value is MISSING:
        return "<missing>"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


MISSING = object()



# ---------------------------------------------------------------------------------------------
# Cross-field rules: each returns the issues it finds; the path names the key to change.
# ---------------------------------------------------------------------------------------------


def _rule_models_fit_pool(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    for key, m in c.models.items():
        if m.tensor_parallel_size > c.gpu_pool.gpus_per_node:
            issues.append(ConfigIssue(
                f"models.{key}.tensorParallelSize", m.tensor_parallel_size,
                f"a replica's GPUs must sit in one node VM, and gpuPool.gpusPerNode is {c.gpu_pool.gpus_per_node}; "
                f"lower it or raise gpuPool.gpusPerNode",
            ))
    demand = sum(m.replicas.max * m.tensor_parallel_size for m in c.models.values())
    if demand > c.gpu_pool.total_gpus:
        detail = ", ".join(
            f"{k} {m.replicas.max}x{m.tensor_parallel_size}" for k, m in c.models.items()
        )
        issues.append(ConfigIssue(
            "models", f"{demand} GPUs",
            f"replicas.max x tensorParallelSize over all models ({detail}) exceeds the pool's "
            f"{c.gpu_pool.total_gpus} GPUs (gpuPool.nodes x gpuPool.gpusPerNode); lower replicas.max or add nodes",
        ))
    return issues


def _rule_replica_bounds(c: PlatformConfig) -> list[ConfigIssue]:
    issues = [
        ConfigIssue(f"models.{k}.replicas.max", m.replicas.max, f"is below replicas.min ({m.replicas.min})")
        for k, m in c.models.items() if m.replicas.max < m.replicas.min
    ]
    if c.compliance.tier == "production":
        issues += [
            ConfigIssue(
                f"models.{k}.replicas.min", m.replicas.min,
                "with ReadWriteOnce weights the replicas are a StatefulSet, which restarts a lone replica on every "
                "update; production needs replicas.min >= 2 or weights.accessMode ReadWriteMany",
            )
            for k, m in c.models.items() if m.weights.access_mode == "ReadWriteOnce" and m.replicas.min < 2
        ]
    return issues


def _rule_model_fits_node(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    for key, m in c.models.items():
        shm = sizing.shm_gib(m.tensor_parallel_size)
        needed = m.resources.memory_gib + shm
        if needed > c.gpu_pool.node_memory_gib - 8:
            issues.append(ConfigIssue(
                f"models.{key}.resources.memoryGib", m.resources.memory_gib,
                f"with {shm} GiB of /dev/shm the pod needs {needed} GiB, more than a GPU node's "
                f"{c.gpu_pool.node_memory_gib} GiB less 8 GiB for the system; lower it or raise gpuPool.nodeMemoryGib",
            ))
        if m.resources.cpu > c.gpu_pool.node_cpus - 2:
            issues.append(ConfigIssue(
                f"models.{key}.resources.cpu", m.resources.cpu,
                f"a GPU node has {c.gpu_pool.node_cpus} vCPUs and keeps 2 for the system; lower it or raise gpuPool.nodeCpus",
            ))
        if m.weights.access_mode == "ReadWriteMany" and not m.weights.storage_class:
            issues.append(ConfigIssue(
                f"models.{key}.weights.storageClass", MISSING,
                "ReadWriteMany needs a file-services storage class; the cluster's default class is block (ReadWriteOnce)",
            ))
        encrypted = {c.vsphere.storage_policy, *c.compliance.encrypted_storage_classes}
        if m.weights.storage_class and m.weights.storage_class not in encrypted:
            issues.append(ConfigIssue(
                f"models.{key}.weights.storageClass", m.weights.storage_class,
                f"not known to be encrypted; use one of {sorted(encrypted)} or list it in "
                "compliance.encryptedStorageClasses once its storage policy encrypts",
            ))
    return issues


def _rule_served_names_unique(c: PlatformConfig) -> list[ConfigIssue]:
    seen: dict[str, str] = {}
    issues = []
    for key, m in c.models.items():
        if m.served_model_name in seen:
            issues.append(ConfigIssue(
                f"models.{key}.servedModelName", m.served_model_name,
                f"already served by models.{seen[m.served_model_name]}; clients could not tell them apart",
            ))
        seen.setdefault(m.served_model_name, key)
    return issues


def _rule_model_source(c: PlatformConfig) -> list[ConfigIssue]:
    return [
        ConfigIssue(f"models.{k}.mirrorUrl", MISSING, "source is mirror, so the mirror's base URL is required")
        for k, m in c.models.items() if m.source == "mirror" and not m.mirror_url
    ]


def _rule_images_allowed(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    for key, m in c.models.items():
        if m.image.registry not in c.compliance.allowed_registries:
            issues.append(ConfigIssue(
                f"models.{key}.image.repository", m.image.repository,
                f"registry {m.image.registry!r} is not in compliance.allowedRegistries {list(c.compliance.allowed_registries)}",
            ))
        if c.compliance.require_image_digest and not m.image.digest:
            issues.append(ConfigIssue(
                f"models.{key}.image.digest", MISSING,
                "compliance.requireImageDigest is on; add the image's sha256 digest",
            ))
    return issues


def _rule_gpu_mode(c: PlatformConfig) -> list[ConfigIssue]:
    pool = c.gpu_pool
    issues = []
    if pool.mode == "vgpu":
        if not pool.vgpu_profile:
            issues.append(ConfigIssue("gpuPool.vgpuProfile", MISSING, "vgpu mode needs a vGPU profile such as grid_a100-80c"))
        if pool.existing_vm_class:
            issues.append(ConfigIssue(
                "gpuPool.existingVmClass", pool.existing_vm_class,
                "vgpu mode creates its own VM class from gpuPool.vgpuProfile; remove it",
            ))
    else:
        if pool.vgpu_profile:
            issues.append(ConfigIssue(
                "gpuPool.vgpuProfile", pool.vgpu_profile, "passthrough mode takes no vGPU profile; remove it"
            ))
        if not pool.existing_vm_class:
            issues.append(ConfigIssue(
                "gpuPool.existingVmClass", MISSING,
                "passthrough needs the name of a VM class with the DirectPath I/O device, made in vCenter "
                "(pulumi-vsphere cannot attach PCI devices to a VM class)",
            ))
    repository = c.addons.gpu_operator.driver_repository
    if repository.split("/", 1)[0] not in c.compliance.allowed_registries:
        issues.append(ConfigIssue(
            "addons.gpuOperator.driverRepository", repository,
            f"the driver image must come from compliance.allowedRegistries {list(c.compliance.allowed_registries)}",
        ))
    return issues


def _rule_production_tier(c: PlatformConfig) -> list[ConfigIssue]:
    if c.compliance.tier != "production":
        return []
    issues = []
    for path, site in (("vsphere", c.vsphere), ("dr.secondary.vsphere", c.dr.secondary.vsphere if c.dr.secondary else None)):
        if site is not None and site.allow_unverified_ssl:
            issues.append(ConfigIssue(
                f"{path}.allowUnverifiedSsl", True,
                "production stacks verify vCenter TLS (164.312(e)(1)); add the vCenter CA to the trust store instead",
            ))
    if c.tanzu.control_plane.replicas != 3:
        issues.append(ConfigIssue(
            "tanzu.controlPlane.replicas", c.tanzu.control_plane.replicas,
            "production needs 3 control-plane nodes for etcd quorum",
        ))
    return issues


def _rule_namespaces_distinct(c: PlatformConfig) -> list[ConfigIssue]:
    t = c.tanzu
    issues = []
    if t.serving_namespace == t.monitoring_namespace:
        issues.append(ConfigIssue("tanzu.monitoringNamespace", t.monitoring_namespace, "must differ from tanzu.servingNamespace"))
    if t.serving_namespace in t.gateway_namespaces:
        issues.append(ConfigIssue(
            "tanzu.gatewayNamespaces", list(t.gateway_namespaces),
            "must not contain tanzu.servingNamespace; callers live in their own namespaces",
        ))
    gpu_operator = c.addons.gpu_operator.namespace
    if gpu_operator not in c.compliance.privileged_namespaces:
        issues.append(ConfigIssue(
            "compliance.privilegedNamespaces", dict(c.compliance.privileged_namespaces),
            f"needs an entry for {gpu_operator!r} (addons.gpuOperator.namespace) with its reason: the GPU driver "
            "and toolkit run privileged",
        ))
    for ns in (t.serving_namespace, t.monitoring_namespace, c.addons.keda_namespace):
        if ns == gpu_operator:
            issues.append(ConfigIssue(
                "addons.gpuOperator.namespace", gpu_operator, f"must not share the namespace {ns!r} with other workloads",
            ))
    for ns in (t.serving_namespace, t.monitoring_namespace, c.addons.keda_namespace):
        if ns in c.compliance.privileged_namespaces:
            issues.append(ConfigIssue(
                f"compliance.privilegedNamespaces.{ns}", c.compliance.privileged_namespaces[ns],
                "workload namespaces stay at Pod Security restricted; remove this exception",
            ))
    return issues


def _rule_tkr_matches_version(c: PlatformConfig) -> list[ConfigIssue]:
    if not c.tanzu.tkr.startswith(f"v{c.tanzu.kubernetes_version}."):
        return [ConfigIssue(
            "tanzu.kubernetesVersion", c.tanzu.kubernetes_version,
            f"does not match tanzu.tkr {c.tanzu.tkr!r}; set the TKr's Kubernetes minor",
        )]
    return []


def dr_figures(c: PlatformConfig) -> DrFigures:
    """Achievable RPO and RTO of the configured DR pattern."""
    dr = c.dr
    staged = dr.mode == "warm-standby"
    return achievable(DrInputs(
        mode=dr.mode,
        backup_interval_minutes=dr.backup_interval_minutes,
        backup_duration_minutes=dr.backup_duration_minutes,
        replication_lag_minutes=dr.replication_lag_minutes,
        detection_minutes=dr.detection_minutes,
        dns_ttl_seconds=dr.dns_ttl_seconds,
        weights_gib=0 if staged else sum(m.weights.size_gib for m in c.models.values()),
        copy_gib_per_minute=dr.copy_gib_per_minute,
    ))


def _rule_dr_consistent(c: PlatformConfig) -> list[ConfigIssue]:
    dr = c.dr
    if not dr.enabled:
        return []
    issues = []
    if dr.secondary is None:
        issues.append(ConfigIssue("dr.secondary", MISSING, "dr.enabled needs the secondary site's vCenter and cluster"))
    if dr.backup_storage is None:
        issues.append(ConfigIssue("dr.backupStorage", MISSING, "dr.enabled needs the S3 target at the secondary site"))
    try:
        cron_for_interval(dr.backup_interval_minutes)
    except ValueError as error:
        issues.append(ConfigIssue("dr.backupIntervalMinutes", dr.backup_interval_minutes, f"{error}; use e.g. 15, 30 or 60"))
    figures = dr_figures(c)
    if figures.rpo_minutes > dr.rpo_minutes:
        most = dr.rpo_minutes - dr.backup_duration_minutes - dr.replication_lag_minutes
        fix = f"set it to at most {most}" if most >= 5 else "raise dr.rpoMinutes"
        issues.append(ConfigIssue(
            "dr.backupIntervalMinutes", dr.backup_interval_minutes,
            f"worst-case data loss is interval + backup duration + replication lag = {figures.rpo_minutes} min, "
            f"above dr.rpoMinutes ({dr.rpo_minutes}); {fix}",
        ))
    if figures.rto_minutes > dr.rto_minutes:
        faster = "" if dr.mode == "warm-standby" else "; or use mode warm-standby"
        issues.append(ConfigIssue(
            "dr.rtoMinutes", dr.rto_minutes,
            f"{dr.mode} recovers in about {figures.rto_minutes} min ({figures.explain_rto()}); raise dr.rtoMinutes to "
            f"at least {figures.rto_minutes}{faster}. Under that needs an active-active site",
        ))
    if dr.secondary is not None and dr.mode == "warm-standby":
        standby = sum(dr.standby_replicas * m.tensor_parallel_size for m in c.models.values())
        capacity = dr.secondary.gpu_nodes * c.gpu_pool.gpus_per_node
        if standby > capacity:
            issues.append(ConfigIssue(
                "dr.secondary.gpuNodes", dr.secondary.gpu_nodes,
                f"warm standby keeps {dr.standby_replicas} replica(s) of every model ready: {standby} GPUs, but the "
                f"secondary has {capacity}; add GPU nodes or lower dr.standbyReplicas",
            ))
    if dr.backup_ttl_hours < c.compliance.minimum_backup_ttl_hours:
        issues.append(ConfigIssue(
            "dr.backupTtlHours", dr.backup_ttl_hours,
            f"shorter than compliance.minimumBackupTtlHours ({c.compliance.minimum_backup_ttl_hours})",
        ))
    if dr.file_system_backup and "velero" not in c.compliance.privileged_namespaces:
        issues.append(ConfigIssue(
            "dr.fileSystemBackup", True,
            "the node agent reads pod volumes from the host; add `velero` with its reason to "
            "compliance.privilegedNamespaces, or use CSI snapshot data movement",
        ))
    if not dr.file_system_backup and "velero" not in c.compliance.baseline_namespaces:
        issues.append(ConfigIssue(
            "compliance.baselineNamespaces", dict(c.compliance.baseline_namespaces),
            "CSI snapshot data movement runs Velero's data mover pods as root, which only the Pod Security baseline "
            "level admits; add `velero` with its reason, e.g. {velero: \"data mover pods run as root\"}",
        ))
    if dr.secondary is not None and dr.secondary.vsphere.server == c.vsphere.server \
            and dr.secondary.vsphere.compute_cluster == c.vsphere.compute_cluster:
        issues.append(ConfigIssue(
            "dr.secondary.vsphere.computeCluster", dr.secondary.vsphere.compute_cluster,
            "the secondary site must not share the primary's vCenter cluster",
        ))
    return issues


def _rule_catalogue(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    gpus = capacity.gpus_catalogue(c)
    if c.gpu_pool.gpu_model not in gpus:
        issues.append(ConfigIssue("gpuPool.gpuModel", c.gpu_pool.gpu_model,
                                  f"not in the sizing catalogue {sorted(gpus)}; describe it under catalog.gpus"))
    models = capacity.models_catalogue(c)
    for key, m in c.models.items():
        if m.architecture not in models:
            issues.append(ConfigIssue(f"models.{key}.architecture", m.architecture,
                                      f"not in the sizing catalogue {sorted(models)}; describe it under catalog.models"))
    return issues


def _fit_advice(arch: sizing.ModelArch, gpu: sizing.Gpu, m: ModelConfig, limit: int) -> str:
    options = []
    for tp in (2, 4, 8):
        if tp <= limit and sizing.valid_tensor_parallel(arch, tp):
            fit = sizing.memory_fit(arch, gpu, tp, m.max_model_len, **capacity.fit_kwargs(m))
            if fit.fits:
                options.append(f"{tp} (KV cache {fit.kv_pool_gib:.1f} GiB per GPU, about {fit.max_concurrent_sequences} "
                               f"sequences of {fit.sequence_tokens} tokens)")
        if len(options) == 2:
            break
    if not options:
        return "no tensor-parallel size up to 8 fits; use a quantized checkpoint or larger GPUs"
    return "smallest tensor-parallel sizes that fit: " + "; ".join(options)


def _rule_models_fit_memory(c: PlatformConfig) -> list[ConfigIssue]:
    models, gpus = capacity.models_catalogue(c), capacity.gpus_catalogue(c)
    if c.gpu_pool.gpu_model not in gpus:
        return []
    gpu, issues = gpus[c.gpu_pool.gpu_model], []
    for key, m in c.models.items():
        arch = models.get(m.architecture)
        if arch is None:
            continue
        tp = m.tensor_parallel_size
        if not sizing.valid_tensor_parallel(arch, tp):
            issues.append(ConfigIssue(f"models.{key}.tensorParallelSize", tp,
                                      f"must be a power of two dividing the model's {arch.attention_heads} attention heads"))
            continue
        if m.max_model_len > arch.max_context:
            issues.append(ConfigIssue(f"models.{key}.maxModelLen", m.max_model_len,
                                      f"exceeds {m.architecture}'s context of {arch.max_context} tokens"))
            continue
        fit = sizing.memory_fit(arch, gpu, tp, m.max_model_len, **capacity.fit_kwargs(m))
        if not fit.weights_fit:
            issues.append(ConfigIssue(
                f"models.{key}.tensorParallelSize", tp,
                f"{m.architecture} weights are {fit.weights_gib:.1f} GiB: {fit.weights_per_gpu_gib:.1f} GiB per GPU plus "
                f"{fit.overhead_gib:.0f} GiB overhead exceed the {fit.budget_gib:.1f} GiB budget of a {c.gpu_pool.gpu_model} "
                f"at gpuMemoryUtilization {m.gpu_memory_utilization}; {_fit_advice(arch, gpu, m, c.gpu_pool.gpus_per_node)}",
            ))
        elif not fit.fits:
            per_token = fit.kv_bytes_per_token / min(tp, arch.kv_heads)
            issues.append(ConfigIssue(
                f"models.{key}.maxModelLen", m.max_model_len,
                f"one sequence needs {fit.sequence_tokens} tokens of KV cache but the {fit.kv_pool_gib:.1f} GiB left per GPU "
                f"hold {fit.kv_tokens} ({per_token / 1024:.0f} KiB per token per GPU); lower maxModelLen to at most "
                f"{fit.kv_tokens}, set kvCacheDtype fp8, or raise tensorParallelSize",
            ))
    return issues


def _rule_load_fits_replicas(c: PlatformConfig) -> list[ConfigIssue]:
    if any(i for rule in (_rule_catalogue, _rule_models_fit_memory) for i in rule(c)):
        return []
    issues = []
    for key, p in capacity.plan(c).models.items():
        if p.capacity is None:
            issues.append(ConfigIssue(
                "cost.itlTargetSeconds", c.cost.itl_target_seconds,
                f"models.{key} cannot decode one stream that fast on a {c.gpu_pool.gpu_model} at tensor-parallel "
                f"{p.tensor_parallel}; relax the target or raise tensorParallelSize",
            ))
        elif p.replicas_needed is not None and p.replicas_needed > p.replicas_max:
            issues.append(ConfigIssue(
                f"models.{key}.replicas.max", p.replicas_max,
                f"the busiest hour brings about {p.peak_requests_per_second:.1f} requests/s; one replica serves "
                f"{p.capacity.requests_per_second:.1f} at the inter-token latency target, so {p.replicas_needed} "
                f"replicas ({p.replicas_needed * p.tensor_parallel} GPUs) are needed; raise replicas.max and the pool",
            ))
    return issues


def _rule_aria(c: PlatformConfig) -> list[ConfigIssue]:
    aria = c.aria
    if not aria.enabled:
        return []
    issues = []
    if not aria.url:
        issues.append(ConfigIssue("aria.url", MISSING, "aria.enabled needs the Aria Automation URL"))
    if aria.accept_self_signed_cert and c.compliance.tier == "production":
        issues.append(ConfigIssue("aria.acceptSelfSignedCert", True,
                                  "production verifies vCenter's certificate (164.312(e)(1)); trust its CA instead"))
    if not aria.administrators:
        issues.append(ConfigIssue("aria.administrators", [], "a project needs at least one administrator"))
    return issues


SIX_YEARS_DAYS = 2190


def _rule_access_and_audit(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    if c.gateway.namespace not in c.tanzu.gateway_namespaces:
        issues.append(ConfigIssue(
            "gateway.namespace", c.gateway.namespace,
            f"must be one of tanzu.gatewayNamespaces {list(c.tanzu.gateway_namespaces)}, or the model endpoints refuse it",
        ))
    audit = c.audit
    if c.compliance.tier == "production" and not audit.enabled:
        issues.append(ConfigIssue("audit.enabled", False,
                                  "production ships audit logs to locked storage (164.312(b)); enable it"))
    if audit.enabled:
        for key, value in (("s3Url", audit.s3_url), ("bucket", audit.bucket), ("toolsImage", audit.tools_image)):
            if value is None:
                issues.append(ConfigIssue(f"audit.{key}", MISSING, "required when audit.enabled"))
        if audit.tools_image is not None and audit.tools_image.registry not in c.compliance.allowed_registries:
            issues.append(ConfigIssue("audit.toolsImage.repository", audit.tools_image.repository,
                                      f"registry is not in compliance.allowedRegistries {list(c.compliance.allowed_registries)}"))
        if audit.retention_days < SIX_YEARS_DAYS:
            issues.append(ConfigIssue(
                "audit.retentionDays", audit.retention_days,
                f"audit records are kept at least six years (45 CFR 164.316(b)(2)): set {SIX_YEARS_DAYS} or more",
            ))
        if "logging" not in c.compliance.privileged_namespaces:
            issues.append(ConfigIssue(
                "compliance.privilegedNamespaces", dict(c.compliance.privileged_namespaces),
                "the log shipper reads node logs through hostPath; add `logging` with its reason",
            ))
    return issues


RULES: tuple[Callable[[PlatformConfig], list[ConfigIssue]], ...] = (
    _rule_access_and_audit,
    _rule_aria,
    _rule_catalogue,
    _rule_models_fit_memory,
    _rule_load_fits_replicas,
    _rule_models_fit_pool,
    _rule_replica_bounds,
    _rule_model_fits_node,
    _rule_served_names_unique,
    _rule_model_source,
    _rule_images_allowed,
    _rule_gpu_mode,
    _rule_production_tier,
    _rule_namespaces_distinct,
    _rule_tkr_matches_version,
    _rule_dr_consistent,
)
