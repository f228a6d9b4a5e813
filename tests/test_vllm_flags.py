"""`models.<key>.extraArgs` follows the pinned vLLM: its flags are derived from that version's own source."""

from __future__ import annotations

import json
import zipfile

import pytest

from components import versions
from components.config import SECRET_KEYS, ConfigError, parse_config
from components.config.vllm_args import check_extra_args, pinned_flags
from offline.run import stack_config
from tools import vllm_flags


def test_the_flag_set_and_the_pin_change_together():
    pin, flags = versions.vllm(), pinned_flags()
    assert flags["version"] == pin["version"] == pin["tag"].removeprefix("v")
    assert flags["wheel"] == {"file": pin["wheel"]["file"], "sha256": pin["wheel"]["sha256"]}
    assert pin["wheel"]["file"].startswith(f"vllm-{pin['version']}-")


@pytest.mark.parametrize("args", [
    ("--enable-chunked-prefill",), ("--no-enable-prefix-caching",), ("--max-num-batched-tokens=4096",),
    ("--max_num_batched_tokens", "4096"), ("--cudagraph-capture-sizes", "1", "2", "4"),
    ("--compilation-config.cudagraph_mode=FULL",), ("--max-num-batched",),
])
def test_flags_of_the_pinned_version_pass(args):
    check_extra_args(args)


def test_a_flag_the_pinned_version_removed_is_refused_with_its_replacement():
    with pytest.raises(ValueError) as caught:
        check_extra_args(("--cuda-graph-sizes", "8"))
    message = str(caught.value)
    assert "extraArgs[0] '--cuda-graph-sizes' was removed from vLLM after 0.12.0" in message
    assert f"the pinned vLLM is {versions.vllm()['version']}: use --cudagraph-capture-sizes instead" in message
    with pytest.raises(ValueError, match="'--swap-space' was removed .* drop it"):
        check_extra_args(("--swap-space=4",))


def test_a_flag_no_vllm_version_has_is_refused():
    with pytest.raises(ValueError, match=r"extraArgs\[1\] '--enable-turbo' is not a flag of vLLM 0\.34\.0"):
        check_extra_args(("--enable-chunked-prefill", "--enable-turbo"))
    with pytest.raises(ValueError, match="'-zz' is not a flag"):
        check_extra_args(("-zz",))


ENGINE_V1 = '''
import argparse
from dataclasses import dataclass

@dataclass
class EngineArgs:
    swap_space: float = 4
    enforce_eager: bool = False
    cuda_graph_sizes: list[int] | None = None

    @staticmethod
    def add_cli_args(parser):
        group = parser.add_argument_group("x")
        group.add_argument("--swap-space", type=float)
        group.add_argument("--enforce-eager", **kwargs["enforce_eager"])
        group.add_argument("--cuda-graph-sizes", help="--cuda-graph-sizes is deprecated; use --cudagraph-capture-sizes.")
        group.add_argument("--tensor-parallel-size", "-tp", type=int)
        return parser
'''
ENGINE_V2 = '''
import argparse
from dataclasses import dataclass

@dataclass
class EngineArgs:
    enforce_eager: bool = False

    @staticmethod
    def add_cli_args(parser):
        group = parser.add_argument_group("x")
        group.add_argument("--enforce-eager", **kwargs["enforce_eager"])
        group.add_argument("--cudagraph-capture-sizes", nargs="+")
        group.add_argument("--tensor-parallel-size", "-tp", type=int)
        group.add_argument("--async-scheduling", action=argparse.BooleanOptionalAction)
        return parser
'''
FRONTEND = '''
class FrontendArgs:
    port: int = 8000
    disable_uvicorn_access_log: bool = False
    _private: int = 0
'''


def _wheel(path, version, engine):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vllm/_version.py", f"__version__ = version = '{version}'\n")
        archive.writestr("vllm/engine/arg_utils.py", engine)
        archive.writestr("vllm/entrypoints/common/cli_args.py", FRONTEND)
    return path


def test_the_tool_reads_flags_and_removals_from_the_wheels_source(tmp_path):
    old = _wheel(tmp_path / "vllm-1.0.0-py3-none-any.whl", "1.0.0", ENGINE_V1)
    new = _wheel(tmp_path / "vllm-1.1.0-py3-none-any.whl", "1.1.0", ENGINE_V2)
    result = vllm_flags.derive(new, old)
    assert result["version"] == "1.1.0"
    assert result["flags"] == ["--async-scheduling", "--cudagraph-capture-sizes", "--disable-uvicorn-access-log",
                               "--enforce-eager", "--no-async-scheduling", "--no-disable-uvicorn-access-log",
                               "--no-enforce-eager", "--port", "--tensor-parallel-size"]
    assert result["short"] == ["-tp"]
    assert result["removed"] == {
        "--cuda-graph-sizes": {"lastIn": "1.0.0", "replacement": "--cudagraph-capture-sizes"},
        "--swap-space": {"lastIn": "1.0.0", "replacement": None},
    }
    # A later bump keeps what earlier ones removed.
    again = vllm_flags.derive(new, None, json.loads(json.dumps(result)))
    assert again["removed"] == result["removed"]


@pytest.mark.parametrize(("tag", "refused"), [
    ("v0.12.0", True), ("v0.34.1", True), ("v0.34", True), ("nightly-0.34.0", True),
    ("v0.34.0", False), ("v0.34.0-cu129", False), ("0.34.0", False),
])
def test_a_model_image_of_another_vllm_than_the_pin_is_refused(tag, refused):
    raw = stack_config("prod")
    raw["models"]["mistral-7b-instruct"]["image"]["tag"] = tag
    if not refused:
        assert parse_config(raw, [s.key for s in SECRET_KEYS]).models["mistral-7b-instruct"].image.tag == tag
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    message = str(caught.value)
    version = versions.vllm()["version"]
    assert "models.mistral-7b-instruct.image.tag: " in message
    assert f"the pinned vLLM is {version}" in message and f"set tag v{version}" in message
    assert "llama-2-7b-chat.image.tag" not in message, "the other model's pinned image passes"
