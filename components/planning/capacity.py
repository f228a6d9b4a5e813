"""The stack's capacity and cost plan: the sizing functions applied to its config.

Config validation refuses what the plan shows cannot work; the preview prints the plan and the stack
exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.config.model import ModelConfig, PlatformConfig
from components.planning import sizing, vgpu

SECONDS_PER_MONTH = 30 * 24 * 3600


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
    return sizing.Gpu(card.memory_gib * fraction, card.bandwidth_tbps * fraction, card.bf16_tflops * fraction)


def fit_kwargs(model: ModelConfig) -> dict[str, Any]:
    return {"gpu_memory_utilization": model.gpu_memory_utilization, "dtype": model.dtype,
            "quantization": model.quantization, "kv_cache_dtype": model.kv_cache_dtype, "max_num_seqs": model.max_num_seqs}


def traffic_shares(cfg: PlatformConfig) -> dict[str, float]:
    fixed = {k: m.traffic_share for k, m in cfg.models.items() if m.traffic_share is not None}
    rest = [k for k in cfg.models if k not in fixed]
    remaining = max(0.0, 1.0 - sum(fixed.values()))
    return {**fixed, **{k: remaining / len(rest) for k in rest}}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "weightsGiB": round(self.fit.weights_gib, 1),
            "kvCacheGiB": round(max(0.0, self.fit.kv_gib_total()), 1),
            "kvTokens": self.fit.kv_tokens,
            "maxConcurrentSequences": self.fit.max_concurrent_sequences,
            "decodeTokensPerSecond": round(self.decode_tokens_per_second),
            "peakRequestsPerSecond": round(self.peak_requests_per_second, 3),
            "replicasNeeded": self.replicas_needed,
            "replicasMax": self.replicas_max,
            "gpus": self.replicas_max * self.tensor_parallel,
        }


def model_plan(cfg: PlatformConfig, key: str, share: float) -> ModelPlan:
    model = cfg.models[key]
    arch = models_catalogue(cfg)[model.architecture]
    gpu = pool_gpu(cfg)
    tp, kwargs = model.tensor_parallel_size, fit_kwargs(model)
    fit = sizing.memory_fit(arch, gpu, tp, model.max_model_len, **kwargs)
    decode_kwargs = {k: kwargs[k] for k in ("dtype", "quantization", "kv_cache_dtype")}
    capacity = sizing.replica_capacity(
        arch, gpu, tp, cfg.cost.avg_prompt_tokens, cfg.cost.avg_output_tokens, cfg.cost.itl_target_seconds,
        max_batch=max(1, fit.max_concurrent_sequences), **decode_kwargs,
    ) if fit.fits else None
    peak = cfg.cost.requests_per_month * share / SECONDS_PER_MONTH * cfg.cost.peak_to_average
    return ModelPlan(
        key=key, fit=fit,
        decode_tokens_per_second=capacity.output_tokens_per_second if capacity else 0.0,
        capacity=capacity, peak_requests_per_second=peak,
        replicas_needed=sizing.replicas_needed(peak, capacity), replicas_max=model.replicas.max, tensor_parallel=tp,
    )


@dataclass(frozen=True)
class CapacityPlan:
    models: dict[str, ModelPlan]
    gpus_needed: int
    gpus_in_pool: int
    cost: sizing.CostSummary

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": {k: p.to_dict() for k, p in self.models.items()},
            "gpusNeeded": self.gpus_needed,
            "gpusInPool": self.gpus_in_pool,
            "cost": self.cost.to_dict(),
        }


def plan(cfg: PlatformConfig) -> CapacityPlan:
    shares = traffic_shares(cfg)
    models = {key: model_plan(cfg, key, shares[key]) for key in cfg.models}
    cost = sizing.cost_summary(
        cfg.cost.capital_usd, cfg.cost.amortisation_years, cfg.cost.monthly_operations_usd, cfg.cost.requests_per_month,
        cfg.cost.avg_prompt_tokens + cfg.cost.avg_output_tokens, cfg.cost.cloud_price_per_request_usd,
    )
    gpus = sum(p.replicas_max * p.tensor_parallel for p in models.values())
    return CapacityPlan(models, gpus, cfg.gpu_pool.total_gpus, cost)


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
    header = f"{'model':<24}{'weights GiB':>12}{'KV GiB':>8}{'max seqs':>9}{'tok/s':>8}{'peak rps':>9}{'replicas':>9}{'GPUs':>6}"
    lines = ["Capacity (per model; tok/s is one replica at the inter-token latency target):", header]
    for key, p in capacity.models.items():
        d = p.to_dict()
        needed = "-" if d["replicasNeeded"] is None else f"{d['replicasNeeded']}/{d['replicasMax']}"
        lines.append(f"{key:<24}{d['weightsGiB']:>12}{d['kvCacheGiB']:>8}{d['maxConcurrentSequences']:>9}"
                     f"{d['decodeTokensPerSecond']:>8}{d['peakRequestsPerSecond']:>9}{needed:>9}{d['gpus']:>6}")
    lines.append(f"GPUs: {capacity.gpus_needed} needed at replicas.max, {capacity.gpus_in_pool} in the pool")
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
    return "\n".join(lines) + "\n"
