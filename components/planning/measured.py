"""The site's measured capacity against the plan: `vllm bench serve --save-result` files, model by model.

Each result file is the JSON `vllm bench serve --save-result` writes: ``model_id`` (the served model name
the benchmark sent), ``max_concurrency``, ``completed``, ``total_input_tokens``, ``total_output_tokens``,
``output_throughput`` and the ``mean_*_ms`` latencies. For every file this predicts the same setup (the
model's layout on the stack's GPUs, the measured concurrency and the measured mean prompt and completion
lengths) and gives measured / predicted for output tok/s, ITL and TTFT. The median tok/s ratio over a
model's files is the site's measured efficiency: the factor the plan's throughput is off by on this
hardware, to be set as ``models.<key>.measuredThroughputFactor`` once the operator trusts the runs.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config.model import PlatformConfig
from components.planning import capacity, sizing

RESULT_PREFIX = "vllm-bench-result:"
"""How the site's benchmark Job prints each saved result in its log: this, a space, the result's JSON."""
REQUIRED = ("model_id", "completed", "total_input_tokens", "total_output_tokens", "output_throughput",
            "mean_ttft_ms", "mean_itl_ms")


@dataclass(frozen=True)
class BenchRun:
    source: str
    served_model_name: str
    concurrency: int
    prompt_tokens: int
    output_tokens: int
    output_tokens_per_second: float
    itl_seconds: float
    ttft_seconds: float


@dataclass(frozen=True)
class Comparison:
    key: str
    run: BenchRun
    predicted_tokens_per_second: float
    predicted_itl_seconds: float
    predicted_ttft_seconds: float

    @property
    def ratios(self) -> dict[str, float]:
        return {"tokensPerSecond": self.run.output_tokens_per_second / self.predicted_tokens_per_second,
                "itl": self.run.itl_seconds / self.predicted_itl_seconds,
                "ttft": self.run.ttft_seconds / self.predicted_ttft_seconds}


def read_run(path: Path) -> BenchRun:
    """One saved result; a missing field names the file and what `vllm bench serve` flag writes it."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a `vllm bench serve --save-result` file ({error})") from error
    return _run(str(path), data)


def read_log(path: Path) -> list[BenchRun]:
    """The results a benchmark Job printed (``kubectl logs job/<model>-bench-<run> > FILE``), one per level."""
    runs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(RESULT_PREFIX):
            try:
                data = json.loads(line[len(RESULT_PREFIX):])
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: a cut {RESULT_PREFIX} line ({error})") from error
            runs.append(_run(f"{path}:{number}", data))
    if not runs:
        raise ValueError(f"{path}: no {RESULT_PREFIX!r} lines; is it the log of a benchmark Job that finished?")
    return runs


def _run(path: str, data: dict[str, Any]) -> BenchRun:
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"{path}: lacks {', '.join(missing)}; run `vllm bench serve` with --save-result and "
                         "--percentile-metrics ttft,tpot,itl")
    completed = int(data["completed"])
    if completed < 1:
        raise ValueError(f"{path}: no request completed; nothing to compare")
    concurrency = data.get("max_concurrency") or data.get("max_concurrent_requests") or completed
    return BenchRun(path, str(data["model_id"]), int(concurrency),
                    round(data["total_input_tokens"] / completed), round(data["total_output_tokens"] / completed),
                    float(data["output_throughput"]), data["mean_itl_ms"] / 1000, data["mean_ttft_ms"] / 1000)


def read_runs(path: Path) -> list[BenchRun]:
    """Saved result files (one, or a directory of *.json) and benchmark Job logs (*.log)."""
    files = sorted([*path.glob("*.json"), *path.glob("*.log")]) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{path}: no result files (*.json) or benchmark Job logs (*.log)")
    return [run for f in files for run in (read_log(f) if f.suffix == ".log" else [read_run(f)])]


def compare(cfg: PlatformConfig, runs: list[BenchRun]) -> list[Comparison]:
    by_name = {m.served_model_name: k for k, m in cfg.models.items()}
    gpu, net = capacity.pool_gpu(cfg), capacity.fabric(cfg)
    found = []
    for run in runs:
        key = by_name.get(run.served_model_name) or (run.served_model_name if run.served_model_name in cfg.models
                                                     else None)
        if key is None:
            raise ValueError(f"{run.source}: model_id {run.served_model_name!r} is not a servedModelName of the stack "
                             f"({', '.join(sorted(by_name))})")
        model = cfg.models[key]
        arch = capacity.models_catalogue(cfg)[model.architecture]
        lay = capacity.layout_of(cfg, model)
        kwargs = capacity.decode_kwargs(model)
        if lay.multi_node:
            step = sizing.decode_step(arch, gpu, lay, max(1, -(-run.concurrency // lay.pipeline_parallel)),
                                      run.prompt_tokens + run.output_tokens // 2, net, **kwargs).seconds
            step += sizing.interleaved_prefill_seconds(arch, gpu, lay.tensor_parallel, run.concurrency,
                                                       run.prompt_tokens, run.output_tokens, model.quantization)
        else:
            step = sizing.decode_step_seconds(arch, gpu, lay.tensor_parallel, run.concurrency,
                                              run.prompt_tokens + run.output_tokens // 2,
                                              prompt_tokens=run.prompt_tokens, output_tokens=run.output_tokens, **kwargs)
        ttft = sizing.layout_prefill_seconds(arch, gpu, lay, run.prompt_tokens, net, model.quantization)
        # The benchmark's tok/s counts each request's wait for its first token too.
        found.append(Comparison(key, run, sizing.closed_loop_tokens_per_second(run.concurrency, step, ttft,
                                                                               run.output_tokens), step, ttft))
    return found


def site_factors(comparisons: list[Comparison]) -> dict[str, float]:
    """Per model, the median measured / predicted tok/s: the site's measured efficiency against the plan."""
    keys = sorted({c.key for c in comparisons})
    return {k: statistics.median(c.ratios["tokensPerSecond"] for c in comparisons if c.key == k) for k in keys}


def table(comparisons: list[Comparison]) -> str:
    lines = ["Measured against predicted (ratio measured / predicted; TTFT at concurrency above 1 includes queueing):",
             f"{'model':<24}{'conc':>5}{'in/out':>11}{'tok/s':>9}{'ratio':>7}{'ITL ms':>8}{'ratio':>7}"
             f"{'TTFT ms':>9}{'ratio':>7}"]
    for c in comparisons:
        r, q = c.run, c.ratios
        lines.append(f"{c.key:<24}{r.concurrency:>5}{f'{r.prompt_tokens}/{r.output_tokens}':>11}"
                     f"{r.output_tokens_per_second:>9.0f}{q['tokensPerSecond']:>7.2f}{r.itl_seconds * 1e3:>8.1f}"
                     f"{q['itl']:>7.2f}{r.ttft_seconds * 1e3:>9.0f}{q['ttft']:>7.2f}")
    for key, factor in site_factors(comparisons).items():
        lines.append(f"  {key}: measured throughput is {factor:.2f} x the plan's (median over its runs); set "
                     f"models.{key}.measuredThroughputFactor: {factor:.2f} to plan with it")
    return "\n".join(lines) + "\n"
