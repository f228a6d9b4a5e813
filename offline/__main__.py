"""Command line of the offline engine.

    python -m offline preview --stack dev [--stand-in-secrets] [--out DIR] [--config FILE]
    python -m offline policy --inventory FILE [--policy-config FILE] [--in-process]

Exit codes: 0 success; 1 a mandatory policy failed or a custom resource breaks its CRD schema;
2 invalid config or an inventory lookup that failed (one message, no traceback).

The stack config is validated, as the program validates it, before anything is printed. Secrets set
in the stack file (``{secure: ...}``) cannot be decrypted offline and get stand-ins; secrets that are
not set make the preview fail with the commands that set them, unless ``--stand-in-secrets`` asks for
stand-ins in their place.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import pulumi

from components.config import MISSING, PROJECT, SECRET_KEYS, ConfigError, ConfigIssue, PlatformConfig, load_engine_config
from components.config.stack_file import read_stack_file
from components.planning import capacity
from offline.checks import crds
from offline.checks.analyzer import run_pack_process
from offline.checks.compliance import compliance, markdown
from offline.checks.policy import PolicyReport, load_json, run_pack
from offline.render import inventory, manifest, tree, write_outputs
from offline.run import ROOT, engine_config, evaluate, stack_config
from offline.world import LookupFailed
from tools.policy_config import CONFIG_DIR

USER_ERRORS = (ConfigError, pulumi.RunError, LookupFailed, FileNotFoundError)


def _print_violations(report: PolicyReport) -> None:
    for violation in report.violations:
        sys.stdout.write(f"[{violation.level}] {violation.policy}: {violation.urn or '(stack)'}\n    {violation.message}\n")
    sys.stdout.write(f"\nPolicies: {len(report.levels)} run, {len(report.violations)} violation(s), "
                     f"{len(report.mandatory)} mandatory\n")


def _run_pack(inventory_doc: dict, pack_config: dict, in_process: bool) -> PolicyReport:
    """The pack as `pulumi preview --policy-pack` runs it (its own process, over gRPC), or in-process."""
    if in_process:
        return run_pack(inventory_doc, pack_config)
    return run_pack_process(inventory_doc, pack_config)[0]


def validated_config(stack: str, raw: dict, secrets: tuple[str, ...]) -> PlatformConfig:
    """The config as the program will see it, validated by the program's own checks (ConfigError if not)."""
    try:
        return load_engine_config(*engine_config(stack, raw, secrets))[0]
    except ConfigError as error:
        missing = [i for i in error.issues if i.path in {s.key for s in SECRET_KEYS} and "is required" in i.reason]
        if not missing:
            raise
        hint = ConfigIssue("--stand-in-secrets", MISSING, "the offline preview cannot decrypt nor invent secrets; "
                           "set the secrets above, or run it with --stand-in-secrets to use stand-in values")
        raise ConfigError([*error.issues, hint]) from None


def _located(error: ConfigError, path: Path) -> ConfigError:
    """The same problems, each with the stack file line of its key where the file sets it."""
    try:
        stack_file = read_stack_file(path, PROJECT)
    except ConfigError:
        return error
    return ConfigError([issue if issue.location else dataclasses.replace(issue, location=stack_file.location(
        PROJECT, issue.path)) for issue in error.issues])


def _preview(args: argparse.Namespace) -> int:
    path = Path(args.config) if args.config else ROOT / f"Pulumi.{args.stack}.yaml"
    raw = stack_config(args.stack, config_file=path if args.config else None)
    secrets = tuple(s.key for s in SECRET_KEYS) if args.stand_in_secrets else ()
    try:
        cfg = validated_config(args.stack, raw, secrets)
    except ConfigError as error:
        raise _located(error, path) from None
    evaluation = evaluate(args.stack, raw, secrets=secrets)
    sys.stdout.write(tree(evaluation))
    plan = capacity.plan(cfg)
    sys.stdout.write("\n" + capacity.table(plan))
    pack_config = load_json(Path(args.policy_config) if args.policy_config else CONFIG_DIR / f"{args.stack}.json")
    schema_report = crds.check([manifest(record) for record in evaluation.graph.kubernetes_objects()])
    sys.stdout.write(f"\nCustom resources: {schema_report.validated} validated against upstream CRD schemas, "
                     f"{len(schema_report.errors)} error(s); no published schema: {schema_report.unvalidated or 'none'}\n")
    for error in schema_report.errors:
        sys.stdout.write(f"  schema error: {error}\n")
    report = _run_pack(inventory(evaluation), pack_config, args.in_process)
    sys.stdout.write("\nPolicy pack (offline):\n")
    _print_violations(report)
    if args.out:
        out = Path(args.out)
        written = write_outputs(evaluation, out)
        document = compliance(report, pack_config)
        (out / "compliance.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        (out / "compliance.md").write_text(markdown(document))
        (out / "capacity.json").write_text(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
        sys.stdout.write(f"\nWrote {len(written)} manifests, inventory.json, outputs.json, compliance.json, "
                         f"compliance.md and capacity.json to {out}\n")
    return 1 if report.mandatory or schema_report.errors else 0


def _policy(args: argparse.Namespace) -> int:
    document = load_json(Path(args.inventory))
    config_path = Path(args.policy_config) if args.policy_config else CONFIG_DIR / f"{document['stack']}.json"
    report = _run_pack(document, load_json(config_path), args.in_process)
    _print_violations(report)
    return 1 if report.mandatory else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="run the program offline, print the tree and the policy results")
    preview.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml is read")
    preview.add_argument("--out", help="directory for manifests/, inventory.json, outputs.json and compliance reports")
    preview.add_argument("--config", help="read the stack config from this file instead of Pulumi.<stack>.yaml")
    preview.add_argument("--stand-in-secrets", action="store_true",
                         help="use stand-in values for secrets the stack file does not set (sample stacks, CI)")
    preview.add_argument("--policy-config", help="policy pack config (default: policies/config/<stack>.json)")
    preview.add_argument("--in-process", action="store_true", help="call the policies directly, not the pack process")
    preview.set_defaults(run=_preview)
    policy = commands.add_parser("policy", help="run the policy pack on an inventory.json")
    policy.add_argument("--inventory", required=True)
    policy.add_argument("--policy-config", help="policy pack config (default: policies/config/<stack>.json)")
    policy.add_argument("--in-process", action="store_true", help="call the policies directly, not the pack process")
    policy.set_defaults(run=_policy)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
