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


def test_llama2_70b_weights_do_not_fit_one_80gb_gpu():
    fit = sizing.memory_fit(LLAMA2_70B, A100, 1, 4096)
    assert fit.weights_gib == pytest.approx(128.5, abs=0.1) and not fit.weights_fit


def test_tensor_parallel_two_leaves_little_kv_and_four_is_practical():
    tp2 = sizing.memory_fit(LLAMA2_70B, A100, 2, 4096)
    tp4 = sizing.memory_fit(LLAMA2_70B, A100, 4, 4096)
    assert tp2.kv_pool_gib == pytest.approx(4.0, abs=0.2) and tp2.kv_tokens == pytest.approx(26_000, rel=0.05)
    assert tp2.max_concurrent_sequences == 6
    assert tp4.kv_pool_gib == pytest.approx(36.2, abs=0.2) and tp4.kv_tokens == pytest.approx(474_000, rel=0.01)
    assert tp4.max_concurrent_sequences == 115
    assert sizing.smallest_fitting_tp(LLAMA2_70B, A100, 4096) == 2


def test_gqa_kv_is_a_quarter_of_mha():
    mistral, llama = (sizing.kv_bytes_per_token(sizing.MODELS[m]) for m in ("mistral-7b", "llama-2-7b"))
    assert (mistral, llama) == (128 * 1024, 512 * 1024)
    assert sizing.kv_bytes_per_token(sizing.MODELS["mistral-7b"], "fp8") == 64 * 1024


@pytest.mark.parametrize(("model", "gpu", "budget", "weights"), [
    ("llama-3.1-8b", "L40S", 40.5, 15.0), ("llama-3.1-8b", "H100-SXM", 71.6, 15.0), ("llama-2-7b", "A10", 20.2, 12.6),
])
def test_budget_and_weights_match_the_worked_examples(model, gpu, budget, weights):
    fit = sizing.memory_fit(sizing.MODELS[model], sizing.GPUS[gpu], 1, 4096)
    assert fit.budget_gib == pytest.approx(budget, abs=0.1)
    assert fit.weights_per_gpu_gib == pytest.approx(weights, abs=0.1)
    # The worked examples allow 2-3 GiB of overhead for 7-8B models; the model takes 2 below 20B parameters.
    assert fit.kv_pool_gib == pytest.approx(budget - weights - 2, abs=0.1)


# Measured on one H200 (sizing reference): model, batch, tokens/s at a 1024-token context.
H200_DECODE = [
    ("llama-2-7b", 1, 192), ("llama-2-7b", 8, 1250), ("llama-2-7b", 32, 3329), ("llama-2-7b", 64, 4757),
    ("mistral-7b", 1, 191), ("mistral-7b", 8, 1337), ("mistral-7b", 32, 4587), ("mistral-7b", 64, 7913),
]


@pytest.mark.parametrize(("model", "batch", "measured"), H200_DECODE)
def test_decode_estimate_is_within_25_percent_of_measured_h200(model, batch, measured):
    estimate = sizing.decode_tokens_per_second(sizing.MODELS[model], sizing.GPUS["H200"], 1, batch, 1024)
    assert estimate == pytest.approx(measured, rel=0.25)


def test_prefill_of_a_4k_prompt_on_four_a100s_takes_about_a_second():
    assert sizing.prefill_seconds(LLAMA2_70B, A100, 4, 4096) == pytest.approx(0.9, abs=0.1)


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
    assert "2 (KV cache 4.0 GiB per GPU, about 6 sequences of 4096 tokens); 4 (KV cache 36.2 GiB per GPU" in message


def test_preview_prints_and_exports_the_plan(prod, dev):
    assert prod.outputs["capacity"]["mistral-7b-instruct"]["maxConcurrentSequences"] == 111
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
    assert pp2.kv_pool_gib == pytest.approx(4.0, abs=0.2) and pp2.kv_tokens == pytest.approx(tp2.kv_tokens, rel=0.01)
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
    capacity = sizing.layout_capacity(LLAMA2_70B, A100, sizing.layout(1, 4, 1), 300, 150, 0.15, 114, fabric)
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
    assert ("nodesPerReplica 2 with tensorParallelSize 1 (KV cache 4.0 GiB per GPU, about 6 sequences of 4096 "
            "tokens)") in message
    assert ("AWQ int4 (quantization awq) on one A100-80GB: weights 34.4 GiB, KV cache 33.9 GiB per GPU, about 27 "
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
    assert "AWQ int4 (quantization awq) on one A100-80GB: weights 34.4 GiB" in issue.reason
