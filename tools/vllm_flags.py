"""Derive the `vllm serve` flags of the pinned vLLM from its own argument definitions.

    python -m tools.vllm_flags --wheel vllm-0.34.0-....whl [--previous vllm-0.12.0-....whl] [--write]

Reads the wheel as a zip archive (nothing is installed or imported): parses with ``ast`` the modules that
build the serve parser (``EngineArgs.add_cli_args`` in ``vllm/engine/arg_utils.py`` and ``make_arg_parser``
with the frontend dataclasses in ``vllm/entrypoints/*/cli_args.py``), collects every ``add_argument`` flag,
every frontend dataclass field (vLLM turns each into ``--field-name``) and the ``--no-`` form of boolean
flags; and, as ``benchServe``, the flags of ``vllm bench serve`` (``vllm/benchmarks/serve.py`` and its dataset
parser), which the benchmark Job's command is checked against.
With ``--previous``, the flags the older version had and this one lacks are recorded as removed, with
the replacement its deprecation text names. ``--write`` stores the result in components/config/vllm_flags.json,
which ``models.<key>.extraArgs`` is checked against; the file's version must equal the lock's vLLM pin.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "components" / "config" / "vllm_flags.json"
PARSER_MODULES = ("vllm/engine/arg_utils.py", "vllm/entrypoints/openai/cli_args.py",
                  "vllm/entrypoints/common/cli_args.py", "vllm/utils/argparse_utils.py")
"""The serve parser's modules; argparse_utils.py holds FlexibleArgumentParser, which rewrites ``-O3`` and the
like before argparse sees them."""
BENCH_MODULES = ("vllm/benchmarks/serve.py", "vllm/benchmarks/datasets/datasets.py")
"""The `vllm bench serve` parser's modules (its own flags and ``add_dataset_parser``): the site's benchmark Job
uses only flags found there."""
FRONTEND_CLASSES = {"FrontendArgs", "BaseFrontendArgs"}
ENGINE_CLASSES = {"EngineArgs", "AsyncEngineArgs"}
_FLAG = re.compile(r"--[a-z0-9][a-z0-9-]*")


def _is_bool(annotation: ast.expr) -> bool:
    text = ast.unparse(annotation)
    return text in ("bool", "bool | None", "Optional[bool]", "None | bool")


def _sources(wheel: Path, modules: tuple[str, ...] = PARSER_MODULES) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        return {name: archive.read(name).decode() for name in modules if name in names}


def _version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        if "vllm/_version.py" in archive.namelist():
            found = re.search(r"""__version__\s*=\s*version\s*=\s*['"]([^'"]+)['"]""",
                              archive.read("vllm/_version.py").decode())
            if found:
                return found.group(1).split("+", 1)[0]
    return wheel.name.split("-")[1]


def parse(sources: dict[str, str]) -> tuple[set[str], set[str], list[str]]:
    """(long flags, short flags, string constants) of the serve parser's modules."""
    long_flags: set[str] = set()
    short: set[str] = set()
    texts: list[str] = []
    engine_bools: set[str] = set()
    for text in sources.values():
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in FRONTEND_CLASSES | ENGINE_CLASSES:
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        name = item.target.id
                        if name.startswith("_"):
                            continue
                        dashed = "--" + name.replace("_", "-")
                        if node.name in FRONTEND_CLASSES:
                            long_flags.add(dashed)
                            if _is_bool(item.annotation):
                                long_flags.add("--no-" + dashed[2:])
                        elif _is_bool(item.annotation):
                            engine_bools.add(dashed)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                boolean = any(k.arg == "action" and "BooleanOptionalAction" in ast.unparse(k.value) for k in node.keywords)
                for name in names:
                    if name.startswith("--"):
                        long_flags.add(name)
                        if boolean:
                            long_flags.add("--no-" + name[2:])
                    elif name.startswith("-"):
                        short.add(name)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith"
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                  and re.fullmatch(r"-[A-Za-z]+", node.args[0].value)):
                # FlexibleArgumentParser's own short forms (``arg.startswith("-O")``).
                short.add(node.args[0].value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
    # get_kwargs gives boolean engine fields BooleanOptionalAction, so their --no- form parses too.
    long_flags |= {"--no-" + f[2:] for f in engine_bools if f in long_flags}
    return long_flags, short, texts


def _replacement(flag: str, texts: list[str], current: set[str]) -> str | None:
    """The flag a deprecation text about ``flag`` tells users to use instead, if that flag exists now."""
    for text in texts:
        if flag in text and "deprecat" in text.lower():
            for other in _FLAG.findall(text.split(flag, 1)[1]):
                base = other.split(".", 1)[0]
                if other != flag and base in current:
                    return other
    return None


def derive(wheel: Path, previous: Path | None = None, known: dict | None = None) -> dict:
    flags, short, texts = parse(_sources(wheel))
    version = _version(wheel)
    removed = dict((known or {}).get("removed", {}))
    removed = {f: r for f, r in removed.items() if f not in flags}
    if previous is not None:
        old_flags, _, old_texts = parse(_sources(previous))
        old_version = _version(previous)
        for flag in sorted(old_flags - flags):
            removed[flag] = {"lastIn": old_version, "replacement": _replacement(flag, old_texts + texts, flags)}
    return {
        "about": "Flags of `vllm serve` in the pinned vLLM, derived by tools/vllm_flags.py from the wheel's own "
                 "argument definitions; models.<key>.extraArgs is checked against them. Regenerate on a version bump.",
        "version": version,
        "wheel": {"file": wheel.name, "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()},
        "flags": sorted(flags),
        "short": sorted(short),
        "removed": dict(sorted(removed.items())),
        "benchServe": sorted(parse(_sources(wheel, BENCH_MODULES))[0]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vllm_flags", description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, required=True, help="the vLLM wheel of the pinned version")
    parser.add_argument("--previous", type=Path, help="the wheel of the version pinned before, to record removals")
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT.name}")
    args = parser.parse_args(argv)
    known = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else None
    result = derive(args.wheel, args.previous, known)
    text = json.dumps(result, indent=1) + "\n"
    if args.write:
        OUTPUT.write_text(text)
        print(f"wrote {OUTPUT} ({len(result['flags'])} flags of vLLM {result['version']}, "
              f"{len(result['removed'])} removed)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
