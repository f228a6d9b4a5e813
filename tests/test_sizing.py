"""The capacity and cost model against the sizing reference's hand-computed and measured figures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import SECRET_KEYS, ConfigError, parse_config
from components.planning import sizing
from offline.run import stack_config

A100 = sizing.GPUS["A100-80GB"]
LLAMA2_70B = sizing.MODELS["llama-2-70b"]


def test_bf16_and_quantized_weights_match_what_vllm_logs():
    # vLLM logs "Model loading took 14.99 GiB" for Llama-3.1-8B in BF16: 8.03e9 x 2 bytes.
    assert sizing.weights_gib(sizing.MODELS["llama-3.1-8b"]) == pytest.approx(14.99, rel=0.003)
    # W8A8 70B: 67.7 GiB logged, since embeddings and lm_head (2 x 128256 x 8192) stay 16-bit; counting them at
    # 8 bits gave 65.7 GiB and overstated the KV cache.
    w8a8 = sizing.weights_gib(sizing.MODELS["llama-3.1-70b"], quantization="compressed-tensors")
    assert w8a8 == pytest.approx(67.7, rel=0.002)
    assert w8a8 - 70.55e9 / sizing.GIB == pytest.approx(128256 * 8192 * 2 / sizing.GIB, rel=1e-6)


def test_the_runtime_allowance_grows_with_the_model_batch_and_tensor_parallelism():
    small, large = sizing.MODELS["llama-3.1-8b"], sizing.MODELS["llama-3.1-70b"]
    assert sizing.overhead_gib(small, 1, 256, 2048) < sizing.overhead_gib(large, 1, 256, 2048)
    assert sizing.overhead_gib(small, 1, 256, 2048) < sizing.overhead_gib(small, 1, 1024, 8192)
    assert sizing.overhead_gib(large, 4, 256, 2048) - sizing.overhead_gib(large, 1, 256, 2048) > sizing.NCCL_GIB - 1
    # Within the 1-3 GiB vLLM logs for these models.
    assert 1.5 < sizing.overhead_gib(small, 1, 256, 2048) < 3.0
    assert sizing.default_batched_tokens(sizing.GPUS["A100-80GB"]) == 2048
    assert sizing.default_batched_tokens(sizing.GPUS["H100-SXM"]) == 8192


def test_llama2_70b_weights_do_not_fit_one_80gb_gpu():
    fit = sizing.memory_fit(LLAMA2_70B, A100, 1, 4096)
    assert fit.weights_gib == pytest.approx(128.5, abs=0.1) and not fit.weights_fit


def test_tensor_parallel_two_leaves_little_kv_and_four_is_practical():
    tp2 = sizing.memory_fit(LLAMA2_70B, A100, 2, 4096)
    tp4 = sizing.memory_fit(LLAMA2_70B, A100, 4, 4096)
    # 71.3 GiB budget - 64.2 GiB weights - 2.5 GiB allowance (NCCL, graphs, activations of 2048 tokens).
    assert tp2.kv_pool_gib == pytest.approx(4.5, abs=0.2) and tp2.kv_tokens == pytest.approx(29_500, rel=0.05)
    assert tp2.max_concurrent_sequences == 7
    assert tp4.kv_pool_gib == pytest.approx(36.7, abs=0.2) and tp4.kv_tokens == pytest.approx(481_500, rel=0.01)
    assert tp4.max_concurrent_sequences == 117
    assert sizing.smallest_fitting_tp(LLAMA2_70B, A100, 4096) == 2


def test_gqa_kv_is_a_quarter_of_mha():
    mistral, llama = (sizing.kv_bytes_per_token(sizing.MODELS[m]) for m in ("mistral-7b", "llama-2-7b"))
    assert (mistral, llama) == (128 * 1024, 512 * 1024)
    assert sizing.kv_bytes_per_token(sizing.MODELS["mistral-7b"], "fp8") == 64 * 1024


@pytest.mark.parametrize(("model", "gpu", "budget", "weights", "allowance"), [
    ("llama-3.1-8b", "L40S", 40.5, 15.0, 2.1), ("llama-3.1-8b", "H100-SXM", 71.6, 15.0, 3.1),
    ("llama-2-7b", "A10", 20.2, 12.6, 1.85),
])
def test_budget_and_weights_match_the_worked_examples(model, gpu, budget, weights, allowance):
    fit = sizing.memory_fit(sizing.MODELS[model], sizing.GPUS[gpu], 1, 4096)
    assert fit.budget_gib == pytest.approx(budget, abs=0.1)
    assert fit.weights_per_gpu_gib == pytest.approx(weights, abs=0.1)
    # The worked examples allow 2-3 GiB for 7-8B models; the H100's default 8192 batched tokens and 1024-entry
    # sampler take the most.
    assert fit.overhead_gib == pytest.approx(allowance, abs=0.05)
    assert fit.kv_pool_gib == pytest.approx(budget - weights - allowance, abs=0.1)


# Published measurements: (source, setup, metric, model, GPU, tensor parallel, quantization, concurrency, prompt
# tokens, completion tokens, figure). ITL and TTFT in seconds; tok/s is aggregate output over the run, each request's
# wait for its first token included, as the benchmarks measure it. docs/capacity-and-cost.md cites each. NIM figures
# are TensorRT-LLM (no vLLM figure was found for that setup). "engine ttft" is a context-phase latency timed inside
# the engine (TensorRT-LLM's gptSessionBenchmark): no HTTP or tokenisation, so the server's fixed time is left out.
NIM = "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance (Llama-3.3-70b-instruct, NIM 1.8.0)"
MUSGRAVE = "https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on (vLLM 0.23.0, vllm bench serve)"
TRTLLM = ("https://github.com/NVIDIA/TensorRT-LLM/blob/138f96d45f90b9667426f7c47297d8c06bafac73/docs/source/"
          "performance.md (Low Latency, TensorRT-LLM v0.5, Llama-2, batch 1)")
PUBLISHED = [
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "itl", "llama-3.3-70b", "H100-SXM", 2, "fp8", 1, 5000, 500, 18.58e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "itl", "llama-3.3-70b", "H100-SXM", 2, "fp8", 5, 5000, 500, 21.83e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "itl", "llama-3.3-70b", "H100-SXM", 2, "fp8", 25, 5000, 500, 38.75e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "itl", "llama-3.3-70b", "H100-SXM", 2, "fp8", 50, 5000, 500, 59.73e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 500/2000", "itl", "llama-3.3-70b", "H100-SXM", 2, "fp8", 1, 500, 2000, 18.91e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "ttft", "llama-3.3-70b", "H100-SXM", 2, "fp8", 1, 5000, 500, 406.77e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 500/2000", "ttft", "llama-3.3-70b", "H100-SXM", 2, "fp8", 1, 500, 2000, 47.77e-3),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "tok/s", "llama-3.3-70b", "H100-SXM", 2, "fp8", 1, 5000, 500, 51.67),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "tok/s", "llama-3.3-70b", "H100-SXM", 2, "fp8", 5, 5000, 500, 218.48),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "tok/s", "llama-3.3-70b", "H100-SXM", 2, "fp8", 25, 5000, 500, 623.4),
    (NIM, "2 x H100 80G, fp8 TP2, 5000/500", "tok/s", "llama-3.3-70b", "H100-SXM", 2, "fp8", 50, 5000, 500, 814.37),
    (MUSGRAVE, "A100 40GB, BF16, 1024/128, one request", "tok/s", "llama-3.1-8b", "A100-40GB", 1, None, 1, 1024, 128,
     75.0),
    (MUSGRAVE, "A100 40GB, BF16, 1024/128, 8 concurrent (6.6 x one request)", "tok/s", "llama-3.1-8b", "A100-40GB", 1,
     None, 8, 1024, 128, 6.6 * 75.0),
    (TRTLLM, "A100, FP16, 2048-token prompt", "engine ttft", "llama-2-7b", "A100-80GB-SXM", 1, None, 1, 2048, 1,
     133e-3),
    (TRTLLM, "4 x A100, FP16 TP4, 2048-token prompt", "engine ttft", "llama-2-70b", "A100-80GB-SXM", 4, None, 1, 2048,
     1, 377e-3),
    (TRTLLM, "L40S, FP8, 2048-token prompt", "engine ttft", "llama-2-7b", "L40S", 1, "fp8", 1, 2048, 1, 73e-3),
]
EXCLUDED = [
    # The engine's FP8 prefill ran at about 40 % of the H100's dense FP8 rate (2 x 6.7e9 x 2048 FLOP in 36 ms);
    # the model runs FP8 checkpoints' prefill at 60 % of it, as for BF16. The NIM FP8 TTFT points above (a later
    # TensorRT-LLM) lie at -13 % and -8 %: FP8 prefill on Hopper is the model's most optimistic figure.
    (TRTLLM, "H100, FP8, 2048-token prompt", "engine ttft", "llama-2-7b", "H100-SXM", 1, "fp8", 1, 2048, 1, 36e-3),
    (TRTLLM, "4 x H100, FP8 TP4, 2048-token prompt", "engine ttft", "llama-2-70b", "H100-SXM", 4, "fp8", 1, 2048, 1,
     109e-3),
    # A 128-token prefill is not compute-bound: kernel launches and 160 all-reduces of one forward pass dominate,
    # which the model carries only in the server's fixed time.
    (TRTLLM, "4 x A100, FP16 TP4, 128-token prompt", "engine ttft", "llama-2-70b", "A100-80GB-SXM", 4, None, 1, 128, 1,
     47e-3),
]


def predicted(metric, model, gpu, tp, quantization, batch, prompt, output):
    arch, card = sizing.MODELS[model], sizing.GPUS[gpu]
    ttft = sizing.prefill_seconds(arch, card, tp, prompt, quantization)
    if metric == "ttft":
        return ttft
    if metric == "engine ttft":
        return ttft - sizing.PREFILL_FIXED_SECONDS
    step = sizing.decode_step_seconds(arch, card, tp, batch, prompt + output // 2, quantization=quantization,
                                      prompt_tokens=prompt, output_tokens=output)
    return step if metric == "itl" else sizing.closed_loop_tokens_per_second(batch, step, ttft, output)


def test_the_table_holds_at_least_15_points_of_catalogued_models_and_gpus():
    assert len(PUBLISHED) >= 15
    assert {p[2] for p in PUBLISHED} >= {"itl", "tok/s", "ttft"}
    assert all(p[3] in sizing.MODELS and p[4] in sizing.GPUS for p in PUBLISHED + EXCLUDED)


@pytest.mark.parametrize(("source", "setup", "metric", "model", "gpu", "tp", "quantization", "batch", "prompt",
                          "output", "measured"), PUBLISHED)
def test_the_model_is_within_20_percent_of_published_measurements(source, setup, metric, model, gpu, tp, quantization,
                                                                  batch, prompt, output, measured):
    estimate = predicted(metric, model, gpu, tp, quantization, batch, prompt, output)
    assert estimate / measured == pytest.approx(1, abs=0.2), f"{metric} {setup}: {estimate:.4g} vs {measured:.4g}"


@pytest.mark.parametrize(("source", "setup", "metric", "model", "gpu", "tp", "quantization", "batch", "prompt",
                          "output", "measured"), EXCLUDED)
def test_the_excluded_points_are_still_outside_for_the_reason_given(source, setup, metric, model, gpu, tp,
                                                                    quantization, batch, prompt, output, measured):
    """When a change brings one within 20 %, it belongs in PUBLISHED."""
    estimate = predicted(metric, model, gpu, tp, quantization, batch, prompt, output)
    assert abs(estimate / measured - 1) > 0.2, f"{setup}: {estimate:.4g} vs {measured:.4g}; move it to PUBLISHED"
    assert estimate < measured, "both reasons say the model is optimistic there"


def test_the_fit_needs_the_fixed_step_time():
    """One bandwidth factor alone cannot fit one stream and a large batch: without the fixed time the factor that
    fits the 70B at batch 50 predicts one stream far faster than measured."""
    step = predicted("itl", "llama-3.3-70b", "H100-SXM", 2, "fp8", 1, 500, 2000)
    fixed = sizing.step_fixed_seconds(sizing.MODELS["llama-3.3-70b"])
    assert (step - fixed) / 18.91e-3 < 0.8 < step / 18.91e-3


def test_fp8_prefill_runs_on_fp8_tensor_cores_where_the_gpu_has_them():
    arch = sizing.MODELS["llama-3.1-8b"]
    h100, a100 = sizing.GPUS["H100-SXM"], sizing.GPUS["A100-80GB"]
    bf16, fp8 = (sizing.prefill_seconds(arch, h100, 1, 4096, q) for q in (None, "fp8"))
    assert (bf16 - sizing.PREFILL_FIXED_SECONDS) / (fp8 - sizing.PREFILL_FIXED_SECONDS) == pytest.approx(2, rel=0.01)
    assert sizing.prefill_seconds(arch, a100, 1, 4096, "fp8") == sizing.prefill_seconds(arch, a100, 1, 4096)
    assert sizing.compute_tflops(a100, "compressed-tensors") == 624, "W8A8 on Ampere runs on INT8 tensor cores"


def test_tensor_parallelism_pays_for_its_all_reduces_over_the_nodes_links():
    arch = sizing.MODELS["llama-3.1-70b"]
    nvlink, pcie = sizing.GPUS["A100-80GB-SXM"], sizing.GPUS["A100-80GB"]
    over_nvlink = sizing.decode_step_seconds(arch, nvlink, 4, 32, 1024)
    over_pcie = sizing.decode_step_seconds(arch, pcie, 4, 32, 1024)
    reads = (sizing.weight_bytes(arch) / 4 + 32 * 1024 * sizing.kv_bytes_per_token(arch) / 4) / (
        pcie.bandwidth_tbps * 1e12 * sizing.DECODE_BANDWIDTH_EFFICIENCY)
    assert over_pcie - reads - sizing.step_fixed_seconds(arch) == pytest.approx(
        2 * 80 * (20e-6 + 1.5 * 32 * 8192 * 2 / 25e9), rel=1e-6)
    assert over_pcie > over_nvlink * 0 + reads + sizing.tensor_parallel_seconds(arch, nvlink, 4, 32)


def test_other_requests_prefill_lengthens_the_inter_token_latency():
    arch, gpu = sizing.MODELS["llama-3.1-8b"], sizing.GPUS["L40S"]
    alone = sizing.decode_step_seconds(arch, gpu, 1, 16, 2000)
    mixed = sizing.decode_step_seconds(arch, gpu, 1, 16, 2000, prompt_tokens=4000, output_tokens=200)
    assert mixed - alone == pytest.approx(15 / 200 * (sizing.prefill_seconds(arch, gpu, 1, 4000)
                                                        - sizing.PREFILL_FIXED_SECONDS), rel=1e-6)


def test_the_throughput_batch_follows_the_request_shape_not_the_worst_case():
    fit = sizing.memory_fit(sizing.MODELS["mistral-7b-v0.2"], A100, 1, 8192, max_num_seqs=128)
    assert fit.max_concurrent_sequences == 55, "vLLM's logged maximum concurrency for 8192-token requests"
    assert fit.throughput_batch(450) == 128, "300 + 150-token requests: capped by maxNumSeqs"
    assert sizing.memory_fit(sizing.MODELS["llama-2-7b"], sizing.GPUS["A10"], 1, 4096).throughput_batch(4096) == 2


# Measured on one H200 with plain kernels (sizing reference), not vLLM: model, batch, tokens/s at a 1024-token
# context. Tuned serving kernels run faster, so the model lands above these, within 25 %.
H200_DECODE = [
    ("llama-2-7b", 1, 192), ("llama-2-7b", 8, 1250), ("llama-2-7b", 32, 3329), ("llama-2-7b", 64, 4757),
    ("mistral-7b", 1, 191), ("mistral-7b", 8, 1337), ("mistral-7b", 32, 4587), ("mistral-7b", 64, 7913),
]


@pytest.mark.parametrize(("model", "batch", "measured"), H200_DECODE)
def test_decode_estimate_is_within_25_percent_of_measured_h200(model, batch, measured):
    estimate = sizing.decode_tokens_per_second(sizing.MODELS[model], sizing.GPUS["H200"], 1, batch, 1024)
    assert estimate == pytest.approx(measured, rel=0.25)


def test_prefill_of_a_4k_prompt_on_four_a100s_takes_about_a_second_plus_its_all_reduces():
    # 5.7e14 FLOP / (4 x 312 TFLOP/s x 0.6) = 0.76 s; 160 all-reduces of 4096 x 8192 x 2 bytes over PCIe add 0.67 s.
    assert sizing.prefill_seconds(LLAMA2_70B, A100, 4, 4096) == pytest.approx(1.44, abs=0.02)
    assert sizing.prefill_seconds(LLAMA2_70B, sizing.GPUS["A100-80GB-SXM"], 4, 4096) == pytest.approx(0.85, abs=0.02)


def test_design_documents_cost_figures_and_their_correction():
    summary = sizing.cost_summary(203_000, 3, 9_400, 1_000_000, 450, 0.01)
    # The design document divides operations alone by volume: $9,400 / 1M = $0.0094 per inference.
    assert summary.operations_only_per_request_usd == pytest.approx(0.0094)
    # With the $203,000 of capital over 36 months the real figure is about $0.015.
    assert summary.monthly_capital_usd == pytest.approx(5_638.89, abs=0.01)
    assert summary.cost_per_request_usd == pytest.approx(0.01504, abs=1e-5)
    # Break-even against $0.01 per request is about 1.5M requests a month, not the 4M the document claims.
    assert summary.break_even_requests_per_month == pytest.approx(1_503_889, rel=1e-4)
    # And 5M requests at $0.01-0.015 cost $50k-75k a month in the cloud, not $15k.
    assert sizing.cost_summary(203_000, 3, 9_400, 5_000_000, 450, 0.01).cloud_monthly_usd == 50_000


MODELS = st.sampled_from(sorted(sizing.MODELS))
LENGTHS = st.sampled_from([1024, 2048, 4096])


@settings(max_examples=60, deadline=None)
@given(MODELS, st.floats(16, 160), st.floats(0, 80), LENGTHS)
def test_more_memory_never_reduces_capacity(model, memory, extra, length):
    arch = sizing.MODELS[model]
    small, large = (sizing.memory_fit(arch, sizing.Gpu(m, 2.0, 300), 1, length) for m in (memory, memory + extra))
    assert large.kv_tokens >= small.kv_tokens
    assert large.max_concurrent_sequences >= small.max_concurrent_sequences
    assert large.fits or not small.fits


@settings(max_examples=60, deadline=None)
@given(MODELS, st.sampled_from(sorted(sizing.GPUS)), LENGTHS)
def test_a_larger_tensor_parallel_group_never_breaks_a_fit(model, gpu, length):
    arch = sizing.MODELS[model]
    sizes = [tp for tp in (1, 2, 4, 8) if sizing.valid_tensor_parallel(arch, tp)]
    fits = [sizing.memory_fit(arch, sizing.GPUS[gpu], tp, length).fits for tp in sizes]
    assert fits == sorted(fits), f"{model} on {gpu}: {dict(zip(sizes, fits, strict=True))}"


def test_prod_serving_llama2_70b_on_one_gpu_is_refused_with_the_fix():
    raw = stack_config("prod")
    raw["gpuPool"]["gpusPerNode"] = 4
    model = raw["models"]["llama-2-7b-chat"]
    model.update(architecture="llama-2-70b", huggingfaceRepo="meta-llama/Llama-2-70b-chat-hf", tensorParallelSize=1)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    message = str(caught.value)
    assert "models.llama-2-7b-chat.tensorParallelSize: 1: llama-2-70b weights are 128.5 GiB" in message
    assert "2 (KV cache 4.5 GiB per GPU, about 7 sequences of 4096 tokens); 4 (KV cache 36.8 GiB per GPU" in message


def test_preview_prints_and_exports_the_plan(prod, dev):
    # Mistral-7B-Instruct-v0.2 has no sliding window: 55 sequences of 8192 tokens, as vLLM logs.
    assert prod.outputs["capacity"]["mistral-7b-instruct"]["maxConcurrentSequences"] == 55
    assert prod.outputs["capacity"]["mistral-7b-instruct"]["figures"] == "predicted"
    assert prod.outputs["gpusNeeded"] == 4
    assert prod.outputs["cost"]["costPerRequestUsd"] == pytest.approx(0.015039, abs=1e-6)
    assert dev.outputs["capacity"]["llama-2-7b-chat"]["replicasNeeded"] == 1


# -- replicas across nodes --------------------------------------------------------------------------


def test_pipeline_stages_split_the_layers_as_vllm_does():
    assert sizing.stage_layers(80, 2) == (40, 40)
    # vLLM (get_pp_indices) gives the remainder to the stages before the last, from the one before it backwards:
    # the last stage holds lm_head, and the first the embeddings as soon as the middle ones are full.
    assert sizing.stage_layers(80, 3) == (27, 27, 26)
    assert sizing.stage_layers(10, 4) == (2, 3, 3, 2)
    assert sizing.stage_layers(61, 4) == (15, 15, 16, 15)


def test_two_pipeline_stages_hold_what_tensor_parallel_two_holds():
    pp2 = sizing.layout_fit(LLAMA2_70B, A100, sizing.layout(1, 2, 1), 4096)
    tp2 = sizing.memory_fit(LLAMA2_70B, A100, 2, 4096)
    assert [s.layers for s in pp2.stages] == [40, 40]
    assert all(s.weights_per_gpu_gib == pytest.approx(64.2, abs=0.1) for s in pp2.stages)
    # A stage holds its whole MLP, so its activation peak is the unsharded one: a little less KV than TP 2.
    assert pp2.kv_pool_gib == pytest.approx(4.3, abs=0.1) and pp2.kv_tokens == pytest.approx(tp2.kv_tokens, rel=0.06)
    pp4 = sizing.layout_fit(LLAMA2_70B, A100, sizing.layout(1, 4, 1), 4096)
    assert pp4.kv_tokens == pytest.approx(sizing.memory_fit(LLAMA2_70B, A100, 4, 4096).kv_tokens, rel=0.02)
    assert pp4.kv_gib_total() == pytest.approx(4 * pp4.kv_tokens * 80 * 1024 / sizing.GIB, rel=0.01)


def test_the_first_and_last_stages_carry_the_embeddings():
    arch = sizing.MODELS["llama-3.1-70b"]
    stages = sizing.layout_fit(arch, A100, sizing.layout(1, 4, 1), 8192).stages
    embedding = arch.vocab * arch.hidden * 2 / sizing.GIB
    assert stages[0].weights_per_gpu_gib - stages[1].weights_per_gpu_gib == pytest.approx(embedding, rel=0.01)
    assert stages[3].weights_per_gpu_gib == pytest.approx(stages[0].weights_per_gpu_gib, rel=0.001)
    assert stages[0].kv_tokens < stages[1].kv_tokens, "the heavier stages hold fewer tokens"
    assert sizing.layout_fit(arch, A100, sizing.layout(1, 4, 1), 8192).kv_tokens == stages[0].kv_tokens


def test_a_pipeline_adds_memory_not_speed():
    """Every token passes the stages one after another: one stream decodes no faster than on one big GPU."""
    fabric = sizing.Fabric(100)
    one_gpu = sizing.decode_step_seconds(LLAMA2_70B, A100, 1, 1, 375)
    for nodes in (2, 4):
        step = sizing.decode_step(LLAMA2_70B, A100, sizing.layout(1, nodes, 1), 1, 375, fabric)
        assert step.seconds == pytest.approx(one_gpu + step.fabric_seconds, rel=1e-6)
        assert step.fabric_seconds == pytest.approx((nodes - 1) * fabric.seconds(2 * 8192 * 2))
    # ...but the stages work on micro-batches side by side, so the replica turns out more tokens.
    capacity = sizing.layout_capacity(LLAMA2_70B, A100, sizing.layout(1, 4, 1), 300, 150, 0.3, 114, fabric)
    assert capacity.batch == 114 and capacity.output_tokens_per_second == pytest.approx(114 / capacity.step_seconds)
    assert capacity.output_tokens_per_second > 4 * sizing.decode_tokens_per_second(LLAMA2_70B, A100, 4, 1, 375) / 2
    assert sizing.layout_capacity(LLAMA2_70B, A100, sizing.layout(1, 4, 1), 300, 150, 0.05, 114, fabric) is None


def test_the_fabric_carries_a_pipeline_easily_and_tensor_parallelism_badly():
    fabric = sizing.Fabric(100)
    pipeline = sizing.decode_step(LLAMA2_70B, A100, sizing.layout(1, 2, 1), 6, 375, fabric)
    assert pipeline.fabric_seconds / pipeline.seconds < 0.001
    across = sizing.layout(2, 2, 1)
    assert across.tensor_parallel_across_nodes and across.pipeline_parallel == 1
    share = sizing.tensor_parallel_fabric_share(LLAMA2_70B, A100, across, 6, 375, fabric)
    assert share > sizing.MAX_TP_FABRIC_SHARE
    # Two all-reduces per layer, each 2 (ranks - 1) messages of half the activations.
    step = sizing.decode_step(LLAMA2_70B, A100, across, 6, 375, fabric)
    assert step.fabric_seconds == pytest.approx(2 * 80 * 2 * fabric.seconds(6 * 8192 * 2 / 2))
    assert sizing.tensor_parallel_fabric_share(LLAMA2_70B, A100, across, 6, 375, sizing.Fabric(10)) > share


def test_fabric_time_is_latency_plus_bytes_at_the_usable_bandwidth():
    fabric = sizing.Fabric(100)
    assert fabric.seconds(0) == sizing.INTER_NODE_LATENCY_SECONDS
    gigabyte = fabric.seconds(1e9) - fabric.seconds(0)
    assert gigabyte == pytest.approx(1e9 / (100e9 / 8 * sizing.INTER_NODE_EFFICIENCY))
    assert fabric.all_reduce_seconds(1e6, 1) == 0


def test_layouts_fill_nodes_with_tensor_parallel_groups():
    assert sizing.layout(1, 3, 1) == sizing.Layout(1, 3, 3, 1)
    assert sizing.layout(2, 2, 8) == sizing.Layout(2, 2, 2, 2), "two GPUs of each node, a stage per node"
    assert sizing.layout(4, 2, 2) == sizing.Layout(4, 1, 2, 2), "a group of four across two nodes of two"
    assert sizing.layout_problem(LLAMA2_70B, 2, 1, 1) == "one node"
    assert "multiple of 2" in sizing.layout_problem(LLAMA2_70B, 3, 2, 2)
    assert sizing.layout_problem(sizing.ModelArch(1, 2, 64, 8, 8, 8, 512), 1, 3, 1).startswith("a pipeline of 3")
    assert sizing.layout(1, 4, 1).nodes_needed(1) == 4 and sizing.layout(1, 4, 2).nodes_needed(4) == 1


def test_70b_on_one_gpu_nodes_is_told_to_spread_or_quantize_not_that_nothing_fits():
    """The design document's hardware: one A100-80GB per node. A replica of one node cannot hold the 70B; the
    message names what caps it and what fits: nodes per replica, or a quantized checkpoint, with their memory."""
    raw = stack_config("prod")
    model = raw["models"]["llama-2-7b-chat"]
    model.update(architecture="llama-2-70b", huggingfaceRepo="meta-llama/Llama-2-70b-chat-hf", tensorParallelSize=1)
    model["weights"]["sizeGib"] = 300
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    message = str(caught.value)
    assert "no tensor-parallel size" not in message
    assert "gpuPool.gpusPerNode (1) caps tensor parallelism within one node at 1 GPU" in message
    assert ("nodesPerReplica 2 with tensorParallelSize 1 (KV cache 4.3 GiB per GPU, about 6 sequences of 4096 "
            "tokens)") in message
    assert ("AWQ int4 (quantization awq) on one A100-80GB: weights 34.1 GiB, KV cache 35.0 GiB per GPU, about 27 "
            "sequences of 4096 tokens") in message
    # On one node (dev), nothing spreads; the quantized alternatives are what remains.
    raw = stack_config("dev")
    model = raw["models"]["llama-2-7b-chat"]
    model.update(architecture="llama-2-70b", nodesPerReplica="auto")
    model["weights"]["sizeGib"] = 300
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    issue = next(i for i in caught.value.issues if "weights are" in i.reason)
    assert (issue.path, issue.value) == ("models.llama-2-7b-chat.nodesPerReplica", "auto")
    assert issue.reason.startswith("auto found no layout of the pool that holds them")
    assert "no layout of the pool (1 node x 1 GPU) holds it; add GPU nodes" in issue.reason
    assert "AWQ int4 (quantization awq) on one A100-80GB: weights 34.1 GiB" in issue.reason


def test_a_mistral_entry_for_another_release_is_refused():
    raw = stack_config("prod")
    raw["models"]["mistral-7b-instruct"]["architecture"] = "mistral-7b"
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    assert ("models.mistral-7b-instruct.architecture: 'mistral-7b': describes another Mistral-7B than "
            "mistralai/Mistral-7B-Instruct-v0.2 (v0.2)") in str(caught.value)
    assert "set architecture: mistral-7b-v0.2" in str(caught.value)


def test_cost_figures_left_to_the_design_documents_defaults_are_named(raw_config):
    from components.planning import capacity
    from offline.run import platform_config

    raw = raw_config("dev")
    assert capacity.plan(platform_config("dev", raw)).cost_defaults == ()
    del raw["cost"]["capitalUsd"], raw["cost"]["requestsPerMonth"]
    planned = capacity.plan(platform_config("dev", raw))
    assert planned.cost_defaults == ("cost.capitalUsd", "cost.requestsPerMonth")
    assert "not this site's figures: cost.capitalUsd, cost.requestsPerMonth" in capacity.table(planned)
