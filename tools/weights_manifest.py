"""Record a mirrored model revision's weights manifest, to pin as ``models.<key>.weightsManifest``.

    python -m tools.weights_manifest DIR [--allow-pickle]

DIR is the revision as the site mirrored it (e.g. ``huggingface-cli download REPO --revision COMMIT
--local-dir DIR``, checked by whoever approves the model). Prints the YAML to paste under the model in
the stack file, and the manifest's digest, which the served replicas then carry. Files staging would
refuse (pickle checkpoints without ``--allow-pickle``, code, READMEs) are left out and named, so what
is recorded is exactly what staging fetches and accepts.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from components.jobs.stage_weights import ALLOWED_PATTERNS, allowed, manifest_digest, manifest_of


def render(manifest: dict[str, str]) -> str:
    lines = ["weightsManifest:"] + [f"  {path}: {digest}" for path, digest in sorted(manifest.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.weights_manifest", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--allow-pickle", action="store_true", help="accept pickle checkpoints (never in production)")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"{args.directory} is not a directory", file=sys.stderr)
        return 2
    found = manifest_of(args.directory)
    manifest = {p: d for p, d in found.items() if allowed(p, args.allow_pickle)}
    left_out = sorted(set(found) - set(manifest))
    if left_out:
        print(f"left out (staging accepts only {', '.join(ALLOWED_PATTERNS)}"
              f"{'' if args.allow_pickle else '; pickle with --allow-pickle'}): {', '.join(left_out)}", file=sys.stderr)
    if not manifest:
        print(f"{args.directory} holds no file staging accepts", file=sys.stderr)
        return 1
    print(render(manifest))
    print(f"# identity of these weights: {manifest_digest(manifest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
