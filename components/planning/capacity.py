"""The stack's capacity and cost plan: the sizing functions applied to its config.

Config validation refuses what the plan shows cannot work; the preview prints the plan and the stack
exports it. A model's layout (nodes per replica, GPUs per node) is what its config sets or, where it
says ``auto``, what :func:`choose_layout` picks: the layout with the fewest GPUs that holds the
weights and one ``maxModelLen`` sequence and carries the model's share of the busiest hour.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from components.config.model import ModelConfig, PlatformConfig
from components.planning import sizing, vgpu

SECONDS_PER_MONTH = 30 * 24 * 3600
KNOWN_ERROR = 0.20
"""Largest error of the model on the published measurements tests/test_sizing.py keeps."""
AUTO = "auto"


def models_catalogue(cfg: PlatformConfig) -> dict[str, sizing.ModelArch]:
    extra = {k: sizing.ModelArch(**v.model_dump()) for k, v in cfg.catalog.models.items()}
    return {**sizing.MODELS, **extra}


def gpus_catalogue(cfg: PlatformConfig) -> dict[str, sizing.Gpu]:
    extra = {k: sizing.Gpu(**v.model_dump()) for k, v in cfg.catalog.gpus.items()}
    return {**sizing.GPUS, **extra}


def pool_gpu(cfg: PlatformConfig) -> sizing.Gpu:
    """What one GPU of a worker VM offers: the whole card, or the vGPU profile's share of it."""
    card = gpus_catalogue(cfg)[cfg.gpu_pool.gpu_model]
    profile = vgpu.parse(cfg.gpu_pool.vgpu_profile or "") if cfg.gpu_pool.mode == "vgpu" else None
    fraction = vgpu.share(profile, cfg.gpu_pool.gpu_model, card.memory_gib)
    if fraction == 1.0:
        return card
    return replace(card, memory_gib=card.memory_gib * fraction, bandwidth_tbps=card.bandwidth_tbps * fraction,
                   bf16_tflops=card.bf16_tflops * fraction,
                   fp8_tflops=card.fp8_tflops * fraction if card.fp8_tflops else None,
                   int8_tops=card.int8_tops * fraction if card.int8_tops else None)


def fabric(cfg: PlatformConfig) -> sizing.Fabric:
    """The network between GPU nodes, as the stack config states its bandwidth."""
    return sizing.Fabric(cfg.gpu_pool.inter_node_gbps)


def fit_kwargs(model: ModelConfig) -> dict[str, Any]:
    return {"gpu_memory_utilization": model.gpu_memory_utilization, "dtype": model.dtype,
            "quantization": model.quantization, "kv_cache_dtype": model.kv_cache_dtype, "max_num_seqs": model.max_num_seqs}


def decode_kwargs(model: ModelConfig) -> dict[str, Any]:
    return {"dtype": model.dtype, "quantization": model.quantization, "kv_cache_dtype": model.kv_cache_dtype}


def throughput_batch(cfg: PlatformConfig, fit: sizing.MemoryFit, arch: sizing.ModelArch) -> int:
    """Requests of the configured shape (cost.avgPromptTokens + avgOutputTokens) the KV pool holds at once,
    capped by maxNumSeqs: what vLLM admits, since it allocates KV blocks as sequences grow."""
    return fit.throughput_batch(cfg.cost.avg_prompt_tokens + cfg.cost.avg_output_tokens, arch.sliding_window)


def carried_by(cfg: PlatformConfig, model: ModelConfig, arch: sizing.ModelArch, gpu: sizing.Gpu, lay: sizing.Layout,
               fit: sizing.MemoryFit) -> sizing.ReplicaCapacity | None:
    """One replica's capacity at the latency target; a measured throughput factor makes every step that much
    faster (or slower) than predicted."""
    factor = model.measured_throughput_factor or 1.0
    carried = sizing.layout_capacity(arch, gpu, lay, cfg.cost.avg_prompt_tokens, cfg.cost.avg_output_tokens,
                                     cfg.cost.itl_target_seconds * factor, max(1, throughput_batch(cfg, fit, arch)),
                                     fabric(cfg), **decode_kwargs(model))
    if carried is None or factor == 1.0:
        return carried
    return sizing.ReplicaCapacity(carried.batch, carried.step_seconds / factor, carried.request_seconds / factor,
                                  carried.requests_per_second * factor, carried.output_tokens_per_second * factor,
                                  carried.fabric_seconds / factor)


def traffic_shares(cfg: PlatformConfig) -> dict[str, float]:
    fixed = {k: m.traffic_share for k, m in cfg.models.items() if m.traffic_share is not None}
    rest = [k for k in cfg.models if k not in fixed]
    remaining = max(0.0, 1.0 - sum(fixed.values()))
    return {**fixed, **{k: remaining / len(rest) for k in rest}}


def peak_requests_per_second(cfg: PlatformConfig, share: float) -> float:
    return cfg.cost.requests_per_month * share / SECONDS_PER_MONTH * cfg.cost.peak_to_average


# -- layouts --------------------------------------------------------------------------------------


def layout_of(cfg: PlatformConfig, model: ModelConfig) -> sizing.Layout:
    """The replica's layout on the stack's GPU nodes (config resolves ``auto`` before anyone asks)."""
    tp, nodes = model.tensor_parallel_size, model.nodes_per_replica
    if AUTO in (tp, nodes):
        raise ValueError("the layout is still auto; config validation (parse_config) resolves it first")
    return sizing.layout(int(tp), int(nodes), cfg.gpu_pool.gpus_per_node)


def layout_candidates(cfg: PlatformConfig, model: ModelConfig, arch: sizing.ModelArch) -> list[sizing.Layout]:
    """Every layout the model's fixed keys allow on the pool, fewest GPUs (then nodes) first.

    ``auto`` never puts a tensor-parallel group across nodes: following vLLM's multi-node guide,
    tensor parallelism stays within a node and the nodes form a pipeline.
    """
    per_node = cfg.gpu_pool.gpus_per_node
    if model.tensor_parallel_size == AUTO:
        sizes = [tp for tp in (1, 2, 4, 8) if tp <= per_node and sizing.valid_tensor_parallel(arch, tp)]
    else:
        sizes = [tp for tp in (int(model.tensor_parallel_size),) if sizing.valid_tensor_parallel(arch, tp)]
    most = min(cfg.gpu_pool.nodes, sizing.MAX_NODES_PER_REPLICA)
    counts = list(range(1, most + 1)) if model.nodes_per_replica == AUTO else [int(model.nodes_per_replica)]
    found = [sizing.layout(tp, nodes, per_node) for tp in sizes for nodes in counts
             if sizing.layout_problem(arch, tp, nodes, per_node) is None]
    return sorted(found, key=lambda lay: (lay.gpus, lay.nodes, lay.tensor_parallel))


@dataclass(frozen=True)
class LayoutChoice:
    layout: sizing.Layout
    fits: bool
    """False when no candidate holds the model: ``layout`` is then the largest one tried."""
    note: str


def choose_layout(cfg: PlatformConfig, key: str) -> LayoutChoice:
    """The layout ``auto`` picks for model ``key``, and why.

    Among the candidates that hold the weights and one ``maxModelLen`` sequence, the one needing the
    fewest GPUs for the model's share of the busiest hour (replicas needed x GPUs per replica, within
    ``replicas.max`` where any is), then the fewest nodes per replica (less fabric, fewer pods to lose);
    when no candidate keeps ``cost.itlTargetSeconds``, the one with the fewest GPUs that fits.
    """
    model = cfg.models[key]
    arch, gpu = models_catalogue(cfg)[model.architecture], pool_gpu(cfg)
    peak = peak_requests_per_second(cfg, traffic_shares(cfg)[key])
    candidates = layout_candidates(cfg, model, arch)
    if not candidates:
        return LayoutChoice(sizing.layout(1, 1, cfg.gpu_pool.gpus_per_node), False,
                            "auto: no layout is possible with the fixed layout key")
    options: list[tuple[sizing.Layout, int | None]] = []
    unfit: list[sizing.Layout] = []
    best_total: int | None = None
    for lay in candidates:
        if best_total is not None and lay.gpus > best_total:
            break  # every later candidate needs at least its own GPUs, more than the best found
        fit = sizing.layout_fit(arch, gpu, lay, model.max_model_len, **fit_kwargs(model))
        if not fit.fits:
            unfit.append(lay)
            continue
        carried = carried_by(cfg, model, arch, gpu, lay, fit)
        needed = sizing.replicas_needed(peak, carried)
        options.append((lay, needed))
        if needed is not None and needed <= model.replicas.max:
            total = needed * lay.gpus
            best_total = total if best_total is None else min(best_total, total)
    if not options:
        largest = candidates[-1]
        return LayoutChoice(largest, False, f"auto: no layout up to {largest.describe()} holds the weights and one "
                                            f"{model.max_model_len}-token sequence")
    carrying = [(lay, n) for lay, n in options if n is not None]
    pool = [(lay, n) for lay, n in carrying if n <= model.replicas.max] or carrying
    if pool:
        chosen, needed = min(pool, key=lambda o: (o[1] * o[0].gpus, o[0].nodes, o[0].tensor_parallel))
        why = (f"the fewest GPUs that carry the busiest hour ({peak:.2f} requests/s): {needed} "
               f"replica{'s' if needed > 1 else ''} of {chosen.gpus} GPU{'s' if chosen.gpus > 1 else ''}")
    else:
        chosen, needed = options[0]
        why = (f"the fewest GPUs that hold the weights and a {model.max_model_len}-token sequence (no layout keeps "
               f"cost.itlTargetSeconds {cfg.cost.itl_target_seconds:g})")
    others = []
    for lay, n in options:
        if lay == chosen:
            continue
        if n is None:
            others.append(f"{lay.short} misses the latency target")
        else:
            others.append(f"{lay.short} needs {n} replica{'s' if n > 1 else ''} ({n * lay.gpus} GPUs)")
    others += [f"{lay.short} does not hold the model" for lay in unfit[:2]]
    tail = f"; {', '.join(others[:4])}" if others else ""
    return LayoutChoice(chosen, True, f"auto chose {chosen.describe()}, {why}{tail}")


def resolve_layouts(cfg: PlatformConfig) -> PlatformConfig:
    """The config with every ``auto`` layout key replaced by the chosen layout (each model remembers the ask).

    Models whose GPU or architecture the catalogue does not know keep the fixed keys and 1 for the
    ``auto`` ones; config validation refuses the unknown names.
    """
    models, gpus = models_catalogue(cfg), gpus_catalogue(cfg)
    resolved = {}
    for key, model in cfg.models.items():
        if AUTO not in (model.tensor_parallel_size, model.nodes_per_replica):
            resolved[key] = model
        elif model.architecture not in models or cfg.gpu_pool.gpu_model not in gpus:
            resolved[key] = model.with_layout(*_fixed_or_one(model), None)
        elif not layout_candidates(cfg, model, models[model.architecture]):
            # The fixed key allows no layout (a tensor-parallel size the model cannot take): the rules name it.
            resolved[key] = model.with_layout(*_fixed_or_one(model), None)
        else:
            choice = choose_layout(cfg, key)
            resolved[key] = model.with_layout(choice.layout.tensor_parallel, choice.layout.nodes,
                                              choice.note if choice.fits else None)
    if all(resolved[k] is m for k, m in cfg.models.items()):
        return cfg
    return cfg.model_copy(update={"models": resolved})


def _fixed_or_one(model: ModelConfig) -> tuple[int, int]:
    return tuple(1 if v == AUTO else int(v) for v in (model.tensor_parallel_size, model.nodes_per_replica))


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPlan:
    key: str
    fit: sizing.MemoryFit
    decode_tokens_per_second: float
    """One replica at its sustainable batch."""
    capacity: sizing.ReplicaCapacity | None
    peak_requests_per_second: float
    replicas_needed: int | None
    replicas_max: int
    tensor_parallel: int
    layout: sizing.Layout
    layout_note: str | None = None
    """Why ``auto`` chose the layout; None when the config fixes it."""
    ttft_seconds: float | None = None
    """Time to first token of one configured prompt on an idle replica."""
    measured_factor: float | None = None
    """models.<key>.measuredThroughputFactor, when the plan uses the site's measured speed."""

    @property
    def gpus_per_replica(self) -> int:
        return self.layout.gpus

    @property
    def fabric_share(self) -> float:
        return self.capacity.fabric_share if self.capacity else 0.0

    def to_dict(self) -> dict[str, Any]:
        lay = self.layout
        return {
            "weightsGiB": round(self.fit.weights_gib, 1),
            "kvCacheGiB": round(max(0.0, self.fit.kv_gib_total()), 1),
            "kvTokens": self.fit.kv_tokens,
            "maxConcurrentSequences": self.fit.max_concurrent_sequences,
            "batch": self.capacity.batch if self.capacity else None,
            "timeToFirstTokenSeconds": round(self.ttft_seconds, 4) if self.ttft_seconds is not None else None,
            "figures": "predicted" if self.measured_factor is None else "measured",
            "decodeTokensPerSecond": round(self.decode_tokens_per_second),
            "peakRequestsPerSecond": round(self.peak_requests_per_second, 3),
            "replicasNeeded": self.replicas_needed,
            "replicasMax": self.replicas_max,
            "gpus": self.replicas_max * lay.gpus,
            "nodesPerReplica": lay.nodes,
            "gpusPerNode": lay.gpus_per_node,
            "tensorParallelSize": lay.tensor_parallel,
            "pipelineParallelSize": lay.pipeline_parallel,
            "interTokenSeconds": round(self.capacity.step_seconds, 4) if self.capacity else None,
            "fabricShare": round(self.fabric_share, 4),
            "stages": [{"layers": s.layers, "weightsPerGpuGiB": round(s.weights_per_gpu_gib, 1),
                        "kvCachePerGpuGiB": round(max(0.0, s.kv_pool_gib), 1)} for s in self.fit.stages],
            "layoutChoice": self.layout_note,
        }


def model_plan(cfg: PlatformConfig, key: str, share: float) -> ModelPlan:
    model = cfg.models[key]
    arch = models_catalogue(cfg)[model.architecture]
    gpu = pool_gpu(cfg)
    lay = layout_of(cfg, model)
    fit = sizing.layout_fit(arch, gpu, lay, model.max_model_len, **fit_kwargs(model))
    capacity = carried_by(cfg, model, arch, gpu, lay, fit) if fit.fits else None
    peak = peak_requests_per_second(cfg, share)
    return ModelPlan(
        key=key, fit=fit,
        decode_tokens_per_second=capacity.output_tokens_per_second if capacity else 0.0,
        capacity=capacity, peak_requests_per_second=peak,
        replicas_needed=sizing.replicas_needed(peak, capacity), replicas_max=model.replicas.max,
        tensor_parallel=lay.tensor_parallel, layout=lay, layout_note=model.layout_note,
        measured_factor=model.measured_throughput_factor,
        ttft_seconds=sizing.layout_prefill_seconds(arch, gpu, lay, cfg.cost.avg_prompt_tokens, fabric(cfg),
                                                   model.quantization) if fit.fits else None,
    )


@dataclass(frozen=True)
class CapacityPlan:
    models: dict[str, ModelPlan]
    gpus_needed: int
    gpus_in_pool: int
    cost: sizing.CostSummary
    assumptions: str = ""
    """What the tokens/s estimates assume, in one paragraph."""
    cost_defaults: tuple[str, ...] = ()
    """The cost keys the stack does not set: their figures are the design document's, not the site's."""
    candidate_gpus: int = 0
    """GPUs of the models' candidates (canaries), included in ``gpus_needed``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": {k: p.to_dict() for k, p in self.models.items()},
            "gpusNeeded": self.gpus_needed,
            "gpusInPool": self.gpus_in_pool,
            "cost": self.cost.to_dict(),
            "assumptions": self.assumptions,
            "costDefaults": list(self.cost_defaults),
        }


def assumptions(cfg: PlatformConfig) -> str:
    c, net = cfg.cost, fabric(cfg)
    text = (f"predicted figures: tok/s is one replica's output at the largest batch (up to maxNumSeqs, and what the "
            f"KV cache holds of {c.avg_prompt_tokens}+{c.avg_output_tokens}-token requests) whose inter-token latency, "
            f"other requests' prefill included, stays within cost.itlTargetSeconds {c.itl_target_seconds:g} s; a "
            f"decode step is {sizing.STEP_FIXED_SECONDS * 1e3:g} ms + {sizing.LAYER_FIXED_SECONDS * 1e6:g} us per layer "
            f"plus its reads at {sizing.DECODE_BANDWIDTH_EFFICIENCY:.0%} of memory bandwidth and the tensor-parallel "
            f"all-reduces; prefill runs at {sizing.PREFILL_MFU:.0%} of the checkpoint's dense tensor rate. Against "
            f"published measurements the model is within {KNOWN_ERROR:.0%} (docs/capacity-and-cost.md)")
    if any(m.nodes_per_replica != 1 for m in cfg.models.values()):
        text += (f". Across nodes: pipeline stages run one after another with one micro-batch in flight per stage, "
                 f"each boundary sends 2 x batch x hidden activations; the fabric is gpuPool.interNodeGbps "
                 f"{net.gbps:g} Gbit/s at {net.efficiency:.0%} (NCCL over TCP) plus {net.latency_seconds * 1e6:.0f} us "
                 "per message; fabric is its share of the inter-token latency")
    return text


def plan(cfg: PlatformConfig) -> CapacityPlan:
    shares = traffic_shares(cfg)
    models = {key: model_plan(cfg, key, shares[key]) for key in cfg.models}
    cost = sizing.cost_summary(
        cfg.cost.capital_usd, cfg.cost.amortisation_years, cfg.cost.monthly_operations_usd, cfg.cost.requests_per_month,
        cfg.cost.avg_prompt_tokens + cfg.cost.avg_output_tokens, cfg.cost.cloud_price_per_request_usd,
    )
    gpus = sum(p.replicas_max * p.gpus_per_replica for p in models.values())
    # A canary's replicas hold a whole copy of the model each, whatever share of requests they receive.
    canaries = sum(m.candidate.replicas * models[k].gpus_per_replica for k, m in cfg.models.items() if m.candidate)
    return CapacityPlan(models, gpus + canaries, cfg.gpu_pool.total_gpus, cost, assumptions(cfg), cost_defaults(cfg),
                        canaries)


COST_FIGURES = ("capital_usd", "amortisation_years", "monthly_operations_usd", "requests_per_month",
                "cloud_price_per_request_usd")
"""The cost keys whose defaults are the design document's example hospital, not a measurement of any site."""


def cost_defaults(cfg: PlatformConfig) -> tuple[str, ...]:
    fields = type(cfg.cost).model_fields
    return tuple(f"cost.{fields[name].alias or name}" for name in COST_FIGURES if name not in cfg.cost.model_fields_set)


def _fraction(value: float) -> str:
    return f"{value:.1%}" if value >= 0.001 else "<0.1%"


@dataclass(frozen=True)
class GroupCharge:
    monthly_token_quota: int | None
    """None: the group has no quota and pays for what it uses."""
    monthly_cost_at_quota_usd: float | None


@dataclass(frozen=True)
class Chargeback:
    """What a group pays: its tokens (prompt plus completion) at the platform's cost per million tokens.

    The rate is the planned monthly total (capital amortised plus operations) over the planned tokens
    (cost.requestsPerMonth x (avgPromptTokens + avgOutputTokens)), so groups that together use the planned
    volume pay the platform's monthly total; less use leaves part of it unrecovered, more recovers more."""

    rate_per_million_tokens_usd: float | None
    planned_tokens_per_month: int
    groups: dict[str, GroupCharge]
    quotas_total_tokens: int
    """Sum of the groups' monthly quotas; above planned_tokens_per_month the quotas promise more than is planned."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ratePerMillionTokensUsd": None if self.rate_per_million_tokens_usd is None
            else round(self.rate_per_million_tokens_usd, 4),
            "plannedTokensPerMonth": self.planned_tokens_per_month,
            "quotasTotalTokens": self.quotas_total_tokens,
            "groups": {group: {"monthlyTokenQuota": c.monthly_token_quota,
                               "monthlyCostAtQuotaUsd": None if c.monthly_cost_at_quota_usd is None
                               else round(c.monthly_cost_at_quota_usd, 2)}
                       for group, c in sorted(self.groups.items())},
        }


def chargeback(cfg: PlatformConfig, capacity: CapacityPlan | None = None) -> Chargeback:
    """Monthly cost per group from the cost model's cost per million tokens; every admitted group is listed."""
    capacity = capacity or plan(cfg)
    rate = capacity.cost.cost_per_million_tokens_usd
    quotas = cfg.gateway.monthly_token_quotas
    groups = sorted({g for access in cfg.gateway.model_access.values() for g in access.groups} | set(quotas))
    charges = {}
    for group in groups:
        quota = quotas.get(group)
        at_quota = quota / 1e6 * rate if quota is not None and rate is not None else None
        charges[group] = GroupCharge(quota, at_quota)
    planned = cfg.cost.requests_per_month * (cfg.cost.avg_prompt_tokens + cfg.cost.avg_output_tokens)
    return Chargeback(rate, planned, charges, sum(quotas.values()))


def table(capacity: CapacityPlan) -> str:
    """The capacity table and cost summary as the preview prints them."""
    header = (f"{'model':<24}{'layout':>7}{'weights GiB':>12}{'KV GiB':>8}{'max seqs':>9}{'batch':>6}{'tok/s':>8}"
              f"{'fabric':>7}"
              f"{'peak rps':>9}{'replicas':>9}{'GPUs':>6}")
    lines = ["Capacity, predicted (per model; layout is nodes per replica x GPUs per node; tok/s is one replica at the "
             f"inter-token latency target; the model is within {KNOWN_ERROR:.0%} of published measurements):", header]
    notes = []
    for key, p in capacity.models.items():
        d = p.to_dict()
        needed = "-" if d["replicasNeeded"] is None else f"{d['replicasNeeded']}/{d['replicasMax']}"
        fabric_share = _fraction(p.fabric_share) if p.layout.multi_node and p.capacity else "-"
        lines.append(f"{key:<24}{p.layout.short:>7}{d['weightsGiB']:>12}{d['kvCacheGiB']:>8}"
                     f"{d['maxConcurrentSequences']:>9}{d['batch'] or '-':>6}{d['decodeTokensPerSecond']:>8}"
                     f"{fabric_share:>7}"
                     f"{d['peakRequestsPerSecond']:>9}{needed:>9}{d['gpus']:>6}")
        if p.layout.multi_node:
            itl = f", {p.capacity.step_seconds * 1000:.0f} ms per token" if p.capacity else ""
            notes.append(f"  {key}: {p.layout.describe()}, a LeaderWorkerSet group of {p.layout.nodes} pods{itl}")
            per_stage = p.layout.nodes // p.layout.pipeline_parallel
            for s in p.fit.stages:
                last = s.first_layer + s.layers - 1
                first_node = s.index * per_stage
                where = f"node {first_node}" if per_stage == 1 else f"nodes {first_node}-{first_node + per_stage - 1}"
                notes.append(f"    stage {s.index} ({where}): "
                             f"layers {s.first_layer}-{last}, weights {s.weights_per_gpu_gib:.1f} GiB and KV cache "
                             f"{max(0.0, s.kv_pool_gib):.1f} GiB per GPU ({s.kv_bytes_per_token_per_gpu / 1024:.0f} KiB "
                             f"per token), {s.kv_tokens} tokens")
        if p.layout_note:
            notes.append(f"  {key}: {p.layout_note}")
        if p.measured_factor is not None:
            notes.append(f"  {key}: measured, the plan scaled by models.{key}.measuredThroughputFactor "
                         f"{p.measured_factor:g} from the site's benchmark")
    lines += notes
    canaries = f" (candidates {capacity.candidate_gpus})" if capacity.candidate_gpus else ""
    lines.append(f"GPUs: {capacity.gpus_needed} needed at replicas.max{canaries}, {capacity.gpus_in_pool} in the pool")
    if capacity.assumptions:
        lines.append(f"Assumptions: {capacity.assumptions}")
    c = capacity.cost
    per_request = "n/a" if c.cost_per_request_usd is None else f"${c.cost_per_request_usd:.4f}"
    per_million = "n/a" if c.cost_per_million_tokens_usd is None else f"${c.cost_per_million_tokens_usd:.2f}"
    break_even = "n/a" if c.break_even_requests_per_month is None else f"{c.break_even_requests_per_month:,.0f}"
    lines += [
        "Cost (capital amortised plus operations):",
        f"  per month ${c.monthly_total_usd:,.0f} (capital ${c.monthly_capital_usd:,.0f} + operations "
        f"${c.monthly_operations_usd:,.0f}); per request {per_request}; per million tokens {per_million}",
        f"  break-even against the cloud price: {break_even} requests per month",
    ]
    if capacity.cost_defaults:
        lines.append(f"  not this site's figures: {', '.join(capacity.cost_defaults)} are the design document's "
                     "defaults; set them in the stack file")
    return "\n".join(lines) + "\n"
