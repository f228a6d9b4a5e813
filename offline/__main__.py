"""Command line of the offline engine.

    python -m offline preview --stack dev [--stand-in-secrets] [--out DIR] [--config FILE] [--artifacts DIR]
                              [--require-artifacts] [--pack-process] [--existing-stack] [--site-inventory FILE]
    python -m offline plan --stack dev --baseline DIR|INVENTORY|GIT_REV [--config FILE] [--out DIR] [--show-sames]
    python -m offline mirror --stack prod [--stand-in-secrets] [--json] [--artifacts DIR]
    python -m offline policy --inventory FILE [--policy-config FILE] [--in-process]

``preview`` prints the plan of `pulumi preview` on a new stack: ids and computed outputs of resources
being created are unknown, applies on them do not run, a read runs when its id is known and fails
(``resource '<id>' does not exist``) unless the object existed before the deployment, and invokes on
unknowns are skipped. ``--existing-stack`` previews a stack whose resources all exist instead.
The checks and the ``--out`` artefacts (manifests/, inventory.json, outputs.json, compliance and
capacity reports) always come from the resolved `pulumi up` run, where every value is known.

``plan`` compares the stack with a baseline, a previous ``--out`` directory (or its inventory.json)
or a git revision (the program and stack file at that revision, run in a temporary export), and
prints each create (+), update (~), replace (+-) and delete (-) with the changed property paths, like
`pulumi preview --diff`; ``--out`` writes it as plan.json; ``--show-sames`` lists unchanged
resources too. See offline/plan/update.py for what it models.

Exit codes: 0 success; 1 a mandatory policy failed, an object (the program's or a chart's) fails a
check (schema, CRD, Pod Security, image registry, ignored chart value, chart render), or the
simulated first `pulumi up` fails (a kind not yet served, a wait longer than its timeout); for `mirror`,
the list is incomplete; for `plan`, the plan holds an error (a protected resource replaced or
deleted, a change the provider or API server refuses); 2 invalid config, an inventory lookup or a
read that failed, missing artifacts that were required, or an unusable baseline (one message, no
traceback).

The stack config is validated, as the program validates it, before anything is printed. Secrets set
in the stack file (``{secure: ...}``) cannot be decrypted offline and get stand-ins; secrets that are
not set make the preview fail with the commands that set them, unless ``--stand-in-secrets`` asks for
stand-ins in their place.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pulumi

from components.config import MISSING, PROJECT, SECRET_KEYS, ConfigError, ConfigIssue, PlatformConfig, load_engine_config
from components.config.stack_file import read_stack_file
from components.planning import capacity, measured
from offline import site
from offline.charts import artifacts, helm, mirror
from offline.charts.helm import Helm, HelmMissing
from offline.charts.render import write_manifests
from offline.checks import preview as preview_checks
from offline.checks.analyzer import PackProcess, run_pack_process
from offline.checks.compliance import compliance, markdown
from offline.checks.policy import PolicyReport, load_json, run_pack
from offline.parallel import InChild
from offline.plan.effects import assess
from offline.plan.effects import render as render_effects
from offline.plan.up import simulate as simulate_up
from offline.plan.up import table as up_table
from offline.plan.update import BaselineError, load_baseline, plan
from offline.plan.update import render as render_plan
from offline.plan.update import to_json as plan_json
from offline.render import inventory, tree, write_outputs
from offline.run import ROOT, engine_config, evaluate, primary_mirror, stack_config
from offline.world import FakeWorld, LookupFailed, Mode
from tools.policy_config import CONFIG_DIR, policy_config

USER_ERRORS = (ConfigError, pulumi.RunError, LookupFailed, FileNotFoundError, artifacts.ArtifactsMissing, HelmMissing,
               BaselineError, site.SiteInventoryError)


def _print_violations(report: PolicyReport) -> None:
    for violation in report.violations:
        sys.stdout.write(f"[{violation.level}] {violation.policy}: {violation.urn or '(stack)'}\n    {violation.message}\n")
    sys.stdout.write(f"\nPolicies: {len(report.levels)} run, {len(report.violations)} violation(s), "
                     f"{len(report.mandatory)} mandatory\n")


def _run_pack(inventory_doc: dict, pack_config: dict, in_process: bool, started: PackProcess | None = None) -> PolicyReport:
    """The pack as `pulumi preview --policy-pack` runs it (its own process, over gRPC), or in-process."""
    if in_process:
        return run_pack(inventory_doc, pack_config)
    return run_pack_process(inventory_doc, pack_config, started)[0]


def _chart_tools(args: argparse.Namespace) -> tuple[artifacts.ArtifactsDir | None, Helm | HelmMissing | None]:
    """The artifacts directory and helm; missing ones are reported as skipped checks, or refused with --require-artifacts."""
    found = artifacts.locate(args.artifacts)
    if found is None:
        if args.require_artifacts:
            raise artifacts.ArtifactsMissing(f"no artifacts directory; {artifacts.HOW_TO_GET}")
        return None, None
    try:
        return found, helm.locate()
    except HelmMissing as missing:
        if args.require_artifacts:
            raise
        return found, missing


def _evaluate(args: argparse.Namespace, shown: bool = False):
    """The validated config (before anything runs or prints), the chart tools, and the evaluations.

    With ``shown``, first the preview whose tree is printed: of a new stack, or with --existing-stack
    of one whose resources all exist; on a new stack it fails, as the engine's would, on a read of an
    object not there yet. Then the resolved `pulumi up` run the checks and artefacts come from.
    """
    path = Path(args.config) if args.config else ROOT / f"Pulumi.{args.stack}.yaml"
    raw = stack_config(args.stack, config_file=path if args.config else None)
    secrets = tuple(s.key for s in SECRET_KEYS) if args.stand_in_secrets else ()
    try:
        cfg = validated_config(args.stack, raw, secrets)
    except ConfigError as error:
        raise _located(error, path) from None
    artifacts_dir, helm_bin = _chart_tools(args)
    preview = None
    world = _world(args, raw)
    if shown:
        # The program's own modules (its providers' SDKs among them) load once, here, for both runs.
        importlib.import_module("components.platform")
        _freeze_imports()
        mode = Mode.EXISTING if args.existing_stack else Mode.PREVIEW
        preview = InChild(_preview_tree, raw, secrets, mode, _world(args, raw), expected=USER_ERRORS)
    try:
        evaluation = evaluate(args.stack, raw, secrets=secrets, world=world)
    except BaseException:
        if preview is not None:
            preview.discard()
        raise
    return cfg, preview, evaluation, artifacts_dir, helm_bin


_AS_COMMAND = False
"""True when this module runs as `python -m offline` (not when a test calls main in its own process)."""


def _freeze_imports() -> None:
    """What the imports built (the SDK's and providers' generated types, the program's modules) lives until the
    command exits: out of the collector's generations, no full collection of the run walks it again (a tenth of
    a warm preview), and the forked run shares those pages instead of copying them as the collector marks them.
    Only as the command: a process that goes on (a test's) would keep whatever is garbage at that moment."""
    if _AS_COMMAND:
        gc.freeze()


def _world(args: argparse.Namespace, raw: dict) -> FakeWorld:
    """The fake world of the site the stack is for: from --site-inventory, else derived from the stack's names."""
    down = frozenset(getattr(args, "unreachable", None) or ())
    path = getattr(args, "site_inventory", None)
    if not path:
        return FakeWorld(args.stack, unreachable=down)
    described = site.load(Path(path))
    site.check_gpus(described, site.source(Path(path)), raw)
    return FakeWorld(args.stack, inventory=described, inventory_source=site.source(Path(path)), unreachable=down)


def _preview_tree(raw: dict, secrets: tuple[str, ...], mode: Mode, world: FakeWorld) -> str:
    evaluation = evaluate(world.stack, raw, secrets=secrets, mode=mode, world=world)
    return "".join(f"warning: {line}\n" for line in evaluation.warnings) + tree(evaluation)


def _check(cfg, evaluation, artifacts_dir, helm_bin) -> preview_checks.PreviewChecks:
    return preview_checks.run(evaluation.graph, cfg.tanzu.kubernetes_version, list(cfg.compliance.allowed_registries),
                              artifacts_dir, helm_bin, policy_config(cfg)["effective-capability"],
                              require_digest=cfg.compliance.require_image_digest)


def validated_config(stack: str, raw: dict, secrets: tuple[str, ...]) -> PlatformConfig:
    """The config as the program will see it, validated by the program's own checks (ConfigError if not)."""
    try:
        primary, source = primary_mirror(raw)
        return load_engine_config(*engine_config(stack, raw, secrets), primary=primary, primary_source=source)[0]
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
    # The pack process starts first: its start-up overlaps the program's evaluation.
    pack = None if args.in_process else PackProcess()
    shown = None
    try:
        cfg, shown, evaluation, artifacts_dir, helm_bin = _evaluate(args, shown=True)
        # The pack checks what this stack file promises: its config is derived as tools/policy_config.py
        # derives the committed policies/config/<stack>.json (a test keeps the two equal).
        pack_config = load_json(Path(args.policy_config)) if args.policy_config else policy_config(cfg)
        if args.in_process:
            # A forked child judges the stack while this process runs the checks: both cores, no lock shared.
            policy = InChild(run_pack, inventory(evaluation), pack_config)
            try:
                checks = _check(cfg, evaluation, artifacts_dir, helm_bin)
            except BaseException:
                policy.discard()
                raise
            report = policy.result()
        else:
            with ThreadPoolExecutor(max_workers=1) as pool:
                process_report = pool.submit(_run_pack, inventory(evaluation), pack_config, False, pack)
                checks = _check(cfg, evaluation, artifacts_dir, helm_bin)
                report = process_report.result()
    except BaseException:
        if shown is not None:
            shown.discard()  # the forked preview is reaped, not left behind by a run that failed here
        raise
    finally:
        if pack is not None:
            pack.stop()
    sys.stdout.write(shown.result())
    plan = capacity.plan(cfg)
    sys.stdout.write("\n" + capacity.table(plan))
    sys.stdout.write("\nChecks of the program's objects and what its charts install:\n")
    sys.stdout.write(preview_checks.summary(checks, cfg.tanzu.kubernetes_version,
                                            helm_bin.version if isinstance(helm_bin, Helm) else None))
    first_up = simulate_up(evaluation.graph, checks.releases if checks.charts_rendered else None, cfg)
    sys.stdout.write("\n" + up_table(first_up))
    sys.stdout.write("\nPolicy pack (offline):\n")
    _print_violations(report)
    if args.out:
        out = Path(args.out)
        written = write_outputs(evaluation, out) + write_manifests(checks.releases, out)
        document = compliance(report, pack_config)
        (out / "compliance.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        (out / "compliance.md").write_text(markdown(document))
        (out / "capacity.json").write_text(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
        sys.stdout.write(f"\nWrote {len(written)} manifests, inventory.json, outputs.json, compliance.json, "
                         f"compliance.md and capacity.json to {out}\n")
    sys.stdout.write("\n" + verdict(report, checks, len(first_up.failures)) + "\n")
    return 1 if report.mandatory or checks.failures or first_up.failures else 0


def verdict(report: PolicyReport, checks: preview_checks.PreviewChecks, up_failures: int) -> str:
    """The preview's last line: passed, or failed with the count of problems of each kind."""
    kinds = [(len(report.mandatory), "mandatory policy violation(s)"), *checks.failures_by_kind(),
             (up_failures, "failure(s) of the simulated first `pulumi up`")]
    problems = [f"{count} {kind}" for count, kind in kinds if count]
    if problems:
        return f"Preview FAILED: {', '.join(problems)}"
    notes = [f"{count} {kind}" for count, kind in ((len(report.violations), "advisory policy violation(s)"),
                                                   (len(checks.skipped), "check(s) skipped")) if count]
    return "Preview passed" + (f" ({', '.join(notes)})" if notes else "")


def failed_verdict(error: Exception) -> str:
    """The last line of a preview stopped before its checks (exit 2)."""
    if isinstance(error, ConfigError):
        return f"Preview FAILED: {len(error.issues)} stack config problem(s)"
    if isinstance(error, (LookupFailed, site.SiteInventoryError)):
        return "Preview FAILED: the stack does not fit its site (1 lookup or read failed)"
    return f"Preview FAILED: {type(error).__name__} (see the error above)"


def _mirror(args: argparse.Namespace) -> int:
    cfg, _, evaluation, artifacts_dir, helm_bin = _evaluate(args)
    checks = _check(cfg, evaluation, artifacts_dir, helm_bin)
    helm_ready = helm_bin if isinstance(helm_bin, Helm) else None
    charts = mirror.charts_to_mirror(checks.releases)
    images = mirror.images_to_mirror(checks.image_uses, checks.releases, artifacts_dir, helm_ready,
                                     cfg.tanzu.kubernetes_version)
    if args.json:
        sys.stdout.write(json.dumps(mirror.as_json(charts, images), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(mirror.table(charts, images))
    for reason in checks.skipped:
        sys.stderr.write(f"incomplete: {reason}\n")
    return 1 if checks.skipped else 0


def _plan(args: argparse.Namespace) -> int:
    baseline, label = load_baseline(args.baseline, args.stack, ROOT)
    if args.destroy:
        # `pulumi destroy` runs no program: it deletes what the state holds, in reverse dependency order.
        result = plan(baseline, {**baseline, "resources": []}, f"{label}, destroyed")
    else:
        raw = stack_config(args.stack, config_file=Path(args.config) if args.config else None)
        evaluation = evaluate(args.stack, raw, world=_world(args, raw))
        current = inventory(evaluation)
        artifacts_dir, helm_bin = _chart_tools(args)
        schemas, not_evaluated = None, ()
        if artifacts_dir is None or not isinstance(helm_bin, Helm):
            not_evaluated = (f"CRD transition rules (oldSelf) of custom resources: {helm_bin or 'no artifacts directory'}; "
                             f"{artifacts.HOW_TO_GET}",)
        else:
            schemas = preview_checks.crd_schemas(evaluation.graph, raw["tanzu"]["kubernetesVersion"], artifacts_dir,
                                                 helm_bin)
        result = plan(baseline, current, label, schemas, not_evaluated, tuple(args.rotate or ()))
    sys.stdout.write(render_plan(result, show_sames=args.show_sames))
    if not args.destroy:
        cfg = validated_config(args.stack, raw, tuple(s.key for s in SECRET_KEYS))
        sys.stdout.write(render_effects(assess(result, baseline, current, cfg)))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "plan.json").write_text(plan_json(result))
        sys.stdout.write(f"\nWrote plan.json to {out}\n")
    return 1 if result.errors else 0


def _capacity(args: argparse.Namespace) -> int:
    raw = stack_config(args.stack, config_file=Path(args.config) if args.config else None)
    cfg = validated_config(args.stack, raw, tuple(s.key for s in SECRET_KEYS))
    sys.stdout.write(capacity.table(capacity.plan(cfg)))
    if args.measured:
        comparisons = measured.compare(cfg, measured.read_runs(Path(args.measured)))
        sys.stdout.write("\n" + measured.table(comparisons))
        if args.json:
            document = [{"model": c.key, "source": c.run.source, "concurrency": c.run.concurrency,
                         "ratios": {k: round(v, 3) for k, v in c.ratios.items()}} for c in comparisons]
            Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


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
    preview.add_argument("--policy-config", help="policy pack config (default: derived from the stack config, as "
                         "policies/config/<stack>.json is)")
    preview.add_argument("--pack-process", dest="in_process", action="store_false",
                         help="run the pack as its own process over gRPC, as `pulumi preview --policy-pack` does "
                              "(default: call the same policies in-process, which is faster)")
    preview.add_argument("--existing-stack", action="store_true",
                         help="preview a stack whose resources all exist already (default: a new stack)")
    preview.set_defaults(run=_preview)
    update = commands.add_parser("plan", help="print what `pulumi up` would change on a stack deployed as a baseline")
    update.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml is read")
    update.add_argument("--baseline", required=True,
                        help="a previous --out directory (or its inventory.json), or a git revision of this repository")
    update.add_argument("--config", help="read the stack config from this file instead of Pulumi.<stack>.yaml")
    update.add_argument("--out", help="directory to write plan.json to")
    update.add_argument("--show-sames", action="store_true", help="also list the resources that do not change")
    update.add_argument("--rotate", action="append", metavar="SECRET_KEY",
                        help="a secret config key whose value this update changes (a renewed certificate, a rotated "
                             "password): the plan shows what holds it and what that does (repeatable)")
    update.add_argument("--destroy", action="store_true",
                        help="plan `pulumi destroy` of the baseline instead: what is deleted, what a protect refuses, "
                             "and what a retain cannot keep because its namespace goes too")
    update.set_defaults(run=_plan, require_artifacts=False)
    mirror_cmd = commands.add_parser("mirror", help="list every chart and image the stack pulls, for an air-gapped site")
    mirror_cmd.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml is read")
    mirror_cmd.add_argument("--config", help="read the stack config from this file instead of Pulumi.<stack>.yaml")
    mirror_cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    mirror_cmd.set_defaults(run=_mirror, require_artifacts=True)
    for command in (preview, update):
        command.add_argument("--unreachable", action="append", metavar="VCENTER",
                             help="a site that is down, named by its vCenter host: every call to that vCenter, its "
                                  "Supervisor or its clusters fails as the providers fail (repeatable)")
    for command in (preview, update, mirror_cmd):
        command.add_argument("--site-inventory", metavar="FILE",
                             help="YAML or JSON file describing what the site's vCenter holds (docs/offline-engine.md, "
                                  "\"Describing the site\"); default: the site derived from the stack's own names")
    for command in (preview, mirror_cmd):
        command.add_argument("--stand-in-secrets", action="store_true",
                             help="use stand-in values for secrets the stack file does not set (sample stacks, CI)")
    for command in (preview, mirror_cmd, update):
        command.add_argument("--artifacts", help=f"artifacts directory (default: ${artifacts.ENVIRONMENT}, "
                             "else shared/artifacts beside the checkout)")
    preview.add_argument("--require-artifacts", action="store_true",
                         help="fail instead of skipping the chart checks when no artifacts directory or helm is found")
    capacity_cmd = commands.add_parser("capacity", help="print the capacity plan; with --measured, compare it with "
                                       "`vllm bench serve --save-result` files from the site")
    capacity_cmd.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml is read")
    capacity_cmd.add_argument("--config", help="read the stack config from this file instead of Pulumi.<stack>.yaml")
    capacity_cmd.add_argument("--measured", help="a result file or a directory of them (*.json)")
    capacity_cmd.add_argument("--json", help="also write the ratios to this file")
    capacity_cmd.set_defaults(run=_capacity)
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
        if args.command == "preview":
            sys.stderr.write(f"\n{failed_verdict(error)}\n")
        return 2


if __name__ == "__main__":
    _AS_COMMAND = True
    _freeze_imports()
    sys.exit(main())
