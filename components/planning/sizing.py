"""Sizing: pure functions, no Pulumi. Used by config validation, components and reports.

Memory: weights by dtype, KV cache per token, and what remains of each GPU's budget under
``gpu_memory_utilization`` across the tensor-parallel group. Throughput: a bandwidth-bound decode
roofline (with one calibrated efficiency factor) and a compute-bound prefill. Capacity: replicas for
a request rate at a latency target. Cost: amortised capital plus operations per request and per
million tokens, and the break-even volume against a cloud price. GiB = 2**30 bytes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

GIB = 2**30
KIB = 2**10


@dataclass(frozen=True)
class ModelArch:
    """Architecture facts from the model's config.json."""

    params_billion: float
    layers: int
    hidden: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int
    sliding_window: int | None = None


@dataclass(frozen=True)
class Gpu:
    memory_gib: float
    """Memory visible to CUDA."""
    bandwidth_tbps: float
    """HBM/GDDR bandwidth, TB/s (10**12 bytes)."""
    bf16_tflops: float
    """Dense BF16 tensor throughput; never the sparse figure."""


MODELS: dict[str, ModelArch] = {
    "llama-2-7b": ModelArch(6.74, 32, 4096, 32, 32, 128, 4096),
    "llama-2-13b": ModelArch(13.02, 40, 5120, 40, 40, 128, 4096),
    "llama-2-70b": ModelArch(68.98, 80, 8192, 64, 8, 128, 4096),
    "mistral-7b": ModelArch(7.24, 32, 4096, 32, 8, 128, 32768, sliding_window=4096),
    "llama-3.1-8b": ModelArch(8.03, 32, 4096, 32, 8, 128, 131072),
    "llama-3.1-70b": ModelArch(70.55, 80, 8192, 64, 8, 128, 131072),
}

GPUS: dict[str, Gpu] = {
    "A10": Gpu(22.5, 0.600, 125),
    "L4": Gpu(22.5, 0.300, 121),
    "L40S": Gpu(45.0, 0.864, 362),
    "A100-40GB": Gpu(39.5, 1.555, 312),
    # PCIe bandwidth; the SXM part reads 2.039 TB/s.
    "A100-80GB": Gpu(79.2, 1.935, 312),
    "H100-PCIe": Gpu(79.6, 2.0, 756),
    "H100-SXM": Gpu(79.6, 3.35, 989),
    "H200": Gpu(140.4, 4.8, 989),
}

DECODE_BANDWIDTH_EFFICIENCY = 0.6
"""Share of spec bandwidth decode achieves. Calibrated on measured H200 decode steps (55-74 % of spec
for plain kernels); the measured table in the sizing reference lands within 25 % with it."""
PREFILL_MFU = 0.5
"""Model FLOP utilisation of prefill."""


def weight_bytes_per_param(dtype: str, quantization: str | None) -> float:
    if quantization in ("awq", "gptq"):
        # 4-bit weights; embeddings, lm_head and scales stay 16-bit: budget about 7 % on top.
        return 0.5 * 1.07
    if quantization in ("fp8", "compressed-tensors"):
        return 1.0
    return 2.0  # auto, bfloat16, float16


def kv_bytes_per_element(kv_cache_dtype: str) -> int:
    return 1 if kv_cache_dtype == "fp8" else 2


def weights_gib(arch: ModelArch, dtype: str = "auto", quantization: str | None = None) -> float:
    return arch.params_billion * 1e9 * weight_bytes_per_param(dtype, quantization) / GIB


def kv_bytes_per_token(arch: ModelArch, kv_cache_dtype: str = "auto") -> int:
    """K and V for every layer and KV head (GQA uses KV heads, not query heads)."""
    return 2 * arch.layers * arch.kv_heads * arch.head_dim * kv_bytes_per_element(kv_cache_dtype)


def overhead_gib(arch: ModelArch) -> float:
    """CUDA context, activations, NCCL buffers and CUDA graphs per GPU."""
    return 2.0 if arch.params_billion < 20 else 3.0


def valid_tensor_parallel(arch: ModelArch, tp: int) -> bool:
    return tp >= 1 and (tp & (tp - 1)) == 0 and arch.attention_heads % tp == 0


@dataclass(frozen=True)
class MemoryFit:
    tensor_parallel: int
    budget_gib: float
    """Per GPU: memory x gpu_memory_utilization."""
    weights_gib: float
    """Whole model."""
    weights_per_gpu_gib: float
    overhead_gib: float
    kv_pool_gib: float
    """Per GPU, what remains for the KV cache (negative when the weights do not fit)."""
    kv_bytes_per_token: int
    kv_tokens: int
    """Tokens the KV pool holds across the group."""
    sequence_tokens: int
    """KV tokens one max-length sequence needs (capped by a sliding window)."""
    max_concurrent_sequences: int

    @property
    def weights_fit(self) -> bool:
        return self.kv_pool_gib > 0

    @property
    def fits(self) -> bool:
        return self.weights_fit and self.kv_tokens >= self.sequence_tokens

    def kv_gib_total(self) -> float:
        return self.kv_pool_gib * self.tensor_parallel


def memory_fit(arch: ModelArch, gpu: Gpu, tp: int, max_model_len: int, gpu_memory_utilization: float = 0.9,
               dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto",
               max_num_seqs: int = 256) -> MemoryFit:
    budget = gpu.memory_gib * gpu_memory_utilization
    weights = weights_gib(arch, dtype, quantization)
    per_gpu = weights / tp
    overhead = overhead_gib(arch)
    pool = budget - per_gpu - overhead
    per_token = kv_bytes_per_token(arch, kv_cache_dtype)
    # Beyond the KV-head count, KV heads are replicated and per-GPU KV stops shrinking.
    per_token_per_gpu = per_token / min(tp, arch.kv_heads)
    tokens = max(0, int(pool * GIB / per_token_per_gpu)) if pool > 0 else 0
    sequence = min(max_model_len, arch.sliding_window or max_model_len)
    concurrent = min(max_num_seqs, tokens // sequence) if sequence else 0
    return MemoryFit(tp, budget, weights, per_gpu, overhead, pool, per_token, tokens, sequence, concurrent)


def smallest_fitting_tp(arch: ModelArch, gpu: Gpu, max_model_len: int, limit: int = 8, **kwargs: Any) -> int | None:
    for tp in (1, 2, 4, 8):
        if tp <= limit and valid_tensor_parallel(arch, tp) and memory_fit(arch, gpu, tp, max_model_len, **kwargs).fits:
            return tp
    return None


# -- throughput -----------------------------------------------------------------------------------


def decode_step_seconds(arch: ModelArch, gpu: Gpu, tp: int, batch: int, context_tokens: int,
                        dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto") -> float:
    """One decode step reads every weight once and each sequence's KV cache; bandwidth-bound."""
    weights = weights_gib(arch, dtype, quantization) * GIB
    kv = batch * min(context_tokens, arch.sliding_window or context_tokens) * kv_bytes_per_token(arch, kv_cache_dtype)
    per_gpu_bytes = weights / tp + kv / min(tp, arch.kv_heads)
    return per_gpu_bytes / (gpu.bandwidth_tbps * 1e12 * DECODE_BANDWIDTH_EFFICIENCY)


def decode_tokens_per_second(arch: ModelArch, gpu: Gpu, tp: int, batch: int, context_tokens: int, **kwargs: Any) -> float:
    return batch / decode_step_seconds(arch, gpu, tp, batch, context_tokens, **kwargs)


def prefill_seconds(arch: ModelArch, gpu: Gpu, tp: int, prompt_tokens: int) -> float:
    """Compute-bound: about 2 FLOP per parameter per prompt token."""
    return 2 * arch.params_billion * 1e9 * prompt_tokens / (tp * gpu.bf16_tflops * 1e12 * PREFILL_MFU)


@dataclass(frozen=True)
class ReplicaCapacity:
    batch: int
    """Concurrent requests per replica at which the inter-token latency target still holds."""
    step_seconds: float
    request_seconds: float
    """Prefill plus every output token at that batch."""
    requests_per_second: float
    output_tokens_per_second: float


def replica_capacity(arch: ModelArch, gpu: Gpu, tp: int, prompt_tokens: int, output_tokens: int,
                     itl_target_seconds: float, max_batch: int, **kwargs: Any) -> ReplicaCapacity | None:
    """The largest batch whose decode step stays within the inter-token latency target (Little's law
    then gives requests per second). None when even one sequence decodes slower than the target."""
    context = prompt_tokens + output_tokens // 2
    best = None
    for batch in range(1, max(1, max_batch) + 1):
        step = decode_step_seconds(arch, gpu, tp, batch, context, **kwargs)
        if step > itl_target_seconds:
            break
        best = batch, step
    if best is None:
        return None
    batch, step = best
    request = prefill_seconds(arch, gpu, tp, prompt_tokens) + output_tokens * step
    return ReplicaCapacity(batch, step, request, batch / request, batch / step)


def replicas_needed(peak_requests_per_second: float, capacity: ReplicaCapacity | None) -> int | None:
    if capacity is None:
        return None
    return max(1, math.ceil(peak_requests_per_second / capacity.requests_per_second))


# -- cost -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostSummary:
    monthly_capital_usd: float
    monthly_operations_usd: float
    monthly_total_usd: float
    requests_per_month: int
    cost_per_request_usd: float | None
    operations_only_per_request_usd: float | None
    """What the design document called the cost per inference: capital left out."""
    cost_per_million_tokens_usd: float | None
    break_even_requests_per_month: float | None
    """Volume at which the cloud price per request equals the on-prem monthly total."""
    cloud_monthly_usd: float

    def to_dict(self) -> dict[str, Any]:
        """camelCase keys, as stack outputs and reports carry them."""
        return {_camel(k): (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def cost_summary(capital_usd: float, amortisation_years: int, monthly_operations_usd: float, requests_per_month: int,
                 tokens_per_request: float, cloud_price_per_request_usd: float) -> CostSummary:
    capital = capital_usd / (amortisation_years * 12)
    total = capital + monthly_operations_usd
    per_request = total / requests_per_month if requests_per_month else None
    ops_only = monthly_operations_usd / requests_per_month if requests_per_month else None
    tokens = requests_per_month * tokens_per_request
    per_million = total / (tokens / 1e6) if tokens else None
    break_even = total / cloud_price_per_request_usd if cloud_price_per_request_usd else None
    return CostSummary(capital, monthly_operations_usd, total, requests_per_month, per_request, ops_only, per_million,
                       break_even, requests_per_month * cloud_price_per_request_usd)


# -- pod sizing -----------------------------------------------------------------------------------


def shm_gib(tensor_parallel_size: int) -> int:
    """/dev/shm for one vLLM replica: NCCL needs several GiB once tensor parallelism spans GPUs."""
    if tensor_parallel_size == 1:
        return 2
    return min(20, 4 * tensor_parallel_size)


def startup_failure_threshold(startup_timeout_seconds: int, period_seconds: int = 10) -> int:
    """Startup probe failures allowed so the probe budget covers the configured load time."""
    return -(-startup_timeout_seconds // period_seconds)
