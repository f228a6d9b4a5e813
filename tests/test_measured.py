"""The site's `vllm bench serve` results against the capacity plan, and the plan fed with the measured speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config import SECRET_KEYS, parse_config
from components.planning import capacity, measured
from offline.__main__ import main
from offline.run import stack_config

SAMPLE = Path(__file__).parent / "data" / "vllm-bench-serve-mistral-c8.json"


@pytest.fixture(scope="module")
def prod_cfg():
    return parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])


def test_a_saved_result_is_read_as_vllm_writes_it():
    run = measured.read_run(SAMPLE)
    assert (run.served_model_name, run.concurrency, run.prompt_tokens, run.output_tokens) == (
        "mistral-7b-instruct", 8, 300, 150)
    assert (run.output_tokens_per_second, run.itl_seconds, run.ttft_seconds) == (602.3, 0.0126, 0.0412)


def test_each_run_is_compared_with_the_plan_for_the_same_setup(prod_cfg):
    [found] = measured.compare(prod_cfg, measured.read_runs(SAMPLE.parent))
    assert found.key == "mistral-7b-instruct"
    ratios = found.ratios
    assert ratios["tokensPerSecond"] == pytest.approx(602.3 / found.predicted_tokens_per_second)
    assert ratios["itl"] == pytest.approx(0.0126 / found.predicted_itl_seconds)
    # Eight streams, each waiting for its first token and then 149 steps per request of 150 tokens.
    per_request = found.predicted_ttft_seconds + 149 * found.predicted_itl_seconds
    assert found.predicted_tokens_per_second == pytest.approx(8 * 150 / per_request)
    assert found.predicted_tokens_per_second < 8 / found.predicted_itl_seconds
    # The sample sits within the model's known error.
    assert all(0.8 < r < 1.3 for r in ratios.values()), ratios
    assert measured.site_factors([found]) == {"mistral-7b-instruct": pytest.approx(ratios["tokensPerSecond"])}


def test_the_measured_factor_feeds_the_plan(prod_cfg):
    plain = capacity.plan(prod_cfg).models["mistral-7b-instruct"]
    model = prod_cfg.models["mistral-7b-instruct"].model_copy(update={"measured_throughput_factor": 0.5})
    slower = prod_cfg.model_copy(update={"models": {**prod_cfg.models, "mistral-7b-instruct": model}})
    half = capacity.plan(slower).models["mistral-7b-instruct"]
    assert plain.to_dict()["figures"] == "predicted" and half.to_dict()["figures"] == "measured"
    assert half.capacity.step_seconds <= prod_cfg.cost.itl_target_seconds
    assert half.decode_tokens_per_second < plain.decode_tokens_per_second
    assert "measured, the plan scaled by models.mistral-7b-instruct.measuredThroughputFactor 0.5" in capacity.table(
        capacity.plan(slower))


def test_a_file_without_the_metrics_is_refused_with_the_flag_that_writes_them(tmp_path):
    broken = tmp_path / "run.json"
    broken.write_text(json.dumps({"model_id": "x", "completed": 3}))
    with pytest.raises(ValueError, match="lacks total_input_tokens.*--save-result"):
        measured.read_run(broken)


def test_an_unknown_model_is_named(prod_cfg, tmp_path):
    data = json.loads(SAMPLE.read_text()) | {"model_id": "gpt-x"}
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="model_id 'gpt-x' is not a servedModelName"):
        measured.compare(prod_cfg, measured.read_runs(tmp_path))


def test_the_command_prints_the_plan_and_the_comparison(capsys, tmp_path):
    out = tmp_path / "ratios.json"
    assert main(["capacity", "--stack", "prod", "--measured", str(SAMPLE), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Capacity, predicted" in printed and "Measured against predicted" in printed
    assert json.loads(out.read_text())[0]["model"] == "mistral-7b-instruct"
