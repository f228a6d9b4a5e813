"""Command line of the offline engine.

    python -m offline preview --stack dev [--out DIR] [--config FILE]

Exit codes: 0 success, 2 invalid config or an inventory lookup that failed (message, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pulumi

from components.config import ConfigError
from offline.engine import evaluate, stack_config
from offline.render import tree, write_outputs
from offline.world import LookupFailed

USER_ERRORS = (ConfigError, pulumi.RunError, LookupFailed, FileNotFoundError)


def _preview(args: argparse.Namespace) -> int:
    raw = stack_config(args.stack, config_file=Path(args.config) if args.config else None)
    evaluation = evaluate(args.stack, raw)
    sys.stdout.write(tree(evaluation))
    if args.out:
        out = Path(args.out)
        written = write_outputs(evaluation, out)
        sys.stdout.write(f"\nWrote {len(written)} manifests, inventory.json and outputs.json to {out}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="run the program offline and print the resource tree")
    preview.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml is read")
    preview.add_argument("--out", help="directory for manifests/, inventory.json and outputs.json")
    preview.add_argument("--config", help="read the stack config from this file instead of Pulumi.<stack>.yaml")
    preview.set_defaults(run=_preview)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
