"""Sizing: pure functions, no Pulumi. Used by config validation, components and reports.

Memory: weights by dtype (embeddings and lm_head stay 16-bit in quantized checkpoints), KV cache per
token, a runtime allowance that grows with the model and the profiled batch, and what remains of each
GPU's budget under ``gpu_memory_utilization`` across the tensor-parallel group and, for a replica that
spans nodes, per pipeline stage. Throughput: a decode step is a fixed time (scheduler, sampling and the
kernels' floor per layer) plus the bytes it reads at a fitted share of spec bandwidth (or its FLOPs,
whichever is slower), plus the all-reduces of tensor parallelism over the node's interconnect, plus the
prefill chunks of other requests that chunked prefill mixes into decode steps. Prefill runs at the
dtype's dense tensor rate (FP8 and INT8 where the GPU has them). The constants are fitted to published
measurements (tests/test_sizing.py keeps the table). Across nodes, the pipeline's stages run one after
another and exchange activations over the inter-node fabric, and tensor parallelism across nodes
all-reduces over it twice per layer. Capacity: replicas for a request rate at a latency target. Cost: amortised
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
    ffn: int | None = None
    """intermediate_size of the MLP: sizes the activation peak vLLM profiles. None: 3.5 x hidden."""
    tied_embeddings: bool = False
    """tie_word_embeddings: lm_head shares the embedding matrix."""

    @property
    def embedding_params(self) -> float:
        """Parameters of the embeddings and lm_head, which quantized checkpoints keep at 16 bits."""
        return (self.vocab or 0) * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def intermediate(self) -> int:
        return self.ffn or int(3.5 * self.hidden)


@dataclass(frozen=True)
class Gpu:
    memory_gib: float
    """Memory visible to CUDA."""
    bandwidth_tbps: float
    """HBM/GDDR bandwidth, TB/s (10**12 bytes)."""
    bf16_tflops: float
    """Dense BF16 tensor throughput; never the sparse figure."""
    fp8_tflops: float | None = None
    """Dense FP8 tensor throughput; None where the GPU has no FP8 tensor cores (Ampere): FP8 checkpoints then
    run as weight-only FP8 and compute at the BF16 rate."""
    int8_tops: float | None = None
    """Dense INT8 tensor throughput (W8A8 INT8 checkpoints)."""
    link_gbytes_per_second: float = 25.0
    """One direction, per GPU, between the GPUs of one node: NVLink on SXM parts, PCIe otherwise."""
    link_latency_seconds: float = 20e-6
    """Time of one small all-reduce between the GPUs of one node."""


# Each entry's figures come from the model's config.json on Hugging Face (docs/capacity-and-cost.md lists
# the repositories); params are counted from the config (untied embeddings unless tied_embeddings).
MODELS: dict[str, ModelArch] = {
    "llama-2-7b": ModelArch(6.74, 32, 4096, 32, 32, 128, 4096, vocab=32000, ffn=11008),
    "llama-2-13b": ModelArch(13.02, 40, 5120, 40, 40, 128, 4096, vocab=32000, ffn=13824),
    "llama-2-70b": ModelArch(68.98, 80, 8192, 64, 8, 128, 4096, vocab=32000, ffn=28672),
    # Mistral-7B v0.1: a 4096-token sliding window on every layer.
    "mistral-7b": ModelArch(7.24, 32, 4096, 32, 8, 128, 32768, sliding_window=4096, vocab=32000, ffn=14336),
    "mistral-7b-v0.1": ModelArch(7.24, 32, 4096, 32, 8, 128, 32768, sliding_window=4096, vocab=32000, ffn=14336),
    # v0.2 dropped the window ("sliding_window": null) and raised rope_theta; v0.3 grew the vocabulary to 32768.
    "mistral-7b-v0.2": ModelArch(7.24, 32, 4096, 32, 8, 128, 32768, vocab=32000, ffn=14336),
    "mistral-7b-v0.3": ModelArch(7.25, 32, 4096, 32, 8, 128, 32768, vocab=32768, ffn=14336),
    "llama-3.1-8b": ModelArch(8.03, 32, 4096, 32, 8, 128, 131072, vocab=128256, ffn=14336),
    "llama-3.1-70b": ModelArch(70.55, 80, 8192, 64, 8, 128, 131072, vocab=128256, ffn=28672),
    "llama-3.3-70b": ModelArch(70.55, 80, 8192, 64, 8, 128, 131072, vocab=128256, ffn=28672),
    "qwen2.5-7b": ModelArch(7.62, 28, 3584, 28, 4, 128, 32768, vocab=152064, ffn=18944),
    "qwen2.5-72b": ModelArch(72.71, 80, 8192, 64, 8, 128, 32768, vocab=152064, ffn=29568),
    "qwen3-8b": ModelArch(8.19, 36, 4096, 32, 8, 128, 40960, vocab=151936, ffn=12288),
}

NVLINK_A100 = {"link_gbytes_per_second": 300.0, "link_latency_seconds": 8e-6}
NVLINK_H100 = {"link_gbytes_per_second": 450.0, "link_latency_seconds": 8e-6}
PCIE4 = {"link_gbytes_per_second": 25.0, "link_latency_seconds": 20e-6}
PCIE5 = {"link_gbytes_per_second": 50.0, "link_latency_seconds": 20e-6}

# Dense tensor rates from NVIDIA's datasheets (the sparse figures halved); links: NVLink on SXM parts, PCIe on
# PCIe cards (an NVLink bridge on PCIe A100/H100 pairs is faster than this assumes).
GPUS: dict[str, Gpu] = {
    "A10": Gpu(22.5, 0.600, 125, None, 250, **PCIE4),
    "L4": Gpu(22.5, 0.300, 121, 242, 242, **PCIE4),
    "L40S": Gpu(45.0, 0.864, 362, 733, 733, **PCIE4),
    "A100-40GB": Gpu(39.5, 1.555, 312, None, 624, **NVLINK_A100),
    # PCIe bandwidth; the SXM part reads 2.039 TB/s.
    "A100-80GB": Gpu(79.2, 1.935, 312, None, 624, **PCIE4),
    "A100-80GB-SXM": Gpu(79.2, 2.039, 312, None, 624, **NVLINK_A100),
    "H100-PCIe": Gpu(79.6, 2.0, 756, 1513, 1513, **PCIE5),
    "H100-SXM": Gpu(79.6, 3.35, 989, 1979, 1979, **NVLINK_H100),
    "H200": Gpu(140.4, 4.8, 989, 1979, 1979, **NVLINK_H100),
}

DECODE_BANDWIDTH_EFFICIENCY = 0.85
"""Share of spec bandwidth a decode step's reads achieve with vLLM's CUDA-graph kernels. Fitted with
:data:`STEP_FIXED_SECONDS` and :data:`LAYER_FIXED_SECONDS` to the published measurements in
tests/test_sizing.py; one factor alone (0.6) cannot fit batch 1 and large batches at once."""
STEP_FIXED_SECONDS = 0.5e-3
"""Per decode step whatever the model: scheduling, input preparation, sampling, detokenisation."""
LAYER_FIXED_SECONDS = 20e-6
"""Per layer and step: the floor of the layer's dozen kernels, which small batches cannot fill."""
PREFILL_MFU = 0.6
"""Model FLOP utilisation of prefill (and of compute-bound decode), on the dtype's dense tensor rate."""
PREFILL_FIXED_SECONDS = 0.010
"""Time to first token beyond the prefill's FLOPs: HTTP, tokenisation, scheduling and the first step."""


def weight_bytes_per_param(dtype: str, quantization: str | None) -> float:
    """Bytes of one quantized (transformer-layer) parameter; embeddings and lm_head: :func:`weight_bytes`."""
    if quantization in ("awq", "gptq"):
        # 4-bit weights plus a 16-bit scale and a 4-bit zero point per group of 128.
        return (4 + 20 / 128) / 8
    if quantization in ("fp8", "compressed-tensors"):
        return 1.0
    return 2.0  # auto, bfloat16, float16


def kv_bytes_per_element(kv_cache_dtype: str) -> int:
    return 1 if kv_cache_dtype == "fp8" else 2


def weight_bytes(arch: ModelArch, dtype: str = "auto", quantization: str | None = None,
                 params: float | None = None, embedding_params: float | None = None) -> float:
    """Bytes of ``params`` parameters (default: the model's) of which ``embedding_params`` (default: the model's
    embeddings and lm_head) stay 16-bit: vLLM keeps them unquantized in AWQ, GPTQ, FP8 and W8A8 checkpoints."""
    params = arch.params_billion * 1e9 if params is None else params
    embedding = arch.embedding_params if embedding_params is None else embedding_params
    embedding = min(embedding, params)
    return (params - embedding) * weight_bytes_per_param(dtype, quantization) + embedding * 2


def weights_gib(arch: ModelArch, dtype: str = "auto", quantization: str | None = None) -> float:
    return weight_bytes(arch, dtype, quantization) / GIB


def kv_bytes_per_token(arch: ModelArch, kv_cache_dtype: str = "auto") -> int:
    """K and V for every layer and KV head (GQA uses KV heads, not query heads)."""
    return 2 * arch.layers * arch.kv_heads * arch.head_dim * kv_bytes_per_element(kv_cache_dtype)


NON_TORCH_GIB = 0.75
"""CUDA context, cuBLAS workspaces and the allocator's slack, per GPU."""
NCCL_GIB = 0.5
"""NCCL and custom all-reduce buffers, per GPU, once tensor parallelism spans GPUs."""
CUDA_GRAPHS_GIB = 0.75
"""CUDA-graph pools, counted inside the budget by current vLLM."""


def default_batched_tokens(gpu: Gpu) -> int:
    """vLLM's ``--max-num-batched-tokens`` for the API server: 8192 on GPUs of 70 GiB or more except A100, else 2048
    (A100-class parts are told apart by their HBM2e bandwidth)."""
    return 8192 if gpu.memory_gib >= 70 and gpu.bandwidth_tbps > 2.1 else 2048


def overhead_gib(arch: ModelArch, tp: int = 1, max_num_seqs: int = 256, batched_tokens: int = 2048,
                 distributed: bool = False) -> float:
    """Runtime allowance per GPU: non-torch memory, NCCL buffers with tensor parallelism, CUDA graphs and the
    activation peak vLLM profiles (one step of ``batched_tokens`` tokens through the MLP, whose intermediate
    tensors are sharded by tensor parallelism, plus the sampler's float32 logits for ``max_num_seqs``)."""
    activations = batched_tokens * (2 * arch.intermediate / tp + 4 * arch.hidden) * 2 * 2
    logits = max_num_seqs * (arch.vocab or 32000) * 4 * 2
    nccl = NCCL_GIB if tp > 1 or distributed else 0.0
    return NON_TORCH_GIB + nccl + CUDA_GRAPHS_GIB + (activations + logits) / GIB


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
    max_num_seqs: int = 256

    def throughput_batch(self, request_tokens: int, sliding_window: int | None = None) -> int:
        """Sequences of ``request_tokens`` (prompt plus completion) the KV pool holds at once, capped by
        ``--max-num-seqs``. vLLM admits requests by the blocks they use, so this, not the worst case of
        ``max_concurrent_sequences`` (every sequence at ``maxModelLen``), is the batch it runs."""
        per_sequence = max(1, min(request_tokens, sliding_window or request_tokens))
        return min(self.max_num_seqs, self.kv_tokens // per_sequence)

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
               max_num_seqs: int = 256, max_num_batched_tokens: int | None = None) -> MemoryFit:
    budget = gpu.memory_gib * gpu_memory_utilization
    weights = weights_gib(arch, dtype, quantization)
    per_gpu = weights / tp
    overhead = overhead_gib(arch, tp, max_num_seqs, max_num_batched_tokens or default_batched_tokens(gpu))
    pool = budget - per_gpu - overhead
    per_token = kv_bytes_per_token(arch, kv_cache_dtype)
    # Beyond the KV-head count, KV heads are replicated and per-GPU KV stops shrinking.
    per_token_per_gpu = per_token / min(tp, arch.kv_heads)
    tokens = max(0, int(pool * GIB / per_token_per_gpu)) if pool > 0 else 0
    sequence = min(max_model_len, arch.sliding_window or max_model_len)
    concurrent = min(max_num_seqs, tokens // sequence) if sequence else 0
    return MemoryFit(tp, budget, weights, per_gpu, overhead, pool, per_token, tokens, sequence, concurrent,
                     max_num_seqs=max_num_seqs)


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


def _stage_params(arch: ModelArch, pipeline_parallel: int) -> list[tuple[int, int, float, float]]:
    """(first layer, layers, parameters, of which embedding or lm_head) per stage: the embedding on the first,
    lm_head on the last."""
    embedding = (arch.vocab or 0) * arch.hidden
    per_layer = (arch.params_billion * 1e9 - 2 * embedding) / arch.layers
    stages, first = [], 0
    parts = stage_layers(arch.layers, pipeline_parallel)
    for index, layers in enumerate(parts):
        held = (embedding if index == 0 else 0) + (embedding if index == len(parts) - 1 else 0)
        stages.append((first, layers, layers * per_layer + held, held))
        first += layers
    return stages


def stage_kv_bytes_per_token(arch: ModelArch, layers: int, kv_cache_dtype: str = "auto") -> int:
    return 2 * layers * arch.kv_heads * arch.head_dim * kv_bytes_per_element(kv_cache_dtype)


def layout_fit(arch: ModelArch, gpu: Gpu, lay: Layout, max_model_len: int, gpu_memory_utilization: float = 0.9,
               dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto",
               max_num_seqs: int = 256, max_num_batched_tokens: int | None = None) -> MemoryFit:
    """Memory of one replica laid out as ``lay``: each stage's weights and KV cache on its own GPUs.

    Without pipeline parallelism this is :func:`memory_fit` (one stage). With it, every stage holds its
    layers' weights and their KV cache; vLLM allocates on every worker the KV blocks the tightest stage
    has room for, so the replica holds the smallest stage's token count.
    """
    tp = lay.tensor_parallel
    if lay.pipeline_parallel == 1:
        fit = memory_fit(arch, gpu, tp, max_model_len, gpu_memory_utilization, dtype, quantization, kv_cache_dtype,
                         max_num_seqs, max_num_batched_tokens)
        per_token = fit.kv_bytes_per_token / min(tp, arch.kv_heads)
        stage = StageFit(0, 0, arch.layers, fit.weights_per_gpu_gib, fit.kv_pool_gib, per_token, fit.kv_tokens)
        return replace(fit, stages=(stage,))
    budget = gpu.memory_gib * gpu_memory_utilization
    overhead = overhead_gib(arch, tp, max_num_seqs, max_num_batched_tokens or default_batched_tokens(gpu), True)
    stages = []
    for index, (first, layers, params, embedding) in enumerate(_stage_params(arch, lay.pipeline_parallel)):
        per_gpu = weight_bytes(arch, dtype, quantization, params, embedding) / GIB / tp
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
        lay.pipeline_parallel, tuple(stages), max_num_seqs,
    )


# -- throughput -----------------------------------------------------------------------------------


def compute_tflops(gpu: Gpu, quantization: str | None = None) -> float:
    """Dense tensor rate the checkpoint's matrix multiplies run at: FP8 checkpoints on FP8 tensor cores where the
    GPU has them (Ampere dequantizes to BF16), W8A8 (compressed-tensors) on FP8 or else INT8 tensor cores, 4-bit
    and 16-bit checkpoints at the BF16 rate."""
    if quantization == "fp8":
        return gpu.fp8_tflops or gpu.bf16_tflops
    if quantization == "compressed-tensors":
        return gpu.fp8_tflops or gpu.int8_tops or gpu.bf16_tflops
    return gpu.bf16_tflops


def all_reduce_seconds(gpu: Gpu, nbytes: float, tp: int) -> float:
    """One all-reduce of ``nbytes`` across ``tp`` GPUs of one node over its NVLink or PCIe links."""
    if tp <= 1:
        return 0.0
    return gpu.link_latency_seconds + 2 * (tp - 1) / tp * nbytes / (gpu.link_gbytes_per_second * 1e9)


def tensor_parallel_seconds(arch: ModelArch, gpu: Gpu, tp: int, tokens: float, layers: int | None = None) -> float:
    """Two all-reduces per layer (after attention and after the MLP) of the step's hidden states."""
    return 2 * (arch.layers if layers is None else layers) * all_reduce_seconds(gpu, tokens * arch.hidden * 2, tp)


def prefill_flops(arch: ModelArch, prompt_tokens: float) -> float:
    """2 FLOP per parameter per token, plus causal attention: 2 x layers x tokens^2 x query width."""
    return 2 * arch.params_billion * 1e9 * prompt_tokens + 2 * arch.layers * prompt_tokens ** 2 * (
        arch.attention_heads * arch.head_dim)


def _compute_seconds(gpu: Gpu, tp: int, flops: float, quantization: str | None) -> float:
    return flops / (tp * compute_tflops(gpu, quantization) * 1e12 * PREFILL_MFU)


def interleaved_prefill_seconds(arch: ModelArch, gpu: Gpu, tp: int, batch: int, prompt_tokens: int,
                                output_tokens: int, quantization: str | None = None) -> float:
    """Per decode step, the prefill of other requests that chunked prefill runs in the same steps: at steady
    state each of the other ``batch - 1`` sequences brings one prompt per ``output_tokens`` steps."""
    if batch <= 1 or prompt_tokens <= 0 or output_tokens <= 0:
        return 0.0
    share = (batch - 1) / output_tokens
    return share * (_compute_seconds(gpu, tp, prefill_flops(arch, prompt_tokens), quantization)
                    + tensor_parallel_seconds(arch, gpu, tp, prompt_tokens))


def step_fixed_seconds(arch: ModelArch, layers: int | None = None) -> float:
    return STEP_FIXED_SECONDS + LAYER_FIXED_SECONDS * (arch.layers if layers is None else layers)


def decode_step_seconds(arch: ModelArch, gpu: Gpu, tp: int, batch: int, context_tokens: int,
                        dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto",
                        prompt_tokens: int = 0, output_tokens: int = 0) -> float:
    """One decode step: a fixed time, then every weight and each sequence's KV cache read at the fitted share
    of bandwidth (or the batch's FLOPs, whichever takes longer), the tensor-parallel all-reduces, and, given
    the request shape, the other requests' prefill mixed into the step."""
    weights = weight_bytes(arch, dtype, quantization)
    kv = batch * min(context_tokens, arch.sliding_window or context_tokens) * kv_bytes_per_token(arch, kv_cache_dtype)
    read = (weights / tp + kv / min(tp, arch.kv_heads)) / (gpu.bandwidth_tbps * 1e12 * DECODE_BANDWIDTH_EFFICIENCY)
    compute = _compute_seconds(gpu, tp, 2 * arch.params_billion * 1e9 * batch, quantization)
    return (step_fixed_seconds(arch) + max(read, compute) + tensor_parallel_seconds(arch, gpu, tp, batch)
            + interleaved_prefill_seconds(arch, gpu, tp, batch, prompt_tokens, output_tokens, quantization))


def decode_tokens_per_second(arch: ModelArch, gpu: Gpu, tp: int, batch: int, context_tokens: int, **kwargs: Any) -> float:
    return batch / decode_step_seconds(arch, gpu, tp, batch, context_tokens, **kwargs)


def prefill_seconds(arch: ModelArch, gpu: Gpu, tp: int, prompt_tokens: int, quantization: str | None = None) -> float:
    """Time to first token of one prompt on an idle replica: a fixed time plus the prompt's FLOPs at the
    checkpoint's dense tensor rate and the all-reduces of its hidden states."""
    return (PREFILL_FIXED_SECONDS + _compute_seconds(gpu, tp, prefill_flops(arch, prompt_tokens), quantization)
            + tensor_parallel_seconds(arch, gpu, tp, prompt_tokens))


def closed_loop_tokens_per_second(batch: int, step_seconds: float, ttft_seconds: float, output_tokens: int) -> float:
    """Output tokens per second of ``batch`` streams that each send their next request when one completes, as
    `vllm bench serve --max-concurrency` and NIM's benchmarks measure it: every request waits for its first token,
    then its remaining tokens one step each."""
    return batch * output_tokens / (ttft_seconds + max(output_tokens - 1, 0) * step_seconds)


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
    """The largest batch whose decode step, other requests' prefill included, stays within the inter-token
    latency target (Little's law then gives requests per second). None when even one sequence decodes slower
    than the target."""
    context = prompt_tokens + output_tokens // 2
    best = None
    for batch in range(1, max(1, max_batch) + 1):
        step = decode_step_seconds(arch, gpu, tp, batch, context, prompt_tokens=prompt_tokens,
                                   output_tokens=output_tokens, **kwargs)
        if step > itl_target_seconds:
            break
        best = batch, step
    if best is None:
        return None
    batch, step = best
    request = prefill_seconds(arch, gpu, tp, prompt_tokens, kwargs.get("quantization")) + output_tokens * step
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


def _stage_read_seconds(arch: ModelArch, gpu: Gpu, tp: int, layers: int, params: float, embedding: float, batch: int,
                        context: int, dtype: str, quantization: str | None, kv_cache_dtype: str) -> float:
    weights = weight_bytes(arch, dtype, quantization, params, embedding)
    kv = batch * min(context, arch.sliding_window or context) * stage_kv_bytes_per_token(arch, layers, kv_cache_dtype)
    read = (weights / tp + kv / min(tp, arch.kv_heads)) / (gpu.bandwidth_tbps * 1e12 * DECODE_BANDWIDTH_EFFICIENCY)
    return max(read, _compute_seconds(gpu, tp, 2 * params * batch, quantization))


def decode_step(arch: ModelArch, gpu: Gpu, lay: Layout, micro_batch: int, context_tokens: int, fabric: Fabric | None,
                dtype: str = "auto", quantization: str | None = None, kv_cache_dtype: str = "auto") -> DecodeStep:
    """One decode step of a micro-batch through the replica.

    The stages run one after another, each bound by its own weights and KV cache, and each boundary sends
    the micro-batch's hidden states and residual (2 x batch x hidden activations) to the next node. A
    tensor-parallel group within a node all-reduces over the node's links; one that spans nodes all-reduces
    twice per layer over the fabric. Within one node the step is :func:`decode_step_seconds`.
    """
    if not lay.multi_node:
        return DecodeStep(decode_step_seconds(arch, gpu, lay.tensor_parallel, micro_batch, context_tokens, dtype,
                                              quantization, kv_cache_dtype), 0.0)
    fabric = fabric or Fabric(100)
    tp = lay.tensor_parallel
    compute = step_fixed_seconds(arch)
    fabric_time = 0.0
    for _, layers, params, embedding in _stage_params(arch, lay.pipeline_parallel):
        compute += _stage_read_seconds(arch, gpu, tp, layers, params, embedding, micro_batch, context_tokens, dtype,
                                       quantization, kv_cache_dtype)
        if lay.tensor_parallel_across_nodes:
            fabric_time += 2 * layers * fabric.all_reduce_seconds(micro_batch * arch.hidden * ACTIVATION_BYTES, tp)
        else:
            compute += tensor_parallel_seconds(arch, gpu, tp, micro_batch, layers)
    fabric_time += (lay.pipeline_parallel - 1) * fabric.seconds(2 * micro_batch * arch.hidden * ACTIVATION_BYTES)
    return DecodeStep(compute + fabric_time, fabric_time)


def layout_prefill_seconds(arch: ModelArch, gpu: Gpu, lay: Layout, prompt_tokens: int, fabric: Fabric | None,
                           quantization: str | None = None) -> float:
    """Prefill of one prompt: compute-bound on each stage in turn, plus its activations across the fabric."""
    seconds = prefill_seconds(arch, gpu, lay.tensor_parallel, prompt_tokens, quantization)
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
    quantization = kwargs.get("quantization")

    def step_at(concurrent: int) -> DecodeStep:
        step = decode_step(arch, gpu, lay, -(-concurrent // min(lay.pipeline_parallel, concurrent)), context, fabric,
                           **kwargs)
        # Other requests' prefill passes every stage too, once per their output_tokens passes.
        mixed = interleaved_prefill_seconds(arch, gpu, lay.tensor_parallel, concurrent, prompt_tokens, output_tokens,
                                            quantization)
        return DecodeStep(step.seconds + mixed, step.fabric_seconds)

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
    request = layout_prefill_seconds(arch, gpu, lay, prompt_tokens, fabric, quantization) + output_tokens * step.seconds
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
