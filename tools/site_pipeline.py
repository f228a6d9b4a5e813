"""The checks a site repository runs on every pull request, stack by stack (examples/site-repository/).

    python -m tools.site_pipeline [--stack STACK ...] [--pulumi] [--out DIR]

For each stack (default: every ``Pulumi.<stack>.yaml`` here):

1. ``policies/config/<stack>.json`` is the one derived from the stack file (``python -m tools.policy_config``):
   a stack without it, or with a stale one, fails with the command that writes it;
2. the offline preview with the policy pack on that config, against ``site/<stack>.yaml`` when the site
   repository describes its site there (``--site-inventory``), with stand-ins for secrets (CI holds none);
3. with ``--pulumi``, ``pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json``
   against the real backend, when one is configured (``PULUMI_BACKEND_URL``) and the CLI is installed; else
   the step says why it was skipped.

The last line is the verdict: every stack passed, or which stacks failed at which step. Exit 1 if any did.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_DIR = "site"
"""Where a site repository keeps its site inventory files, one per stack (site/<stack>.yaml)."""


@dataclass
class Step:
    stack: str
    name: str
    ok: bool | None
    """None: skipped."""
    detail: str


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """A step's command, run in the program's directory (stack files are read from there)."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def policy_config_step(stack: str, root: Path) -> Step:
    committed = root / "policies" / "config" / f"{stack}.json"
    derived = _run([sys.executable, "-m", "tools.policy_config", "--stack", stack], ROOT)
    if derived.returncode != 0:
        return Step(stack, "policy config", False, derived.stderr.strip().splitlines()[-1] if derived.stderr else "failed")
    fix = f"run `python -m tools.policy_config --stack {stack} --write` and commit {committed.relative_to(root)}"
    if not committed.exists():
        return Step(stack, "policy config", False, f"{committed.relative_to(root)} is missing; {fix}")
    if committed.read_text() != derived.stdout:
        return Step(stack, "policy config", False, f"{committed.relative_to(root)} differs from the stack file's; {fix}")
    return Step(stack, "policy config", True, f"{committed.relative_to(root)} matches the stack file")


def offline_preview_step(stack: str, root: Path, out: Path | None) -> Step:
    command = [sys.executable, "-m", "offline", "preview", "--stack", stack, "--stand-in-secrets",
               "--policy-config", str(root / "policies" / "config" / f"{stack}.json")]
    inventory = root / SITE_DIR / f"{stack}.yaml"
    if inventory.exists():
        command += ["--site-inventory", str(inventory)]
    if out is not None:
        command += ["--out", str(out / stack)]
    result = _run(command, ROOT)
    lines = (result.stdout.strip() or result.stderr.strip()).splitlines()
    verdict = next((line for line in reversed((result.stdout + result.stderr).splitlines())
                    if line.startswith("Preview ")), lines[-1] if lines else "")
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "  - "))]
    detail = verdict + ("".join(f"\n      {line}" for line in errors) if result.returncode else "")
    return Step(stack, "offline preview", result.returncode == 0, detail)


def pulumi_preview_step(stack: str, root: Path) -> Step:
    if not os.environ.get("PULUMI_BACKEND_URL"):
        return Step(stack, "pulumi preview", None, "skipped: no state backend configured (PULUMI_BACKEND_URL)")
    cli = shutil.which("pulumi")
    if cli is None:
        return Step(stack, "pulumi preview", None, "skipped: the pulumi CLI is not installed")
    result = _run([cli, "preview", "--stack", stack, "--non-interactive", "--policy-pack", "policies",
                   "--policy-pack-config", f"policies/config/{stack}.json"], root)
    tail = (result.stdout + result.stderr).strip().splitlines()
    return Step(stack, "pulumi preview", result.returncode == 0, tail[-1] if tail else "")


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.site_pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", action="append", help="a stack to check (repeatable; default: every stack file)")
    parser.add_argument("--pulumi", action="store_true", help="also run `pulumi preview --policy-pack` where a backend "
                        "is configured")
    parser.add_argument("--out", help="directory for each stack's preview artefacts (<out>/<stack>/)")
    args = parser.parse_args(argv)
    stacks = args.stack or sorted(p.name.split(".")[1] for p in root.glob("Pulumi.*.yaml"))
    out = Path(args.out) if args.out else None
    steps: list[Step] = []
    for stack in stacks:
        config = policy_config_step(stack, root)
        steps.append(config)
        steps.append(offline_preview_step(stack, root, out) if config.ok else
                     Step(stack, "offline preview", None, "skipped: the policy config is not the stack's"))
        if args.pulumi:
            steps.append(pulumi_preview_step(stack, root))
    for step in steps:
        state = {True: "ok", False: "FAILED", None: "skipped"}[step.ok]
        sys.stdout.write(f"{step.stack:<16}{step.name:<18}{state:<9}{step.detail}\n")
    failed = [f"{s.stack} ({s.name})" for s in steps if s.ok is False]
    sys.stdout.write(f"\nSite pipeline FAILED: {', '.join(failed)}\n" if failed else
                     f"\nSite pipeline passed: {', '.join(stacks)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
