"""Rules that span fields and sections of the stack config.

Each ``_rule_*`` returns the issues it finds; the path of each issue names the key to change and
the reason says how. They run once every section has parsed.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Callable

from components import versions
from components.config import question_set
from components.config.issues import MISSING, ConfigIssue
from components.config.model import ModelConfig, PlatformConfig
from components.config.vllm_args import pinned_flags
from components.jobs import stage_weights
from components.planning import capacity, sizing, vgpu
from components.planning.dr_plan import DrFigures, DrInputs, achievable, cron_for_interval

FIXED_NAMESPACES = {
    "envoy-gateway-system": "the Envoy Gateway controller",
    "envoy-ai-gateway-system": "the AI gateway controller",
    "gateway-redis": "the gateway's rate-limit counters",
    "logging": "the audit log shipper",
    "velero": "Velero (backups)",
}
"""Namespaces the components create under fixed names."""


# ---------------------------------------------------------------------------------------------
# Cross-field rules: each returns the issues it finds; the path names the key to change.
# ---------------------------------------------------------------------------------------------


def _layout_path(key: str, m: ModelConfig, field: str = "tensorParallelSize") -> tuple[str, object]:
    """The key (and its value as written) to name for the model's layout: the one set to ``auto``, if any."""
    requested = m.layout_requested or {}
    for name in ("nodesPerReplica", "tensorParallelSize"):
        if requested.get(name) == "auto":
            return f"models.{key}.{name}", "auto"
    value = m.nodes_per_replica if field == "nodesPerReplica" else m.tensor_parallel_size
    return f"models.{key}.{field}", value


def _layout(c: PlatformConfig, m: ModelConfig) -> sizing.Layout:
    return sizing.layout(m.tensor_parallel_size, m.nodes_per_replica, c.gpu_pool.gpus_per_node)


def _rule_models_fit_pool(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    per_node, archs = c.gpu_pool.gpus_per_node, capacity.models_catalogue(c)
    for key, m in c.models.items():
        tp, nodes = m.tensor_parallel_size, m.nodes_per_replica
        arch = archs.get(m.architecture)
        if arch is not None and not sizing.valid_tensor_parallel(arch, tp):
            continue  # the memory rule names the tensor-parallel sizes the model takes
        if nodes == 1 and tp > per_node:
            spread = -(-tp // per_node)
            issues.append(ConfigIssue(
                *_layout_path(key, m),
                f"a replica's GPUs must sit in one node VM while nodesPerReplica is 1, and gpuPool.gpusPerNode is "
                f"{per_node}; lower it, raise gpuPool.gpusPerNode, or spread the replica over nodes: nodesPerReplica "
                f"{spread} with tensorParallelSize {per_node} (a pipeline between nodes), or nodesPerReplica auto",
            ))
            continue
        problem = sizing.layout_problem(arch, tp, nodes, per_node)
        if problem is not None:
            issues.append(ConfigIssue(*_layout_path(key, m, "nodesPerReplica"),
                                      f"{problem}; set tensorParallelSize to at most gpuPool.gpusPerNode ({per_node}) "
                                      "so that each node holds one stage, or use nodesPerReplica auto"))
        elif _layout(c, m).nodes_needed(per_node) > c.gpu_pool.nodes:
            issues.append(ConfigIssue(
                *_layout_path(key, m, "nodesPerReplica"),
                f"one replica is {nodes} pods of {_layout(c, m).gpus_per_node} GPU(s), which need "
                f"{_layout(c, m).nodes_needed(per_node)} GPU nodes, but the pool has {c.gpu_pool.nodes} (gpuPool.nodes); "
                "add GPU nodes or lower nodesPerReplica",
            ))
    if issues:
        return issues
    demand = sum(m.replicas.max * _layout(c, m).gpus for m in c.models.values())
    canaries = {k: m.candidate.replicas * _layout(c, m).gpus for k, m in c.models.items() if m.candidate is not None}
    if demand <= c.gpu_pool.total_gpus < demand + sum(canaries.values()):
        return [_candidate_refused(c, key, demand, canaries) for key in canaries]
    if demand > c.gpu_pool.total_gpus:
        detail = ", ".join(f"{k} {m.replicas.max}x{_layout(c, m).gpus}" for k, m in c.models.items())
        issues.append(ConfigIssue(
            "models", f"{demand} GPUs",
            f"replicas.max x GPUs per replica (nodesPerReplica x GPUs per node) over all models ({detail}) exceeds the "
            f"pool's {c.gpu_pool.total_gpus} GPUs (gpuPool.nodes x gpuPool.gpusPerNode); lower replicas.max or add nodes",
        ))
    return issues


def _candidate_refused(c: PlatformConfig, key: str, demand: int, canaries: dict[str, int]) -> ConfigIssue:
    """A candidate the pool cannot hold beside every model at replicas.max, with what would make room."""
    m, total = c.models[key], c.gpu_pool.total_gpus
    per_replica = _layout(c, m).gpus
    short = demand + sum(canaries.values()) - total
    options = []
    if m.candidate.replicas > 1:
        options.append(f"fewer candidate replicas (candidate.replicas {m.candidate.replicas}, {per_replica} GPU(s) each)")
    for other, om in c.models.items():
        gpus = _layout(c, om).gpus
        lower = om.replicas.max - -(-short // gpus)
        if lower >= max(om.replicas.min, 1):
            options.append(f"models.{other}.replicas.max {om.replicas.max} -> {lower} while the canary runs")
    options.append(f"{-(-short // c.gpu_pool.gpus_per_node)} more GPU node(s) (gpuPool.nodes)")
    return ConfigIssue(
        f"models.{key}.candidate", f"{canaries[key]} GPUs",
        f"the candidate needs {per_replica} GPU(s) per replica beside the models' {demand} at replicas.max, and the "
        f"pool has {total}: {short} short. A lower candidate.weight saves no GPU (each replica holds a whole copy of "
        f"the model whatever share of requests it gets); make room with {'; or '.join(options)}")


def _rule_tensor_parallel_across_nodes(c: PlatformConfig) -> list[ConfigIssue]:
    """Tensor parallelism across nodes all-reduces twice per layer over the fabric: refused unless it can carry it."""
    if any(_rule_models_fit_pool(c)) or any(_rule_catalogue(c)):
        return []
    issues, net = [], capacity.fabric(c)
    archs, gpu = capacity.models_catalogue(c), capacity.pool_gpu(c)
    for key, m in c.models.items():
        lay = _layout(c, m)
        if not lay.tensor_parallel_across_nodes:
            continue
        arch = archs[m.architecture]
        fit = sizing.layout_fit(arch, gpu, lay, m.max_model_len, **capacity.fit_kwargs(m))
        if not sizing.valid_tensor_parallel(arch, lay.tensor_parallel) or not fit.fits:
            continue  # the memory rule names what does not fit
        context = c.cost.avg_prompt_tokens + c.cost.avg_output_tokens // 2
        batch = max(1, fit.max_concurrent_sequences)
        share = sizing.tensor_parallel_fabric_share(arch, gpu, lay, batch, context, net, **capacity.decode_kwargs(m))
        if share <= sizing.MAX_TP_FABRIC_SHARE:
            continue
        pipeline = sizing.layout(c.gpu_pool.gpus_per_node, lay.nodes, c.gpu_pool.gpus_per_node)
        issues.append(ConfigIssue(
            f"models.{key}.tensorParallelSize", m.tensor_parallel_size,
            f"a tensor-parallel group of {lay.tensor_parallel} spans {lay.tensor_parallel // lay.gpus_per_node} nodes "
            f"and all-reduces twice per layer over the inter-node fabric: at gpuPool.interNodeGbps {net.gbps:g} "
            f"(NCCL over TCP, {net.latency_seconds * 1e6:.0f} us per message) that is {share:.0%} of each decode step "
            f"at {batch} sequences, more than the {sizing.MAX_TP_FABRIC_SHARE:.0%} the fabric can carry; keep tensor "
            f"parallelism within a node and pipeline between nodes (tensorParallelSize {c.gpu_pool.gpus_per_node}, "
            f"nodesPerReplica {lay.nodes}: {pipeline.describe()}), or nodesPerReplica auto",
        ))
    return issues


def _rule_replica_bounds(c: PlatformConfig) -> list[ConfigIssue]:
    issues = [
        ConfigIssue(f"models.{k}.replicas.max", m.replicas.max,
                    f"is below replicas.min ({m.replicas.min}); raise it to at least {m.replicas.min} or lower replicas.min")
        for k, m in c.models.items() if m.replicas.max < m.replicas.min
    ]
    if c.compliance.tier == "production":
        issues += [
            ConfigIssue(
                f"models.{k}.replicas.min", m.replicas.min,
                "with ReadWriteOnce weights the replicas are a StatefulSet, which restarts a lone replica on every "
                "update; production needs replicas.min >= 2 or weights.accessMode ReadWriteMany",
            )
            for k, m in c.models.items()
            # A replica across nodes rolls by surging a new group first, so a lone group keeps serving.
            if m.weights.access_mode == "ReadWriteOnce" and m.replicas.min < 2 and m.nodes_per_replica == 1
        ]
    return issues


def _rule_model_fits_node(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    for key, m in c.models.items():
        lay = _layout(c, m)
        shm = sizing.group_pod_shm_gib(lay.gpus_per_node) if lay.multi_node else sizing.shm_gib(lay.gpus_per_node)
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
                f"already served by models.{seen[m.served_model_name]}; clients could not tell them apart: give each model "
                f"its own, e.g. {key!r}",
            ))
        seen.setdefault(m.served_model_name, key)
    return issues


def _rule_model_source(c: PlatformConfig) -> list[ConfigIssue]:
    return [
        ConfigIssue(f"models.{k}.mirrorUrl", MISSING, "source is mirror, so the mirror's base URL is required, e.g. "
                    "https://models.hospital.example/hf; or set source: huggingface")
        for k, m in c.models.items() if m.source == "mirror" and not m.mirror_url
    ]


def _rule_weights_verified(c: PlatformConfig) -> list[ConfigIssue]:
    """Staging accepts only files a model needs, checked against a pinned manifest (always in production)."""
    issues = []
    production = c.compliance.tier == "production"
    for key, m in c.models.items():
        if production and m.allow_pickle:
            issues.append(ConfigIssue(
                f"models.{key}.allowPickle", True,
                "production never loads pickle checkpoints (they run code when loaded, 164.312(c)(1)); stage the "
                "revision's safetensors files, or convert the checkpoint to safetensors at the mirror"))
        if production and m.weights_manifest is None:
            issues.append(ConfigIssue(
                f"models.{key}.weightsManifest", MISSING,
                "production starts a model only on verified bytes: record the SHA-256 of every file of the mirrored "
                f"revision ({m.huggingface_repo}@{m.revision[:12]}) with `python -m tools.weights_manifest <dir>` and "
                "set its output here"))
        refused = [p for p in (m.weights_manifest or {}) if not stage_weights.allowed(p, m.allow_pickle)]
        if refused:
            issues.append(ConfigIssue(
                f"models.{key}.weightsManifest", refused,
                f"lists files staging refuses (it accepts {', '.join(stage_weights.ALLOWED_PATTERNS)}"
                f"{'' if m.allow_pickle else '; pickle only with allowPickle, never in production'}): drop them"))
    return issues


# What each signing method verifies with: (field, config key, what to give).
_SIGNATURE_MATERIAL = {
    "key": [("public_key", "publicKey", "the PEM of the signing key's public half (`openssl pkey -in signing-key.pem "
             "-pubout`)")],
    "certificate": [("ca_chain", "caChain", "the PEM of the CA certificates the signing certificate chains to"),
                    ("identity", "identity", "the signing certificate's e-mail, URI or DNS name, or its subject DN, so "
                     "no other certificate of the same CA is accepted")],
    "sigstore": [("identity", "identity", "the identity Sigstore issued the signing certificate to, e.g. "
                  "model-approval@hospital.example"),
                 ("oidc_issuer", "oidcIssuer", "the OpenID Connect issuer that vouched for it, e.g. "
                  "https://login.hospital.example")],
}


def _rule_weights_signature(c: PlatformConfig) -> list[ConfigIssue]:
    """A signature names its signer completely for its method; production refuses keyless signing it cannot check
    offline, and may require a signature on every model."""
    issues = []
    production = c.compliance.tier == "production"
    for key, m in c.models.items():
        sig, at = m.weights_signature, f"models.{key}.weightsSignature"
        if sig is None:
            if production and c.compliance.require_weights_signature:
                issues.append(ConfigIssue(
                    at, MISSING,
                    "compliance.requireWeightsSignature is on: sign the mirrored revision "
                    f"({m.huggingface_repo}@{m.revision[:12]}) with `model_signing sign key|certificate`, put the "
                    "signature beside its files in the mirror, and set method, the verifying key or CA chain and "
                    "verifierImage here (docs/updates.md)"))
            continue
        for field, name, what in _SIGNATURE_MATERIAL[sig.method]:
            if getattr(sig, field) is None:
                issues.append(ConfigIssue(f"{at}.{name}", MISSING, f"method {sig.method} verifies with {what}"))
        unused = [name for method, material in _SIGNATURE_MATERIAL.items() if method != sig.method
                  for field, name, _ in material if getattr(sig, field) is not None
                  and field not in {f for f, _, _ in _SIGNATURE_MATERIAL[sig.method]}]
        unused += ["trustConfig"] if sig.trust_config is not None and sig.method != "sigstore" else []
        for name in sorted(set(unused)):
            issues.append(ConfigIssue(f"{at}.{name}", "<set>",
                                      f"method {sig.method} does not use it; remove it, or set the method it belongs to"))
        if production and sig.method == "sigstore" and sig.trust_config is None:
            issues.append(ConfigIssue(
                f"{at}.trustConfig", MISSING,
                "production verifies keyless signatures offline: without the trust root of the Sigstore instance that "
                "logged the signature, the verifier would fetch the public Sigstore's over the network, which an "
                "air-gapped site cannot reach; give that instance's client trust configuration (JSON), or sign with "
                "method key or certificate"))
    return issues


def _rule_candidate(c: PlatformConfig) -> list[ConfigIssue]:
    """A candidate differs from the current revision, and its weights are verified as the current one's are."""
    issues = []
    production = c.compliance.tier == "production"
    for key, m in c.models.items():
        cand, served = m.candidate, m.candidate_model
        if cand is None or served is None:
            continue
        same = (served.huggingface_repo, served.revision, served.image, served.quantization) == (
            m.huggingface_repo, m.revision, m.image, m.quantization)
        if same:
            issues.append(ConfigIssue(
                f"models.{key}.candidate", "same as the current revision",
                "a candidate serves something else than the current revision: set its revision, huggingfaceRepo, "
                "image or quantization"))
        if production and served.weights_manifest is None:
            issues.append(ConfigIssue(
                f"models.{key}.candidate.weightsManifest", MISSING,
                f"production starts a candidate only on verified bytes: record {served.huggingface_repo}@"
                f"{served.revision[:12]} with `python -m tools.weights_manifest <dir>` and set its output here"))
        refused = [p for p in (cand.weights_manifest or {}) if not stage_weights.allowed(p, m.allow_pickle)]
        if refused:
            issues.append(ConfigIssue(f"models.{key}.candidate.weightsManifest", refused,
                                      "lists files staging refuses: drop them"))
        issues += _candidate_fits(c, key, served)
        if cand.evaluation is not None and cand.evaluation.weights_manifest != served.weights_identity:
            issues.append(ConfigIssue(
                f"models.{key}.candidate.evaluation.weightsManifest", cand.evaluation.weights_manifest,
                f"the evaluation ran against other weights than the candidate's ({served.weights_identity}); "
                "evaluate this candidate and copy the Job's record"))
    for key, m in c.models.items():
        if m.evaluation is not None and m.evaluation.weights_manifest != m.weights_identity:
            issues.append(ConfigIssue(
                f"models.{key}.evaluation.weightsManifest", m.evaluation.weights_manifest,
                f"the record vouches for other weights than the revision served ({m.weights_identity}); on promotion "
                "move candidate.evaluation here together with the candidate's weightsManifest"))
    return issues


def _candidate_fits(c: PlatformConfig, key: str, served: ModelConfig) -> list[ConfigIssue]:
    """The candidate runs on the current revision's layout: its checkpoint (another quantization) must fit it too."""
    arch = capacity.models_catalogue(c).get(served.architecture)
    if arch is None or c.gpu_pool.gpu_model not in capacity.gpus_catalogue(c) or not sizing.valid_tensor_parallel(
            arch, served.tensor_parallel_size):
        return []
    lay = _layout(c, served)
    if sizing.layout_problem(arch, served.tensor_parallel_size, served.nodes_per_replica,
                             c.gpu_pool.gpus_per_node) is not None:
        return []
    fit = sizing.layout_fit(arch, capacity.pool_gpu(c), lay, served.max_model_len, **capacity.fit_kwargs(served))
    if fit.fits:
        return []
    return [ConfigIssue(
        f"models.{key}.candidate.quantization", served.quantization or "none",
        f"the candidate runs on the model's layout ({lay.describe()}), where its weights ({fit.weights_gib:.1f} GiB) "
        f"and one maxModelLen sequence do not fit a {c.gpu_pool.gpu_model}; keep the model's quantization or change "
        "the model's layout first")]


def _rule_evaluation(c: PlatformConfig) -> list[ConfigIssue]:
    """The question set is usable, and with requirePassing every served revision carries a passing record of it."""
    e = c.evaluation
    if not (e.enabled or e.require_passing):
        return []
    if e.question_set is None:
        return [ConfigIssue("evaluation.questionSet", MISSING, "name the JSON question set the evaluation runs "
                            "(docs/updates.md#the-question-set)")]
    issues = [ConfigIssue("evaluation.models", list(e.models), f"{key!r} is not a model key of this stack; use some "
                          f"of {sorted(c.models)}") for key in e.models if key not in c.models]
    document, problems = question_set.load(e.question_set)
    if document is None:
        return issues + problems
    current_set = question_set.digest(document)
    if not e.require_passing:
        return issues
    for key, m in c.models.items():
        record, path = m.evaluation, f"models.{key}.evaluation"
        if record is None:
            issues.append(ConfigIssue(path, MISSING, (
                f"evaluation.requirePassing: {key} serves {m.weights_identity} without a passing record; run the "
                "evaluation (a candidate of this revision, or evaluation.models) and copy the record its Job prints; "
                "a promotion moves candidate.evaluation here")))
        elif record.question_set != current_set:
            issues.append(ConfigIssue(f"{path}.questionSet", record.question_set,
                                      f"the record is of another question set than {e.question_set} ({current_set}); "
                                      "evaluate again"))
        elif record.score < e.pass_score:
            issues.append(ConfigIssue(f"{path}.score", record.score,
                                      f"below evaluation.passScore {e.pass_score:g}: this revision did not pass; "
                                      "keep the current revision (remove the candidate)"))
    return issues


def _registry_fix(repository: str, allowed: tuple[str, ...], server: str) -> str:
    """Where to mirror an image: the pull secret's registry when it is allowed (the nodes have its credentials)."""
    path = repository.split("/", 1)[1] if "/" in repository else repository
    target = server if server.lower() in allowed else (allowed[0] if allowed else "")
    return f"mirror it into {target}: {target}/{path}" if target else "list its registry"


def _rule_images_allowed(c: PlatformConfig) -> list[ConfigIssue]:
    """Every image comes from an allowed registry, and from the one registry the pull secret has credentials for."""
    allowed = tuple(r.lower() for r in c.compliance.allowed_registries)
    server = c.tanzu.registry.server
    repositories = [(f"models.{k}.image", m.image) for k, m in c.models.items()]
    repositories += [(f"models.{k}.candidate.image", m.candidate.image) for k, m in c.models.items()
                     if m.candidate is not None and m.candidate.image is not None]
    if c.audit.tools_image is not None:
        repositories.append(("audit.toolsImage", c.audit.tools_image))
    repositories += [(f"models.{k}.weightsSignature.verifierImage", m.weights_signature.verifier_image)
                     for k, m in c.models.items() if m.weights_signature is not None]
    issues = []
    if server.lower() not in allowed:
        # The root cause of every image on it failing below: name it once, at the key this stack sets.
        issues.append(ConfigIssue(
            "tanzu.registry.server", server,
            f"the pull secret's registry, which every image of this site comes from, is not in "
            f"compliance.allowedRegistries {list(c.compliance.allowed_registries)}; add {server!r} there"
            + (" (this site's registry: the standby pulls the primary's models from it)" if c.standby else ""),
        ))
    images = [(f"{path}.repository", image.repository, image.registry) for path, image in repositories]
    driver = c.addons.gpu_operator.driver_repository
    images.append(("addons.gpuOperator.driverRepository", driver, driver.split("/", 1)[0]))
    for path, repository, registry in images:
        if registry.lower() == server.lower():
            continue
        if registry.lower() not in allowed:
            issues.append(ConfigIssue(
                path, repository,
                f"registry {registry!r} is not in compliance.allowedRegistries {list(c.compliance.allowed_registries)}; "
                f"{_registry_fix(repository, allowed, server)}",
            ))
        else:
            issues.append(ConfigIssue(
                path, repository,
                f"registry {registry!r} is allowed, but the pull secret holds credentials for tanzu.registry.server "
                f"({server!r}) only, so the nodes would pull anonymously and a private project refuses them; "
                f"{_registry_fix(repository, (server.lower(),), server)}",
            ))
    for path, image in repositories:
        if c.compliance.require_image_digest and not image.digest:
            issues.append(ConfigIssue(
                f"{path}.digest", MISSING,
                "compliance.requireImageDigest is on; add the image's sha256 digest (`crane digest "
                f"{image.repository}:{image.tag}`)",
            ))
    return issues


def _rule_image_digests_match_lock(c: PlatformConfig) -> list[ConfigIssue]:
    """Where artifacts.lock.json records an image's digest, the mirror copies that digest, so the site's must agree."""
    locked = [*versions.images().values(), *(i for chart in versions.charts().values() for i in chart.images)]
    issues = []
    for image in locked:
        site = c.tanzu.registry.image_digests.get(image.key)
        if image.digest and site and site != image.digest:
            issues.append(ConfigIssue(
                f"tanzu.registry.imageDigests.{image.key}", site,
                f"{versions.LOCK_FILE.name} pins {image.image}:{image.tag} at {image.digest}, and the mirror copies it "
                "by that digest; a copy with another digest is not the reviewed image: copy it again by digest "
                f"(`crane copy {image.image}@{image.digest} {c.tanzu.registry.server}/{image.key}`) and set the "
                "locked digest here, or remove the entry",
            ))
    return issues


def _rule_image_is_pinned_vllm(c: PlatformConfig) -> list[ConfigIssue]:
    """A model's image runs the vLLM whose flags extraArgs, the benchmark and the sizing are checked against.

    The flag file knows one release; another image would start with flags it may not have (the check would pass
    and the pod crash-loop), so the tag must name that release (``v0.34.0``, or a build of it: ``v0.34.0-cu129``).
    """
    version = pinned_flags()["version"]
    issues = []
    images = [(f"models.{k}.image", m.image) for k, m in c.models.items()]
    images += [(f"models.{k}.candidate.image", m.candidate.image) for k, m in c.models.items()
               if m.candidate is not None and m.candidate.image is not None]
    for path, image in images:
        tag = image.tag
        if re.fullmatch(rf"v?{re.escape(version)}(?:-[A-Za-z0-9_.-]+)?", tag):
            continue
        issues.append(ConfigIssue(
            f"{path}.tag", tag,
            f"the pinned vLLM is {version} (artifacts.lock.json; extraArgs are checked against its flags in "
            f"components/config/vllm_flags.json), so the image must be that release: set tag v{version} and digest to "
            f"the site's mirrored copy of vllm/vllm-openai:v{version} (`crane digest {image.repository}:v{version}`); "
            "to run another vLLM, bump the lock and regenerate the flag file with `python -m tools.vllm_flags`",
        ))
    return issues


def _rule_benchmark(c: PlatformConfig) -> list[ConfigIssue]:
    """The benchmark names models the stack serves and sends requests each model can hold."""
    b = c.benchmark
    if not b.enabled:
        return []
    issues = [ConfigIssue("benchmark.models", list(b.models), f"{key!r} is not a model key of this stack; "
                          f"use some of {sorted(c.models)} or leave the list empty for every model")
              for key in b.models if key not in c.models]
    if not c.serves_models:
        issues.append(ConfigIssue("benchmark.enabled", True, "no model is served at this site now (a standby before "
                                  "failover): the benchmark goes through this site's gateway; enable it where the "
                                  "models run"))
    length = (b.prompt_tokens or c.cost.avg_prompt_tokens) + (b.output_tokens or c.cost.avg_output_tokens)
    for key in b.models or tuple(c.models):
        model = c.models.get(key)
        if model is not None and length > model.max_model_len:
            issues.append(ConfigIssue(
                "benchmark.promptTokens", b.prompt_tokens or c.cost.avg_prompt_tokens,
                f"a request of {length} tokens (prompt and completion) exceeds models.{key}.maxModelLen "
                f"{model.max_model_len}, so the server would refuse it; shorten benchmark.promptTokens or "
                "benchmark.outputTokens"))
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
    if pool.mode == "vgpu" and pool.vgpu_profile:
        issues += _vgpu_profile_issues(c)
    return issues


def _vgpu_profile_issues(c: PlatformConfig) -> list[ConfigIssue]:
    pool = c.gpu_pool
    name, gpu = pool.vgpu_profile or "", pool.gpu_model
    example = vgpu.full_profile(gpu)
    profile = vgpu.parse(name)
    if profile is None:
        if vgpu.parse(name.lower()) is not None:
            return [ConfigIssue("gpuPool.vgpuProfile", name, f"vGPU profile names are lowercase: {name.lower()!r}")]
        return [ConfigIssue("gpuPool.vgpuProfile", name,
                            f"is not a vGPU profile name: grid_<gpu>-<framebuffer GB>c, e.g. {example!r} for a {gpu}")]
    if profile.series != "c":
        return [ConfigIssue("gpuPool.vgpuProfile", name,
                            f"is a {profile.series.upper()}-series (graphics) profile; LLM serving needs a C-series "
                            f"(compute) profile, e.g. {example!r}")]
    if gpu not in vgpu.BOARDS:
        return []
    boards, full = vgpu.BOARDS[gpu]
    owners = vgpu.owner(profile)
    if profile.board not in boards:
        belongs = f"belongs to {' or '.join(owners)}" if owners else f"is for another GPU ({profile.board})"
        return [ConfigIssue("gpuPool.vgpuProfile", name,
                            f"{belongs}, not gpuPool.gpuModel {gpu}; for a {gpu} use {example!r}")]
    if profile.framebuffer_gb > full:
        others = [o for o in owners if o != gpu]
        belongs = f" (it belongs to {' or '.join(others)})" if others else ""
        return [ConfigIssue("gpuPool.vgpuProfile", name,
                            f"gives {profile.framebuffer_gb} GB, more than a {gpu} has ({full} GB){belongs}; "
                            f"use {example!r}")]
    if profile.framebuffer_gb < full * 0.97 and pool.gpus_per_node > 1:
        return [ConfigIssue("gpuPool.vgpuProfile", name,
                            f"gives each VM {profile.framebuffer_gb} of the card's {full} GB; several vGPUs in one VM "
                            f"(gpuPool.gpusPerNode {pool.gpus_per_node}) need full-card profiles: use {example!r}")]
    return []


def _rule_production_tier(c: PlatformConfig) -> list[ConfigIssue]:
    if c.compliance.tier != "production":
        return []
    issues = []
    if c.vsphere.allow_unverified_ssl:
        issues.append(ConfigIssue(
            "vsphere.allowUnverifiedSsl", True,
            "production stacks verify vCenter TLS (164.312(e)(1)); add the vCenter CA to the trust store instead",
        ))
    if c.gateway.rate_limit_failure is None:
        issues.append(ConfigIssue(
            "gateway.rateLimitFailure", MISSING,
            "production chooses what the gateway does while its rate-limit store cannot answer: `open` (requests pass "
            "unlimited, limits and quotas unenforced meanwhile) or `closed` (every request refused meanwhile)",
        ))
    if c.gateway.replicas < 2:
        issues.append(ConfigIssue(
            "gateway.replicas", c.gateway.replicas,
            "production keeps the only way to the models up through a node drain or a Kubernetes upgrade: set it to "
            "at least 2",
        ))
    if c.tanzu.control_plane.replicas != 3:
        issues.append(ConfigIssue(
            "tanzu.controlPlane.replicas", c.tanzu.control_plane.replicas,
            "production needs 3 control-plane nodes for etcd quorum",
        ))
    if not c.compliance.require_image_digest:
        issues.append(ConfigIssue(
            "compliance.requireImageDigest", False,
            "production pins every image by digest, so what runs is what was reviewed (164.312(c)(1)); set it to true "
            "and give each image its sha256 digest",
        ))
    if not c.dr.enabled:
        issues.append(ConfigIssue(
            "dr.enabled", False,
            "production keeps backups and a recovery site (data backup and disaster recovery plans, 45 CFR "
            "164.308(a)(7)(ii)(A)-(B)); set it to true with dr.backupStorage, and deploy a standby stack "
            "(docs/disaster-recovery.md)",
        ))
    obs = c.observability
    if not obs.enabled:
        issues.append(ConfigIssue(
            "observability.enabled", False,
            "production watches its endpoints and backups (164.312(b)); the policy pack's alerting-present check "
            "refuses a stack without the alert rules: set it to true",
        ))
    elif obs.alert_email is None and not obs.alert_webhook:
        issues.append(ConfigIssue(
            "observability.alertEmail", MISSING,
            "production alerts must reach someone: set observability.alertEmail (to, sender, smarthost) or "
            "observability.alertWebhook: true with the secret alertWebhookUrl",
        ))
    return issues


def _namespace_roles(c: PlatformConfig) -> list[tuple[str, str, str]]:
    """(config path, namespace, what runs there) for every namespace the stack configures."""
    t = c.tanzu
    return [
        ("tanzu.servingNamespace", t.serving_namespace, "the model endpoints"),
        ("tanzu.monitoringNamespace", t.monitoring_namespace, "the monitoring stack"),
        ("gateway.namespace", c.gateway.namespace, "the gateway"),
        ("addons.kedaNamespace", c.addons.keda_namespace, "KEDA"),
        ("addons.lwsNamespace", c.addons.lws_namespace, "the LeaderWorkerSet controller"),
        ("addons.gpuOperator.namespace", c.addons.gpu_operator.namespace, "the GPU Operator"),
        *([("benchmark.namespace", c.benchmark.namespace, "the benchmark Jobs")] if c.benchmark.enabled else []),
        *([("evaluation.namespace", c.evaluation.namespace, "the evaluation Jobs")] if c.evaluation.enabled else []),
    ]


def _rule_namespaces_distinct(c: PlatformConfig) -> list[ConfigIssue]:
    """One namespace per role: each carries its own Pod Security level, NetworkPolicies and exceptions."""
    t = c.tanzu
    issues = []
    seen: dict[str, tuple[str, str]] = {}
    for path, ns, role in _namespace_roles(c):
        if ns in FIXED_NAMESPACES:
            issues.append(ConfigIssue(path, ns, f"{ns!r} is where the platform runs {FIXED_NAMESPACES[ns]}; "
                                      f"give {role} a namespace of its own"))
        elif ns in seen:
            other_path, other_role = seen[ns]
            issues.append(ConfigIssue(
                path, ns, f"must differ from {other_path} ({other_role}); {role} must not share the namespace "
                f"{ns!r}: each role needs its own (own Pod Security level and NetworkPolicies)"))
        else:
            seen[ns] = (path, role)
    own = {ns for _, ns, _ in _namespace_roles(c)} | set(FIXED_NAMESPACES)
    callers_not_allowed = {ns for ns in own if ns != c.gateway.namespace}
    if t.serving_namespace in t.gateway_namespaces:
        issues.append(ConfigIssue(
            "tanzu.gatewayNamespaces", list(t.gateway_namespaces),
            "must not contain tanzu.servingNamespace; callers live in their own namespaces",
        ))
    clash = sorted(ns for ns in t.gateway_namespaces if ns in callers_not_allowed and ns != t.serving_namespace)
    if clash:
        issues.append(ConfigIssue(
            "tanzu.gatewayNamespaces", list(t.gateway_namespaces),
            f"lists platform namespaces {clash}, whose pods would then reach the model endpoints; list the gateway "
            f"({c.gateway.namespace!r}) and the consuming applications' namespaces only",
        ))
    gpu_operator = c.addons.gpu_operator.namespace
    if gpu_operator not in c.compliance.privileged_namespaces:
        issues.append(ConfigIssue(
            "compliance.privilegedNamespaces", dict(c.compliance.privileged_namespaces),
            f"needs an entry for {gpu_operator!r} (addons.gpuOperator.namespace) with its reason: the GPU driver "
            "and toolkit run privileged",
        ))
    workloads = (t.serving_namespace, t.monitoring_namespace, c.addons.keda_namespace, c.gateway.namespace,
                 *t.gateway_namespaces)
    for ns in dict.fromkeys(workloads):
        if ns in c.compliance.privileged_namespaces and ns != gpu_operator and ns not in FIXED_NAMESPACES:
            issues.append(ConfigIssue(
                f"compliance.privilegedNamespaces.{ns}", c.compliance.privileged_namespaces[ns],
                "workload namespaces stay at Pod Security restricted; remove this exception",
            ))
    return issues


def _rule_groups_separate(c: PlatformConfig) -> list[ConfigIssue]:
    """Break-glass, operators and auditors are different people: each role has its own group."""
    a = c.access
    roles = [("access.breakGlassGroup", a.break_glass_group, "break-glass (cluster-admin)"),
             ("access.operatorGroup", a.operator_group, "operators (edit)"),
             ("access.auditorGroup", a.auditor_group, "auditors (read-only)")]
    issues = []
    for i, (path, group, role) in enumerate(roles):
        for other_path, other, other_role in roles[:i]:
            if group.strip().lower() == other.strip().lower():
                issues.append(ConfigIssue(
                    path, group, f"is also {other_path}: {role} and {other_role} would be one group, so the "
                    f"separation of duties (45 CFR 164.308(a)(3)) is lost; give each role its own group"))
                break
    return issues


def _rule_namespace_access(c: PlatformConfig) -> list[ConfigIssue]:
    """One entry per principal (vCenter keeps one role each), and someone who may create the cluster."""
    grants = c.tanzu.namespace_access
    if grants is None:
        return []
    issues, seen = [], {}
    for i, grant in enumerate(grants):
        key = grant.principal.lower()
        if key in seen:
            issues.append(ConfigIssue(
                f"tanzu.namespaceAccess[{i}].principal", grant.principal,
                f"is also tanzu.namespaceAccess[{seen[key]}]: vCenter keeps one role per principal; keep one entry "
                "with the role it needs"))
        seen.setdefault(key, i)
    if not any(grant.role in ("edit", "owner") for grant in grants):
        issues.append(ConfigIssue(
            "tanzu.namespaceAccess", [g.principal for g in grants],
            "grants no one edit: the identity behind supervisorKubeconfig could not create the workload cluster "
            f"(unless it is a vCenter administrator); add it with role edit, e.g. {{principal: '{c.vsphere.user}', "
            "type: user, role: edit}"))
    return issues


def _rule_networks(c: PlatformConfig) -> list[ConfigIssue]:
    """Pod and service CIDRs fit the cluster and collide with nothing the cluster must reach."""
    t = c.tanzu
    pods, services = ipaddress.ip_network(t.pod_cidr), ipaddress.ip_network(t.service_cidr)
    issues = []
    if pods.version != services.version:
        issues.append(ConfigIssue("tanzu.serviceCidr", t.service_cidr,
                                  f"is IPv{services.version} but tanzu.podCidr is IPv{pods.version}; use one family"))
        return issues
    if pods.overlaps(services):
        issues.append(ConfigIssue(
            "tanzu.serviceCidr", t.service_cidr,
            f"overlaps tanzu.podCidr {t.pod_cidr}; Service and Pod addresses must be disjoint, e.g. podCidr "
            "192.168.0.0/16 with serviceCidr 10.96.0.0/12"))
    if services.version == 4 and services.prefixlen < 12:
        issues.append(ConfigIssue("tanzu.serviceCidr", t.service_cidr,
                                  "is larger than the API server accepts for Services (at most a /12, e.g. 10.96.0.0/12)"))
    nodes = c.tanzu.control_plane.replicas + c.gpu_pool.nodes + c.gpu_pool.system_nodes
    if pods.version == 4:
        per_node = 24
        room = 2 ** (per_node - pods.prefixlen) if pods.prefixlen <= per_node else 0
        if room < nodes:
            need = per_node - math.ceil(math.log2(nodes))
            issues.append(ConfigIssue(
                "tanzu.podCidr", t.pod_cidr,
                f"each node takes a /24 of the Pod CIDR and the cluster has {nodes} nodes (control plane, GPU and "
                f"system); use a /{need} or larger, e.g. 192.168.0.0/16"))
    lists = [("gateway.clientCidrs", c.gateway.client_cidrs), *open_egress_lists(c)]
    for path, values in lists:
        for value in values:
            network = ipaddress.ip_network(value)
            if network.prefixlen == 0:
                continue
            for name, cluster in (("tanzu.podCidr", pods), ("tanzu.serviceCidr", services)):
                if network.version == cluster.version and network.subnet_of(cluster):
                    issues.append(ConfigIssue(
                        path, list(values),
                        f"{value} lies inside {name} {cluster}, so traffic to it would stay inside the cluster; "
                        f"give the real network outside the cluster, or move {name} to a range the site does not use"))
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
    if dr.backup_storage is None:
        issues.append(ConfigIssue("dr.backupStorage", MISSING, "dr.enabled needs the S3 target at the standby site; "
                                  "add dr.backupStorage with s3Url and bucket"))
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
    if c.standby:
        issues += _standby_capacity(c)
    storage = dr.backup_storage
    if storage is not None and storage.kms_key_id and storage.server_side_encryption != "aws:kms":
        issues.append(ConfigIssue(
            "dr.backupStorage.kmsKeyId", storage.kms_key_id,
            "a KMS key is used only with serverSideEncryption aws:kms; set that, or remove the key id",
        ))
    if dr.long_term_ttl_hours is not None and dr.long_term_ttl_hours <= dr.backup_ttl_hours:
        issues.append(ConfigIssue(
            "dr.longTermTtlHours", dr.long_term_ttl_hours,
            f"keeps the daily backup no longer than every backup is kept (dr.backupTtlHours {dr.backup_ttl_hours}); "
            "make it longer (e.g. 52560 for six years) or remove it",
        ))
    if dr.backup_ttl_hours < c.compliance.minimum_backup_ttl_hours:
        issues.append(ConfigIssue(
            "dr.backupTtlHours", dr.backup_ttl_hours,
            f"shorter than compliance.minimumBackupTtlHours ({c.compliance.minimum_backup_ttl_hours}); raise it to at "
            f"least {c.compliance.minimum_backup_ttl_hours}",
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
    shared = c.site.weights_storage_class
    if shared and shared not in {c.vsphere.storage_policy, *c.compliance.encrypted_storage_classes}:
        issues.append(ConfigIssue(
            "site.weightsStorageClass", shared,
            "not known to be encrypted; list it in compliance.encryptedStorageClasses once its storage policy encrypts",
        ))
    return issues


def _standby_capacity(c: PlatformConfig) -> list[ConfigIssue]:
    """A warm standby that is not active keeps its standby replicas on its reduced GPU count."""
    dr = c.dr
    if dr.active or dr.mode != "warm-standby":
        return []
    layouts = {k: _layout(c, m) for k, m in c.models.items()}
    standby = sum(dr.standby_replicas * lay.gpus for lay in layouts.values())
    per_node = c.gpu_pool.gpus_per_node
    nodes = c.gpu_nodes_now
    key = "dr.standbyGpuNodes" if dr.standby_gpu_nodes is not None else "gpuPool.nodes"
    widest = max(layouts.values(), key=lambda lay: lay.nodes_needed(per_node))
    if standby > nodes * per_node:
        return [ConfigIssue(
            key, nodes,
            f"warm standby keeps {dr.standby_replicas} replica(s) of every model ready: {standby} GPUs, but this site "
            f"keeps {nodes * per_node}; set {key} to at least {-(-standby // per_node)}, or lower dr.standbyReplicas "
            "(at least 1), or use dr.mode pilot-light on both stacks")]
    if widest.nodes_needed(per_node) > nodes:
        return [ConfigIssue(
            key, nodes,
            f"a standby replica of a model across nodes needs {widest.nodes_needed(per_node)} GPU nodes "
            f"({widest.describe()}); set {key} to at least {widest.nodes_needed(per_node)}")]
    return []


def _rule_site_role(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    site, dr = c.site, c.dr
    if c.standby and not dr.enabled:
        issues.append(ConfigIssue("dr.enabled", dr.enabled, "a standby stack restores the primary's backups; set "
                                  "dr.enabled: true with the primary's dr.backupStorage"))
    if not c.standby:
        for key, value in (("site.primaryStack", site.primary_stack), ("site.primaryOutputsFile", site.primary_outputs_file),
                           ("site.weightsStorageClass", site.weights_storage_class)):
            if value is not None:
                issues.append(ConfigIssue(key, value, "is read only by a standby stack (site.role: standby); remove it"))
        for key, value, default in (("dr.active", dr.active, False), ("dr.standbyGpuNodes", dr.standby_gpu_nodes, None),
                                    ("dr.restoreFromSchedule", dr.restore_from_schedule, None)):
            if value != default:
                issues.append(ConfigIssue(key, value, "is a standby stack's setting; on the primary remove it"))
    elif dr.restore_from_schedule is not None and not dr.active:
        issues.append(ConfigIssue("dr.restoreFromSchedule", dr.restore_from_schedule,
                                  "restores only when the standby takes over; set it with dr.active: true"))
    elif dr.restore_from_schedule is not None and dr.restore_from_schedule not in _schedule_names(c):
        issues.append(ConfigIssue("dr.restoreFromSchedule", dr.restore_from_schedule,
                                  f"the primary's schedules are {_schedule_names(c)}; name one of them"))
    return issues


def _schedule_names(c: PlatformConfig) -> list[str]:
    return ["platform-frequent", *(["platform-daily"] if c.dr.long_term_ttl_hours else [])]

_MISTRAL_VERSION = re.compile(r"mistral-7b(?:-instruct)?-(v0\.[123])\b", re.IGNORECASE)
"""The release a Mistral-7B repository id names (mistralai/Mistral-7B-Instruct-v0.2)."""


def _rule_catalogue(c: PlatformConfig) -> list[ConfigIssue]:
    issues = []
    gpus = capacity.gpus_catalogue(c)
    if c.gpu_pool.gpu_model not in gpus:
        near = difflib.get_close_matches(c.gpu_pool.gpu_model.upper(), [g.upper() for g in gpus], n=1, cutoff=0.6)
        guess = next((g for g in gpus if near and g.upper() == near[0]), None)
        hint = f"did you mean {guess!r}? " if guess else ""
        issues.append(ConfigIssue("gpuPool.gpuModel", c.gpu_pool.gpu_model,
                                  f"not in the sizing catalogue {sorted(gpus)}; {hint}describe it under catalog.gpus"))
    models = capacity.models_catalogue(c)
    for key, m in c.models.items():
        if m.architecture not in models:
            near = difflib.get_close_matches(m.architecture.lower(), list(models), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            issues.append(ConfigIssue(f"models.{key}.architecture", m.architecture,
                                      f"not in the sizing catalogue {sorted(models)}; {hint}describe it under catalog.models"))
        version = _MISTRAL_VERSION.search(m.huggingface_repo)
        declared = "mistral-7b-v0.1" if m.architecture == "mistral-7b" else m.architecture
        if version and declared.startswith("mistral-7b-v0.") and declared != f"mistral-7b-{version.group(1)}":
            issues.append(ConfigIssue(
                f"models.{key}.architecture", m.architecture,
                f"describes another Mistral-7B than {m.huggingface_repo} ({version.group(1)}): v0.1 has a 4096-token "
                "sliding window, v0.2 and v0.3 have none, and v0.3 a 32768-token vocabulary, so the KV cache and "
                f"concurrency would be wrong; set architecture: mistral-7b-{version.group(1)}"))
    for key, arch in c.catalog.models.items():
        if arch.kv_heads > arch.attention_heads or arch.attention_heads % arch.kv_heads:
            issues.append(ConfigIssue(f"catalog.models.{key}.kvHeads", arch.kv_heads,
                                      f"must divide attentionHeads ({arch.attention_heads}); read num_key_value_heads "
                                      "from the model's config.json"))
        if arch.sliding_window is not None and arch.sliding_window > arch.max_context:
            issues.append(ConfigIssue(f"catalog.models.{key}.slidingWindow", arch.sliding_window,
                                      f"exceeds maxContext ({arch.max_context})"))
    return issues


def _fit_advice(arch: sizing.ModelArch, gpu: sizing.Gpu, m: ModelConfig, c: PlatformConfig) -> str:
    """What would fit instead, and what caps it (the GPUs one node VM holds, the nodes of the pool, the vGPU
    profile), then the quantized checkpoints that would fit, with their memory."""
    card = capacity.gpus_catalogue(c)[c.gpu_pool.gpu_model]
    if gpu.memory_gib < card.memory_gib:
        full = vgpu.full_profile(c.gpu_pool.gpu_model)
        on_card = _fitting(arch, card, m, 0)
        where = f"; with it, tensor-parallel size {on_card[0][1]} fits" if on_card else ""
        return (f"the vGPU profile {c.gpu_pool.vgpu_profile} gives each VM {gpu.memory_gib:.1f} of the card's "
                f"{card.memory_gib:.1f} GiB (and one vGPU per VM); use the full-card profile {full!r}{where}")
    limit, nodes = c.gpu_pool.gpus_per_node, c.gpu_pool.nodes
    fitting = _fitting(arch, gpu, m, m.tensor_parallel_size if m.nodes_per_replica == 1 else 0)
    within = [text for tp, text in fitting if tp <= limit]
    spread = [lay for lay, _ in _layouts_that_fit(arch, gpu, m, c) if lay.multi_node]
    quantized = _quantized_alternatives(arch, gpu, m, c)
    if within and m.nodes_per_replica == 1:
        return "smallest tensor-parallel sizes that fit: " + "; ".join(within[:2])
    advice = []
    if fitting and not within:
        tp = fitting[0][0]
        advice.append(f"tensor-parallel size {fitting[0][1]} would fit, but gpuPool.gpusPerNode ({limit}) caps tensor "
                      f"parallelism within one node at {limit} GPU{'s' if limit > 1 else ''}: raise gpuPool.gpusPerNode "
                      f"to {tp} (with tensorParallelSize {tp})")
    if spread:
        options = [f"nodesPerReplica {lay.nodes} with tensorParallelSize {lay.tensor_parallel} ({text})"
                   for lay, text in _layouts_that_fit(arch, gpu, m, c) if lay.multi_node][:2]
        advice.append("spread each replica over nodes, a pipeline stage per node: " + " or ".join(options)
                      + ", or nodesPerReplica auto")
    else:
        pool = (f"{min(nodes, sizing.MAX_NODES_PER_REPLICA)} node{'s' if nodes > 1 else ''} x {limit} "
                f"GPU{'s' if limit > 1 else ''}")
        advice.append(f"no layout of the pool ({pool}) holds it" + ("" if fitting else ", nor does tensor parallelism "
                                                                   "up to 8 GPUs in one node VM")
                      + ("; add GPU nodes (gpuPool.nodes) for a replica across nodes" if nodes == 1 else ""))
    if quantized:
        advice.append("or serve a quantized checkpoint of the model (its huggingfaceRepo and the quantization key): "
                      + "; ".join(quantized))
    elif not fitting and not spread:
        advice.append("no quantized checkpoint fits either: use GPUs with more memory")
    return "; ".join(advice)


def _layouts_that_fit(arch: sizing.ModelArch, gpu: sizing.Gpu, m: ModelConfig,
                      c: PlatformConfig) -> list[tuple[sizing.Layout, str]]:
    """Layouts of the pool (fewest GPUs first) that hold the model, each with its KV cache."""
    free = m.model_copy(update={"tensor_parallel_size": "auto", "nodes_per_replica": "auto"})
    found = []
    for lay in capacity.layout_candidates(c, free, arch):
        fit = sizing.layout_fit(arch, gpu, lay, m.max_model_len, **capacity.fit_kwargs(m))
        if fit.fits:
            found.append((lay, f"KV cache {fit.kv_pool_gib:.1f} GiB per GPU, about {fit.max_concurrent_sequences} "
                               f"sequences of {fit.sequence_tokens} tokens"))
    return found


QUANTIZED = (("awq", "AWQ int4"), ("fp8", "fp8"))


def _quantized_alternatives(arch: sizing.ModelArch, gpu: sizing.Gpu, m: ModelConfig, c: PlatformConfig) -> list[str]:
    """The smallest layout of the pool each quantized form of the model fits, with its memory figures."""
    found = []
    for quantization, label in QUANTIZED:
        if m.quantization == quantization:
            continue
        variant = m.model_copy(update={"quantization": quantization})
        fitting = _layouts_that_fit(arch, gpu, variant, c)
        if not fitting:
            continue
        lay = fitting[0][0]
        fit = sizing.layout_fit(arch, gpu, lay, m.max_model_len, **capacity.fit_kwargs(variant))
        where = f"one {c.gpu_pool.gpu_model}" if lay.gpus == 1 else f"{lay.describe()} of {c.gpu_pool.gpu_model}"
        found.append(f"{label} (quantization {quantization}) on {where}: weights {fit.weights_gib:.1f} GiB, KV cache "
                     f"{fit.kv_pool_gib:.1f} GiB per GPU, about {fit.max_concurrent_sequences} sequences of "
                     f"{fit.sequence_tokens} tokens")
    return found


def _fitting(arch: sizing.ModelArch, gpu: sizing.Gpu, m: ModelConfig, above: int) -> list[tuple[int, str]]:
    """Tensor-parallel sizes above ``above`` (up to 8) at which the model fits one node, each with its KV cache."""
    found = []
    for tp in (1, 2, 4, 8):
        if tp > above and sizing.valid_tensor_parallel(arch, tp):
            fit = sizing.memory_fit(arch, gpu, tp, m.max_model_len, **capacity.fit_kwargs(m))
            if fit.fits:
                found.append((tp, f"{tp} (KV cache {fit.kv_pool_gib:.1f} GiB per GPU, about "
                                  f"{fit.max_concurrent_sequences} sequences of {fit.sequence_tokens} tokens)"))
    return found


def _rule_models_fit_memory(c: PlatformConfig) -> list[ConfigIssue]:
    models, gpus = capacity.models_catalogue(c), capacity.gpus_catalogue(c)
    if c.gpu_pool.gpu_model not in gpus or any(_vgpu_profile_issues(c) if c.gpu_pool.mode == "vgpu" else ()):
        return []
    gpu, issues = capacity.pool_gpu(c), []
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
        lay = _layout(c, m)
        if sizing.layout_problem(arch, tp, m.nodes_per_replica, c.gpu_pool.gpus_per_node) is not None:
            continue  # the pool rule names it
        fit = sizing.layout_fit(arch, gpu, lay, m.max_model_len, **capacity.fit_kwargs(m))
        path, value = _layout_path(key, m)
        where = (f"{fit.weights_per_gpu_gib:.1f} GiB per GPU" if not lay.multi_node else
                 f"{lay.describe()} puts up to {fit.weights_per_gpu_gib:.1f} GiB on each GPU")
        if not fit.weights_fit:
            asked = "" if value != "auto" else "auto found no layout of the pool that holds them: "
            issues.append(ConfigIssue(
                path, value,
                f"{asked}{m.architecture} weights are {fit.weights_gib:.1f} GiB: {where} plus {fit.overhead_gib:.1f} GiB "
                f"overhead exceed the {fit.budget_gib:.1f} GiB budget of a {c.gpu_pool.gpu_model} at "
                f"gpuMemoryUtilization {m.gpu_memory_utilization}; {_fit_advice(arch, gpu, m, c)}",
            ))
        elif not fit.fits:
            tight = min(fit.stages, key=lambda s: s.kv_tokens)
            stage = f" of pipeline stage {tight.index}" if lay.pipeline_parallel > 1 else ""
            issues.append(ConfigIssue(
                f"models.{key}.maxModelLen", m.max_model_len,
                f"one sequence needs {fit.sequence_tokens} tokens of KV cache but the {tight.kv_pool_gib:.1f} GiB left per "
                f"GPU{stage} hold {fit.kv_tokens} ({tight.kv_bytes_per_token_per_gpu / 1024:.0f} KiB per token per GPU); "
                f"lower maxModelLen to at most {fit.kv_tokens}, set kvCacheDtype fp8, or raise tensorParallelSize"
                + (" or nodesPerReplica" if c.gpu_pool.nodes > 1 else ""),
            ))
    return issues


def _rule_weights_fit_volume(c: PlatformConfig) -> list[ConfigIssue]:
    """A weights volume holds two revisions (the served one and its successor while a revision change stages)
    plus 10 % for tokenizer, config files and file-system overhead."""
    models = capacity.models_catalogue(c)
    issues = []
    for key, m in c.models.items():
        arch = models.get(m.architecture)
        if arch is None:
            continue
        weights = sizing.weights_gib(arch, m.dtype, m.quantization)
        needed = math.ceil(2 * weights * 1.1)
        if m.weights.size_gib < needed:
            form = f"quantization {m.quantization}" if m.quantization else "16-bit"
            issues.append(ConfigIssue(
                f"models.{key}.weights.sizeGib", m.weights.size_gib,
                f"{m.architecture} weights take {weights:.1f} GiB ({form}); the volume holds the served revision and "
                f"the next one while a revision change stages it, plus 10 % for tokenizer and config files: set at "
                f"least {needed} (GiB)"))
    return issues


def _rule_traffic_shares(c: PlatformConfig) -> list[ConfigIssue]:
    shares = {k: m.traffic_share for k, m in c.models.items() if m.traffic_share is not None}
    total = sum(shares.values())
    if total > 1 + 1e-9:
        return [ConfigIssue("models", {k: v for k, v in shares.items()},
                            f"trafficShare over all models adds up to {total:g}, more than all the traffic (1); lower them "
                            "so they add up to at most 1")]
    return []


def _rule_load_fits_replicas(c: PlatformConfig) -> list[ConfigIssue]:
    if any(i for rule in (_rule_catalogue, _rule_models_fit_memory, _rule_traffic_shares) for i in rule(c)):
        return []
    if any(_rule_models_fit_pool(c)):
        return []
    issues, models = [], capacity.models_catalogue(c)
    for key, p in capacity.plan(c).models.items():
        if p.capacity is None:
            m, lay = c.models[key], p.layout
            fastest = sizing.decode_step(models[m.architecture], capacity.pool_gpu(c), lay, 1,
                                         c.cost.avg_prompt_tokens + c.cost.avg_output_tokens // 2, capacity.fabric(c),
                                         **capacity.decode_kwargs(m)).seconds
            passes = (" (every token passes the pipeline's stages one after another, so spreading over more nodes adds "
                      "memory, not speed)" if lay.multi_node else "")
            issues.append(ConfigIssue(
                "cost.itlTargetSeconds", c.cost.itl_target_seconds,
                f"models.{key} cannot decode one stream that fast on a {c.gpu_pool.gpu_model} as {lay.describe()}: "
                f"one token takes at least {fastest:.3f} s{passes}; relax the target to at least "
                f"{math.ceil(fastest * 1000) / 1000:g}, raise tensorParallelSize, or use a quantized checkpoint",
            ))
        elif p.replicas_needed is not None and p.replicas_needed > p.replicas_max:
            issues.append(ConfigIssue(
                f"models.{key}.replicas.max", p.replicas_max,
                f"the busiest hour brings about {p.peak_requests_per_second:.1f} requests/s; one replica serves "
                f"{p.capacity.requests_per_second:.1f} at the inter-token latency target, so {p.replicas_needed} "
                f"replicas ({p.replicas_needed * p.gpus_per_replica} GPUs) are needed; raise replicas.max and the pool",
            ))
    return issues


def _rule_aria(c: PlatformConfig) -> list[ConfigIssue]:
    aria = c.aria
    if not aria.enabled:
        return []
    issues = []
    if not aria.url:
        issues.append(ConfigIssue("aria.url", MISSING, "aria.enabled needs the Aria Automation URL, e.g. "
                                  "https://aria.hospital.example"))
    if aria.accept_self_signed_cert and c.compliance.tier == "production":
        issues.append(ConfigIssue("aria.acceptSelfSignedCert", True,
                                  "production verifies vCenter's certificate (164.312(e)(1)); trust its CA instead"))
    if not aria.administrators:
        issues.append(ConfigIssue("aria.administrators", [], "a project needs at least one administrator; list an e-mail "
                                  "address, e.g. [llm-platform-admins@hospital.example]"))
    return issues


def _rule_gateway(c: PlatformConfig) -> list[ConfigIssue]:
    """Every model is routed with its groups; quotas name admitted groups; in-cluster callers are apps."""
    g = c.gateway
    issues = []
    for key in c.models:
        if key not in g.model_access:
            issues.append(ConfigIssue(
                f"gateway.modelAccess.{key}", MISSING,
                "every model needs the groups (values of gateway.oidc.groupClaim) that may use it, e.g. "
                f"{{{key}: {{groups: [clinical-informatics]}}}}; without an entry no one could call it"))
    for key in g.model_access:
        if key not in c.models:
            near = difflib.get_close_matches(key, list(c.models), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            issues.append(ConfigIssue(f"gateway.modelAccess.{key}", key,
                                      f"is not a key of models ({sorted(c.models)}); {hint}remove it or fix the key"))
    admitted = {group for access in g.model_access.values() for group in access.groups}
    for group in g.monthly_token_quotas:
        if group not in admitted:
            issues.append(ConfigIssue(
                f"gateway.monthlyTokenQuotas.{group}", g.monthly_token_quotas[group],
                f"group {group!r} may use no model (gateway.modelAccess lists {sorted(admitted)}); admit it to a model "
                "or remove its quota"))
    platform = {ns for _, ns, _ in _namespace_roles(c)} | set(FIXED_NAMESPACES) | {c.tanzu.serving_namespace}
    clash = sorted(ns for ns in g.client_namespaces if ns in platform)
    if clash:
        issues.append(ConfigIssue(
            "gateway.clientNamespaces", list(g.client_namespaces),
            f"lists platform namespaces {clash}; list the consuming applications' namespaces only, e.g. [clinical-notes]"))
    return issues


SIX_YEARS_DAYS = 2190
AUDIT_HINTS = {
    "s3Url": "the store's https:// endpoint, e.g. https://s3-audit.hospital.example",
    "bucket": "the Object Lock bucket, e.g. llm-platform-audit",
    "toolsImage": "repository, tag and digest of the manifest image (Python 3 with boto3 and cryptography)",
    "signingPublicKey": "the public half of the secret auditSigningKey (`openssl pkey -in audit-signing-key.pem "
                        "-pubout`), which auditors verify the manifests with",
}


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
        for key, value in (("s3Url", audit.s3_url), ("bucket", audit.bucket), ("toolsImage", audit.tools_image),
                           ("signingPublicKey", audit.signing_public_key)):
            if value is None:
                issues.append(ConfigIssue(f"audit.{key}", MISSING,
                                          f"required when audit.enabled; add it: {AUDIT_HINTS[key]}"))
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
        if c.compliance.tier == "production" and audit.anchor is None:
            issues.append(ConfigIssue(
                "audit.anchor", MISSING,
                "production anchors each day's manifest outside the audit bucket, so whoever can write the bucket cannot "
                "rewrite the chain unseen (164.312(c)(1)); add audit.anchor with s3Url, bucket and egressCidrs of a "
                "second Object Lock bucket (e.g. at the secondary site)",
            ))
        if audit.anchor is not None and audit.anchor.s3_url == audit.s3_url and audit.anchor.bucket == audit.bucket:
            issues.append(ConfigIssue(
                "audit.anchor.bucket", audit.anchor.bucket,
                "is the audit bucket itself; an anchor must live outside it: name another bucket",
            ))
    return issues


OPEN_EGRESS_HINTS = {
    "tanzu.apiServerCidrs": "the control-plane VIP and the control-plane nodes' network, e.g. ['10.40.0.0/24']",
    "gateway.idpEgressCidrs": "the identity provider's addresses (JWKS on 443), e.g. ['10.10.0.0/16']",
    "audit.egressCidrs": "the audit store's addresses, e.g. ['10.30.0.0/16']",
    "audit.anchor.egressCidrs": "the anchor store's addresses, e.g. ['10.20.0.0/16']",
    "observability.alertEgressCidrs": "the SMTP relay, pager and dead-man's switch addresses, e.g. ['10.50.0.0/24']",
    "dr.backupStorage.egressCidrs": "the backup store's addresses, e.g. ['10.20.0.0/16']",
    "addons.gpuOperator.licenseServerCidrs": "the NVIDIA License System appliance, e.g. ['10.60.0.10/32']",
}


def open_egress_lists(c: PlatformConfig) -> list[tuple[str, tuple[str, ...]]]:
    """Every address list the program turns into an egress opening or a non-client ingress opening."""
    lists = [("tanzu.apiServerCidrs", c.tanzu.api_server_cidrs), ("gateway.idpEgressCidrs", c.gateway.idp_egress_cidrs),
             ("observability.alertEgressCidrs", c.observability.alert_egress_cidrs)]
    if c.audit.enabled:
        lists.append(("audit.egressCidrs", c.audit.egress_cidrs))
        if c.audit.anchor is not None:
            lists.append(("audit.anchor.egressCidrs", c.audit.anchor.egress_cidrs))
    if c.dr.enabled and c.dr.backup_storage is not None:
        lists.append(("dr.backupStorage.egressCidrs", c.dr.backup_storage.egress_cidrs))
    if c.addons.gpu_operator.license_server_cidrs is not None:
        lists.append(("addons.gpuOperator.licenseServerCidrs", c.addons.gpu_operator.license_server_cidrs))
    lists += [(f"models.{k}.downloadEgressCidrs", m.download_egress_cidrs) for k, m in c.models.items()]
    return lists


def _rule_no_open_network(c: PlatformConfig) -> list[ConfigIssue]:
    """Production opens no path to or from any address, except clients reaching the gateway."""
    if c.compliance.tier != "production":
        return []
    issues = []
    for path, values in open_egress_lists(c):
        anywhere = [v for v in values if ipaddress.ip_network(v).prefixlen == 0]
        if anywhere:
            hint = OPEN_EGRESS_HINTS.get(path, "the mirror's or Hugging Face's addresses, e.g. ['10.70.0.0/24']")
            issues.append(ConfigIssue(
                path, list(values),
                f"{anywhere[0]} is any address; production reaches only named networks (45 CFR 164.312(e)(1)), and "
                f"this key is required there: give {hint}",
            ))
    if c.gpu_pool.mode == "vgpu" and c.addons.gpu_operator.license_server_cidrs is None:
        issues.append(ConfigIssue(
            "addons.gpuOperator.licenseServerCidrs", MISSING,
            "vGPU guest drivers license themselves at the NVIDIA License System on 443, and the operator namespace is "
            f"default-deny: give {OPEN_EGRESS_HINTS['addons.gpuOperator.licenseServerCidrs']}",
        ))
    return issues


# Quantization kernels vLLM runs only in float16 when the method is named explicitly (`--quantization awq`/`gptq`:
# get_supported_act_dtypes() is [torch.half]); the Marlin variants vLLM picks when the flag is unset take bfloat16.
FLOAT16_ONLY_QUANTIZATION = ("awq", "gptq")
_POOLING = re.compile(r"^--(runner|task|convert)(=|$)")


def _rule_trust_bundle(c: PlatformConfig) -> list[ConfigIssue]:
    """Production calls a private IdP only with the site's CA in hand: else every JWKS fetch fails and callers get 401."""
    from urllib.parse import urlsplit

    from components.config.fields import private_host

    if c.compliance.tier != "production" or c.site.trust_bundle or (c.site.trust_bundle_waiver or "").strip():
        return []
    host = urlsplit(c.gateway.oidc.jwks_uri).hostname or ""
    if not private_host(host):
        return []
    return [ConfigIssue(
        "site.trustBundle", MISSING,
        f"gateway.oidc.jwksUri is on {host!r}, whose certificate only the site's own CA can issue; without that CA the "
        "gateway cannot fetch the signing keys and every caller gets 401. Paste the CA certificates (PEM) as "
        "site.trustBundle, or set site.trustBundleWaiver to why they are not needed (e.g. the IdP's certificate is "
        "from a public CA)",
    )]


def _rule_upstream_tls(c: PlatformConfig) -> list[ConfigIssue]:
    """Prompts cross the pod network from the gateway to vLLM: production sends them over TLS, with a certificate the
    gateway and Prometheus can verify for every Service they call."""
    from components.config import certificates

    tls = c.gateway.upstream_tls
    if not c.serves_models:
        return []
    if not tls.enabled:
        return [ConfigIssue(
            "gateway.upstreamTls.enabled", False,
            "production sends prompts from the gateway to vLLM over TLS (transmission security, 45 CFR 164.312(e)(1)); "
            "set it to true with gateway.upstreamTls.certificate (issued by a CA of site.trustBundle) and the secret "
            "upstreamTlsKey (docs/security.md#tls-inside-the-cluster)",
        )] if c.compliance.tier == "production" else []
    if tls.certificate is None:
        return [ConfigIssue("gateway.upstreamTls.certificate", MISSING,
                            "vLLM needs a certificate to serve HTTPS: paste the PEM chain the site's CA issued for "
                            f"*.{c.tanzu.serving_namespace}.svc.cluster.local")]
    if not c.site.trust_bundle:
        return [ConfigIssue("site.trustBundle", MISSING,
                            "gateway.upstreamTls is on, and the gateway and Prometheus verify vLLM's certificate "
                            "against the site's CA: paste the CA certificates that issued it (PEM)")]
    issues = []
    names = certificates.dns_names(tls.certificate)
    hosts = [f"{key}-api.{c.tanzu.serving_namespace}.svc.cluster.local" for key in c.models]
    hosts += [f"{key}-candidate-api.{c.tanzu.serving_namespace}.svc.cluster.local"
              for key, m in c.models.items() if m.candidate_model is not None]
    missing = [host for host in hosts if not certificates.covers(names, host)]
    if missing:
        issues.append(ConfigIssue(
            "gateway.upstreamTls.certificate", f"a certificate for {', '.join(names) or 'no DNS name'}",
            f"does not name {', '.join(missing)}, which the gateway verifies it against; issue one with the DNS name "
            f"*.{c.tanzu.serving_namespace}.svc.cluster.local (or each Service name)"))
    broken = certificates.unverified_by(tls.certificate, c.site.trust_bundle)
    if broken:
        issues.append(ConfigIssue("gateway.upstreamTls.certificate", "the PEM chain in the stack file", broken))
    return issues


def _rule_quantization_dtype(c: PlatformConfig) -> list[ConfigIssue]:
    return [ConfigIssue(
        f"models.{key}.dtype", m.dtype,
        f"vLLM's {m.quantization} kernels (--quantization {m.quantization}) run in float16 only and refuse bfloat16 at "
        "start-up; set dtype to float16 (or auto)",
    ) for key, m in c.models.items() if m.quantization in FLOAT16_ONLY_QUANTIZATION and m.dtype == "bfloat16"]


def _pooling_runner(extra_args: tuple[str, ...]) -> bool:
    """Whether extraArgs run the model as a pooling (embedding) model: --runner pooling, --task embed, --convert embed."""
    words = [part for arg in extra_args for part in arg.split("=", 1)]
    return any(_POOLING.match(arg) for arg in extra_args) and any(w in ("pooling", "embed", "embedding") for w in words)


def _rule_endpoints_served(c: PlatformConfig) -> list[ConfigIssue]:
    """The gateway opens only the OpenAI endpoints the model's vLLM runner serves."""
    issues = []
    for key, access in c.gateway.model_access.items():
        model = c.models.get(key)
        if model is None:
            continue
        pooling = _pooling_runner(model.extra_args)
        wrong = [e for e in access.endpoints if (e == "embeddings") != pooling]
        if wrong:
            runner = "a pooling (embedding) runner" if pooling else f"a generative model ({model.architecture})"
            right = ["embeddings"] if pooling else [e for e in access.endpoints if e != "embeddings"] or ["chat"]
            issues.append(ConfigIssue(
                f"gateway.modelAccess.{key}.endpoints", list(access.endpoints),
                f"{', '.join(wrong)} cannot be served: models.{key} runs as {runner}, and vLLM answers 404 there; "
                f"open {right} only" + ("" if pooling else ", or serve an embedding model with `--runner pooling` in "
                                         "models.<name>.extraArgs")))
    return issues


def _rule_quota_covers_a_window(c: PlatformConfig) -> list[ConfigIssue]:
    """A month's quota below what the group may spend in its shortest rate-limit window is a unit slip."""
    windows = sorted(c.gateway.token_limits.per_group, key=lambda w: WINDOW_MINUTES[w.per])
    if not windows:
        return []
    shortest = windows[0]
    return [ConfigIssue(
        f"gateway.monthlyTokenQuotas.{group}", tokens,
        f"is less than one {shortest.per.lower()}'s budget of the group ({shortest.tokens} tokens, "
        f"gateway.tokenLimits.perGroup): the quota is tokens per month; set at least {shortest.tokens} (e.g. "
        f"{tokens * 1000} if it was meant in thousands)",
    ) for group, tokens in c.gateway.monthly_token_quotas.items() if tokens < shortest.tokens]


WINDOW_MINUTES = {"Minute": 1, "Hour": 60, "Day": 1440, "Week": 10080, "Month": 43200}


def _rule_token_reservation(c: PlatformConfig) -> list[ConfigIssue]:
    """Each ceiling leaves room for a prompt; each reservation window holds one request of every model."""
    issues = []
    for key, m in c.models.items():
        if m.max_tokens is not None and m.max_tokens >= m.max_model_len:
            issues.append(ConfigIssue(
                f"models.{key}.maxTokens", m.max_tokens,
                f"is not below the model's context length (maxModelLen {m.max_model_len}), which holds the prompt and "
                f"the completion together; set at most {m.max_model_len - 1} (a quarter, "
                f"{m.max_model_len // 4}, is the default), or raise maxModelLen"))
    ceilings = {key: m.max_tokens_ceiling for key, m in c.models.items()}
    for index, window in enumerate(c.gateway.token_limits.reserved_per_user):
        short = sorted(key for key, ceiling in ceilings.items() if ceiling > window.tokens)
        if short:
            worst = max(ceilings[k] for k in short)
            issues.append(ConfigIssue(
                f"gateway.tokenLimits.reservedPerUser[{index}].tokens", window.tokens,
                f"cannot hold one request of {short} (maxTokens {', '.join(str(ceilings[k]) for k in short)}): each "
                f"request reserves its model's maxTokens, so those models would refuse every request; set at least "
                f"{worst}, or lower models.<key>.maxTokens"))
    if c.compliance.tier == "production" and not c.gateway.token_limits.reserved_per_user:
        issues.append(ConfigIssue(
            "gateway.tokenLimits.reservedPerUser", [],
            "production reserves tokens when a request is admitted: without it a caller can start many generations "
            "before the first one is charged; give a window, e.g. [{tokens: 32768, per: Minute}]"))
    return issues


RULES: tuple[Callable[[PlatformConfig], list[ConfigIssue]], ...] = (
    _rule_trust_bundle,
    _rule_upstream_tls,
    _rule_quantization_dtype,
    _rule_endpoints_served,
    _rule_quota_covers_a_window,
    _rule_token_reservation,
    _rule_access_and_audit,
    _rule_no_open_network,
    _rule_gateway,
    _rule_groups_separate,
    _rule_namespace_access,
    _rule_networks,
    _rule_weights_fit_volume,
    _rule_traffic_shares,
    _rule_aria,
    _rule_catalogue,
    _rule_models_fit_memory,
    _rule_load_fits_replicas,
    _rule_models_fit_pool,
    _rule_tensor_parallel_across_nodes,
    _rule_replica_bounds,
    _rule_model_fits_node,
    _rule_served_names_unique,
    _rule_model_source,
    _rule_weights_verified,
    _rule_weights_signature,
    _rule_candidate,
    _rule_evaluation,
    _rule_images_allowed,
    _rule_image_is_pinned_vllm,
    _rule_image_digests_match_lock,
    _rule_benchmark,
    _rule_gpu_mode,
    _rule_production_tier,
    _rule_namespaces_distinct,
    _rule_tkr_matches_version,
    _rule_dr_consistent,
    _rule_site_role,
)
