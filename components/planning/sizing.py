"""Sizing: pure functions, no Pulumi. Used by config validation, components and reports.

Memory: weights by dtype, KV cache per token, and what remains of each GPU's budget under
``gpu_memory_utilization`` across the tensor-parallel group and, for a replica that spans nodes,
per pipeline stage. Throughput: a bandwidth-bound decode roofline (with one calibrated efficiency
factor) and a compute-bound prefill; across nodes, the pipeline's stages run one after another and
exchange activations over the inter-node fabric, and tensor parallelism across nodes all-reduces
over it twice per layer. Capacity: replicas for a request rate at a latency target. Cost: amortised
capital plus operations per request and per million tokens, and the break-even volume against a
cloud price. GiB = 2**30 bytes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
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
    vocab: int | None = None
    """Vocabulary size: the embeddings sit on the first pipeline stage and lm_head on the last. None: spread
    with the layers."""


@dataclass(frozen=True)
class Gpu:
    memory_gib: float
    """Memory visible to CUDA."""
    bandwidth_tbps: float
    """HBM/GDDR bandwidth, TB/s (10**12 bytes)."""
    bf16_tflops: float
    """Dense BF16 tensor throughput; never the sparse figure."""


MODELS: dict[str, ModelArch] = {
    "llama-2-7b": ModelArch(6.74, 32, 4096, 32, 32, 128, 4096, vocab=32000),
    "llama-2-13b": ModelArch(13.02, 40, 5120, 40, 40, 128, 4096, vocab=32000),
    "llama-2-70b": ModelArch(68.98, 80, 8192, 64, 8, 128, 4096, vocab=32000),
    "mistral-7b": ModelArch(7.24, 32, 4096, 32, 8, 128, 32768, sliding_window=4096, vocab=32000),
    "llama-3.1-8b": ModelArch(8.03, 32, 4096, 32, 8, 128, 131072, vocab=128256),
    "llama-3.1-70b": ModelArch(70.55, 80, 8192, 64, 8, 128, 131072, vocab=128256),
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
    pipeline_parallel: int = 1
    stages: tuple[StageFit, ...] = ()
    """Per pipeline stage (one entry without pipeline parallelism): layers, weights and KV per GPU."""

    @property
    def weights_fit(self) -> bool:
        return self.kv_pool_gib > 0

    @property
    def fits(self) -> bool:
        return self.weights_fit and self.kv_tokens >= self.sequence_tokens

    def kv_gib_total(self) -> float:
        """KV cache allocated across the replica's GPUs: every stage holds the same number of tokens, since
        vLLM allocates the block count the tightest stage allows on every worker."""
        if self.pipeline_parallel == 1:
            return self.kv_pool_gib * self.tensor_parallel
        return sum(self.kv_tokens * s.kv_bytes_per_token_per_gpu / GIB for s in self.stages) * self.tensor_parallel


@dataclass(frozen=True)
class StageFit:
    """One pipeline stage: a run of consecutive layers on its own node (or the whole model on one)."""

    index: int
    first_layer: int
    layers: int
    weights_per_gpu_gib: float
    kv_pool_gib: float
    """Per GPU, what remains for the KV cache."""
    kv_bytes_per_token_per_gpu: float
    """This stage's layers' K and V for one token, per GPU of the stage's tensor-parallel group."""
    kv_tokens: int
    """Tokens this stage's KV pool holds."""


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


# -- layouts across nodes -------------------------------------------------------------------------

MAX_NODES_PER_REPLICA = 16
"""Most nodes one replica may span (pipeline stages, or a tensor-parallel group across nodes)."""


@dataclass(frozen=True)
class Layout:
    """How one replica sits on the GPU nodes: ``nodes`` pods of ``gpus_per_node`` GPUs each.

    Tensor parallelism (``--tensor-parallel-size``) stays within a node while it is at most the GPUs
    each pod holds; the nodes then form a pipeline (``--pipeline-parallel-size`` = nodes), as vLLM's
    multi-node guide recommends. A tensor-parallel size above the GPUs of one node spans nodes, and
    the pipeline has nodes x GPUs / tensor-parallel stages.
    """

    tensor_parallel: int
    pipeline_parallel: int
    nodes: int
    gpus_per_node: int

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def multi_node(self) -> bool:
        return self.nodes > 1

    @property
    def tensor_parallel_across_nodes(self) -> bool:
        return self.tensor_parallel > self.gpus_per_node

    def nodes_needed(self, gpus_per_node: int) -> int:
        """Fewest GPU nodes of ``gpus_per_node`` GPUs that hold one replica's pods (several per node when they fit)."""
        return -(-self.nodes // max(1, gpus_per_node // self.gpus_per_node))

    def describe(self) -> str:
        """``2 nodes x 1 GPU (pipeline 2, tensor 1)``."""
        nodes = f"{self.nodes} node{'s' if self.nodes > 1 else ''}"
        gpus = f"{self.gpus_per_node} GPU{'s' if self.gpus_per_node > 1 else ''}"
        return f"{nodes} x {gpus} (pipeline {self.pipeline_parallel}, tensor {self.tensor_parallel})"

    @property
    def short(self) -> str:
        """``2x1``: nodes per replica x GPUs per node."""
        return f"{self.nodes}x{self.gpus_per_node}"


def layout_problem(arch: ModelArch | None, tensor_parallel: int, nodes: int, gpus_per_node: int) -> str | None:
    """Why a tensor-parallel size and node count do not form a layout on nodes of ``gpus_per_node`` GPUs."""
    if nodes == 1 and tensor_parallel > gpus_per_node:
        return "one node"
    per_node = min(tensor_parallel, gpus_per_node)
    if tensor_parallel > gpus_per_node and tensor_parallel % gpus_per_node:
        return (f"a tensor-parallel group across nodes must fill whole nodes: {tensor_parallel} is not a multiple of "
                f"{gpus_per_node} GPUs per node")
    if (nodes * per_node) % tensor_parallel:
        return (f"{nodes} nodes x {per_node} GPUs do not divide into tensor-parallel groups of {tensor_parallel}")
    if arch is not None and (nodes * per_node) // tensor_parallel > arch.layers:
        return f"a pipeline of {(nodes * per_node) // tensor_parallel} stages exceeds the model's {arch.layers} layers"
    return None


def layout(tensor_parallel: int, nodes: int, gpus_per_node: int) -> Layout:
    """The layout of ``nodes`` pods with tensor parallelism ``tensor_parallel`` on nodes of ``gpus_per_node`` GPUs.

    Callers check :func:`layout_problem` first; an impossible combination still yields a layout (with a
    pipeline of at least one stage) so that reports can show what was asked.
    """
    per_node = min(tensor_parallel, gpus_per_node)
    return Layout(tensor_parallel, max(1, (nodes * per_node) // tensor_parallel), nodes, per_node)


def stage_layers(layers: int, pipeline_parallel: int) -> tuple[int, ...]:
    """Layers per pipeline stage as vLLM splits them (``get_pp_indices``): evenly, the remainder one layer each
    to the stages before the last, from the one before it backwards (the last stage also holds lm_head)."""
    parts = [layers // pipeline_parallel] * pipeline_parallel
    for i in range(2, layers % pipeline_parallel + 2):
        parts[-i] += 1
    return tuple(parts)


def _stage_params(arch: ModelArch, pipeline_parallel: int) -> list[tuple[int, int, float]]:
    """(first layer, layers, parameters) per stage: the embedding on the first, lm_head on the last."""
    embedding = (arch.vocab or 0) * arch.hidden
    per_layer = (arch.params_billion * 1e9 - 2 * embedding) / arch.layers
    stages, first = [], 0
    parts = stage_layers(arch.layers, pipeline_parallel)
    for index, layers in enumerate(parts):
        params = layers * per_layer + (embedding if index == 0 else 0) + (embedding if index == len(parts) - 1 else 0)
        stages.append((first, layers, params))
        first += layers
    return stages


def stage_kv_bytes_per_token(arch: ModelArch, layers: int, kv_cache_dtype: str = "auto") -> int:
    return 2 * layers * arch.kv_heads * arch.head_dim * kv_bytes_per_element(kv_cache_dtype)


def layout_fit(arch: ModelArch, gpu: Gpu, lay: Layout, max_model_len: int, gpu_memory_utilization: float = 0.9,
               dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto",
               max_num_seqs: int = 256) -> MemoryFit:
    """Memory of one replica laid out as ``lay``: each stage's weights and KV cache on its own GPUs.

    Without pipeline parallelism this is :func:`memory_fit` (one stage). With it, every stage holds its
    layers' weights and their KV cache; vLLM allocates on every worker the KV blocks the tightest stage
    has room for, so the replica holds the smallest stage's token count.
    """
    tp = lay.tensor_parallel
    if lay.pipeline_parallel == 1:
        fit = memory_fit(arch, gpu, tp, max_model_len, gpu_memory_utilization, dtype, quantization, kv_cache_dtype,
                         max_num_seqs)
        per_token = fit.kv_bytes_per_token / min(tp, arch.kv_heads)
        stage = StageFit(0, 0, arch.layers, fit.weights_per_gpu_gib, fit.kv_pool_gib, per_token, fit.kv_tokens)
        return replace(fit, stages=(stage,))
    budget = gpu.memory_gib * gpu_memory_utilization
    bytes_per_param = weight_bytes_per_param(dtype, quantization)
    overhead = overhead_gib(arch)
    stages = []
    for index, (first, layers, params) in enumerate(_stage_params(arch, lay.pipeline_parallel)):
        per_gpu = params * bytes_per_param / GIB / tp
        pool = budget - per_gpu - overhead
        per_token = stage_kv_bytes_per_token(arch, layers, kv_cache_dtype) / min(tp, arch.kv_heads)
        tokens = max(0, int(pool * GIB / per_token)) if pool > 0 else 0
        stages.append(StageFit(index, first, layers, per_gpu, pool, per_token, tokens))
    tokens = min(s.kv_tokens for s in stages)
    sequence = min(max_model_len, arch.sliding_window or max_model_len)
    concurrent = min(max_num_seqs, tokens // sequence) if sequence else 0
    return MemoryFit(
        tp, budget, weights_gib(arch, dtype, quantization), max(s.weights_per_gpu_gib for s in stages), overhead,
        min(s.kv_pool_gib for s in stages), kv_bytes_per_token(arch, kv_cache_dtype), tokens, sequence, concurrent,
        lay.pipeline_parallel, tuple(stages),
    )


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
    fabric_seconds: float = 0.0
    """Of ``step_seconds``, the time spent on the inter-node fabric (0 within one node)."""

    @property
    def fabric_share(self) -> float:
        return self.fabric_seconds / self.step_seconds if self.step_seconds else 0.0


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


# -- throughput across nodes ----------------------------------------------------------------------

INTER_NODE_EFFICIENCY = 0.7
"""Share of the link's bandwidth NCCL reaches over its socket transport between node VMs (TCP, no RDMA)."""
INTER_NODE_LATENCY_SECONDS = 50e-6
"""Time one NCCL message takes between two node VMs before its bytes count: NCCL's socket transport (the
platform's pods have no RDMA, which needs IPC_LOCK), the TCP stacks of both guests, the virtual switches
and the physical hop. An assumption, not a measurement; nccl-tests between two GPU nodes gives the real one."""
ACTIVATION_BYTES = 2
"""bf16/fp16 activations, whatever the weights' quantization."""
MAX_TP_FABRIC_SHARE = 0.2
"""Tensor parallelism across nodes is refused when its all-reduces take more of a decode step than this."""


@dataclass(frozen=True)
class Fabric:
    """The network between GPU node VMs that a replica's pods talk over."""

    gbps: float
    efficiency: float = INTER_NODE_EFFICIENCY
    latency_seconds: float = INTER_NODE_LATENCY_SECONDS

    def seconds(self, nbytes: float) -> float:
        """One message of ``nbytes`` from one node to another."""
        return self.latency_seconds + nbytes / (self.gbps * 1e9 / 8 * self.efficiency)

    def all_reduce_seconds(self, nbytes: float, ranks: int) -> float:
        """A ring all-reduce of ``nbytes`` per rank over ``ranks`` ranks: 2 (ranks - 1) steps of nbytes / ranks."""
        return 2 * (ranks - 1) * self.seconds(nbytes / ranks) if ranks > 1 else 0.0


@dataclass(frozen=True)
class DecodeStep:
    seconds: float
    """One token for every sequence of a micro-batch, through every stage: the inter-token latency."""
    fabric_seconds: float
    """Of which on the inter-node fabric: activations between stages, all-reduces of a group across nodes."""


def _stage_read_seconds(arch: ModelArch, gpu: Gpu, tp: int, layers: int, params: float, batch: int, context: int,
                        dtype: str, quantization: str | None, kv_cache_dtype: str) -> float:
    weights = params * weight_bytes_per_param(dtype, quantization)
    kv = batch * min(context, arch.sliding_window or context) * stage_kv_bytes_per_token(arch, layers, kv_cache_dtype)
    return (weights / tp + kv / min(tp, arch.kv_heads)) / (gpu.bandwidth_tbps * 1e12 * DECODE_BANDWIDTH_EFFICIENCY)


def decode_step(arch: ModelArch, gpu: Gpu, lay: Layout, micro_batch: int, context_tokens: int, fabric: Fabric | None,
                dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto") -> DecodeStep:
    """One decode step of a micro-batch through the replica.

    The stages run one after another, each bandwidth-bound on its own weights and KV cache, and each
    boundary sends the micro-batch's hidden states and residual (2 x batch x hidden activations) to the
    next node. A tensor-parallel group that spans nodes all-reduces twice per layer over the fabric.
    Within one node the step is :func:`decode_step_seconds`.
    """
    if not lay.multi_node:
        return DecodeStep(decode_step_seconds(arch, gpu, lay.tensor_parallel, micro_batch, context_tokens, dtype,
                                              quantization, kv_cache_dtype), 0.0)
    fabric = fabric or Fabric(100)
    tp = lay.tensor_parallel
    compute = fabric_time = 0.0
    for _, layers, params in _stage_params(arch, lay.pipeline_parallel):
        compute += _stage_read_seconds(arch, gpu, tp, layers, params, micro_batch, context_tokens, dtype, quantization,
                                       kv_cache_dtype)
        if lay.tensor_parallel_across_nodes:
            fabric_time += 2 * layers * fabric.all_reduce_seconds(micro_batch * arch.hidden * ACTIVATION_BYTES, tp)
    fabric_time += (lay.pipeline_parallel - 1) * fabric.seconds(2 * micro_batch * arch.hidden * ACTIVATION_BYTES)
    return DecodeStep(compute + fabric_time, fabric_time)


def layout_prefill_seconds(arch: ModelArch, gpu: Gpu, lay: Layout, prompt_tokens: int, fabric: Fabric | None) -> float:
    """Prefill of one prompt: compute-bound on each stage in turn, plus its activations across the fabric."""
    seconds = prefill_seconds(arch, gpu, lay.tensor_parallel, prompt_tokens)
    if not lay.multi_node:
        return seconds
    fabric = fabric or Fabric(100)
    activations = prompt_tokens * arch.hidden * ACTIVATION_BYTES
    seconds += (lay.pipeline_parallel - 1) * fabric.seconds(2 * activations)
    if lay.tensor_parallel_across_nodes:
        seconds += 2 * arch.layers * fabric.all_reduce_seconds(activations, lay.tensor_parallel)
    return seconds


def layout_capacity(arch: ModelArch, gpu: Gpu, lay: Layout, prompt_tokens: int, output_tokens: int,
                    itl_target_seconds: float, max_concurrent: int, fabric: Fabric | None,
                    **kwargs: Any) -> ReplicaCapacity | None:
    """:func:`replica_capacity` for a replica across nodes.

    vLLM keeps one micro-batch in flight per pipeline stage, so ``c`` concurrent sequences run as
    ``min(pp, c)`` micro-batches of ``ceil(c / pp)``: each stage works on one of them while the others
    are on the other stages. A sequence gets its next token once its micro-batch has passed every
    stage, so the inter-token latency is one full pass, and the replica turns out ``c`` tokens per pass.
    """
    if not lay.multi_node:
        return replica_capacity(arch, gpu, lay.tensor_parallel, prompt_tokens, output_tokens, itl_target_seconds,
                                max_batch=max_concurrent, **kwargs)
    context = prompt_tokens + output_tokens // 2

    def step_at(concurrent: int) -> DecodeStep:
        return decode_step(arch, gpu, lay, -(-concurrent // min(lay.pipeline_parallel, concurrent)), context, fabric,
                           **kwargs)

    # The step grows with the concurrency, so the largest one within the target is found by bisection.
    low, high = 0, max(1, max_concurrent)
    while low < high:
        middle = (low + high + 1) // 2
        if step_at(middle).seconds <= itl_target_seconds:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return None
    concurrent, step = low, step_at(low)
    request = layout_prefill_seconds(arch, gpu, lay, prompt_tokens, fabric) + output_tokens * step.seconds
    return ReplicaCapacity(concurrent, step.seconds, request, concurrent / request, concurrent / step.seconds,
                           step.fabric_seconds)


def tensor_parallel_fabric_share(arch: ModelArch, gpu: Gpu, lay: Layout, batch: int, context_tokens: int,
                                 fabric: Fabric, **kwargs: Any) -> float:
    """Share of a decode step a tensor-parallel group across nodes spends all-reducing over the fabric."""
    step = decode_step(arch, gpu, lay, max(1, -(-batch // lay.pipeline_parallel)), context_tokens, fabric, **kwargs)
    return step.fabric_seconds / step.seconds if step.seconds else 0.0


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


RAY_OBJECT_STORE_GIB = 1
"""Ray's object store in each pod of a replica across nodes; it lives in /dev/shm. vLLM passes tensors
over NCCL, not through the object store, so 1 GiB (Ray's minimum is 75 MB) is plenty."""


def group_pod_shm_gib(gpus_per_pod: int) -> int:
    """/dev/shm of one pod of a replica across nodes: NCCL's, plus Ray's object store."""
    return shm_gib(gpus_per_pod) + RAY_OBJECT_STORE_GIB


def startup_failure_threshold(startup_timeout_seconds: int, period_seconds: int = 10) -> int:
    """Startup probe failures allowed so the probe budget covers the configured load time."""
    return -(-startup_timeout_seconds // period_seconds)
