"""The plan of an update: what `pulumi up` would do to a stack deployed as a baseline inventory.

The baseline is an ``inventory.json`` written by ``python -m offline preview --out`` (a directory
holding one, or the file), or a git revision: the program at that revision runs in a temporary
export of the repository (``git archive``), with that revision's ``Pulumi.<stack>.yaml``, so program
and config changes since then both show. Both sides are resolved `pulumi up` runs of the fake world.

Per resource (by URN): ``create``, ``delete``, ``same``, ``update`` or ``replace`` (delete-before-
replace for Kubernetes objects with an explicit name), with the changed property paths, following
the providers' rules in ``offline.plan.diffs``. A provider replaced (a new ``clusterIdentifier``) replaces
every resource on it; a resource moved to another provider is replaced. ``protect`` turns a planned
replacement or delete into an error with the engine's message, and so does a change the provider or
the API server refuses. Steps come in the engine's order: creates, updates and replacements in
dependency order, then deletes in reverse dependency order of the baseline.

Not modelled: secret values (inventories hold them only as ``[secret]``, so a changed secret or a
new password is invisible), outputs that change because a resource they come from is replaced
(the fake world's ids are stable), dependents replaced along with a delete-before-replace, aliases,
and the API server's defaulting and validation beyond the rules in ``offline.plan.diffs``, except for
custom resources: given their CRDs' schemas, an update also runs the CRDs' transition rules
(``x-kubernetes-validations`` reading ``oldSelf``, such as ``self == oldSelf`` on an immutable field)
with the baseline's object as the old one, and a refusal is an error of the step.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.checks.crds import Schemas, is_custom
from offline.graph import ResourceGraph
from offline.plan.diffs import ABSENT, Change, changes, delete_before_replace, format_path, verdict, without_ignored
from offline.plan.up import SUPERVISOR_IDENTIFIER
from offline.record import REDACTED
from offline.urns import canonical_inventory

SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
# Runs in the exported revision with its own offline engine: evaluate the stack and write the
# artefacts. Both calls exist in every revision of the offline engine.
_BASELINE_SCRIPT = """\
import sys
from pathlib import Path
from offline.run import evaluate
from offline.render import write_outputs
write_outputs(evaluate(sys.argv[1]), Path(sys.argv[2]))
"""


class BaselineError(Exception):
    """The baseline could not be read or produced."""


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    op: str
    """``create``, ``update``, ``replace``, ``delete`` or ``same``."""
    delete_before_replace: bool = False
    changes: tuple[Change, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    """Changed paths (or ``provider``) that force the replacement."""
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def diffs(self) -> list[str]:
        return [format_path(c.path) for c in self.changes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn, "type": self.type, "name": self.name, "op": self.op,
            "deleteBeforeReplace": self.delete_before_replace, "diffs": self.diffs,
            "replaceReasons": list(self.replace_reasons),
            "detailedDiff": [{"path": format_path(c.path), "kind": c.kind, "old": _plain(c.old), "new": _plain(c.new)}
                             for c in self.changes],
            "errors": list(self.errors), "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Plan:
    stack: str
    baseline: str
    steps: tuple[Step, ...]
    not_evaluated: tuple[str, ...] = ()
    """Checks the plan could not run, each with the reason."""

    @property
    def changed(self) -> list[Step]:
        return [s for s in self.steps if s.op != "same"]

    @property
    def errors(self) -> list[tuple[Step, str]]:
        return [(s, e) for s in self.steps for e in s.errors]

    def counts(self) -> dict[str, int]:
        return {op: sum(1 for s in self.steps if s.op == op) for op in ("create", "update", "replace", "delete", "same")}

    def step(self, name: str, type_: str | None = None) -> Step:
        found = [s for s in self.steps if s.name == name and (type_ is None or s.type == type_)]
        if len(found) != 1:
            raise KeyError(f"expected one step for {name!r}, found {len(found)}")
        return found[0]

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "baseline": self.baseline, "summary": self.counts(),
                "steps": [s.to_dict() for s in self.changed], "errors": [e for _, e in self.errors],
                "notEvaluated": list(self.not_evaluated)}


def _plain(value: Any) -> Any:
    return None if value is ABSENT else value


# -- the plan ------------------------------------------------------------------------------------


def _protected_replace(urn: str) -> str:
    return (f'unable to replace resource "{urn}"\nas it is currently marked for protection. To unprotect the '
            "resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`")


def _protected_delete(urn: str) -> str:
    return (f'unable to delete resource "{urn}"\nas it is currently marked for protection. To unprotect the '
            "resource, either remove the `protect` flag from the resource in your Pulumi program or use the "
            f"command:\n`pulumi state unprotect {urn}`")


def _transition_refusals(old: dict[str, Any], new: dict[str, Any], schemas: Schemas | None) -> tuple[str, ...]:
    """What the CRD's transition rules refuse in this update of a custom resource (none for other types)."""
    inputs = new["inputs"]
    schema = (schemas or {}).get((inputs.get("apiVersion"), inputs.get("kind")))
    if schema is None or not is_custom(inputs):
        return ()
    from offline.checks import cel_rules

    outcome = cel_rules.evaluate(inputs, schema, old["inputs"], transitions_only=True)
    return tuple(f"{path or '<root>'}: Invalid value: {reason}" for path, reason in outcome.refusals)


def _compare(old: dict[str, Any], new: dict[str, Any], providers: dict[str, dict[str, Any]],
             replaced_providers: set[str], schemas: Schemas | None = None, rotated: tuple[str, ...] = ()) -> Step:
    urn, type_, name = new["urn"], new["type"], new["name"]
    options = new.get("options") or {}
    if new["read"]:
        return Step(urn, type_, name, "same")
    found = without_ignored(_changes(old["inputs"], new["inputs"]) + _rotations(new, rotated),
                            options.get("ignoreChanges", []))
    provider_inputs = (providers.get(new["provider"]) or {}).get("inputs", {})
    judged = verdict(type_, old["inputs"], new["inputs"], found, provider_inputs, options.get("replaceOnChanges", []))
    reasons = [format_path(p) for p in judged.replaces]
    if old["provider"] != new["provider"]:
        reasons.append("provider")
    elif new["provider"] in replaced_providers:
        reasons.append("provider replaced")
    if type_ == KUBERNETES_PROVIDER and _identifier_changed(old, new):
        reasons.append("clusterIdentifier")
    taken = _permissions_taken(old, new)
    if taken and not reasons:
        # The provider diffs its read-back state, not the last inputs: an unchanged program still updates.
        return Step(urn, type_, name, "update", changes=tuple(found), errors=(taken,))
    if not found and not reasons:
        return Step(urn, type_, name, "same")
    if not reasons:
        return Step(urn, type_, name, "update", changes=tuple(found),
                    errors=judged.refusals + _transition_refusals(old, new, schemas), notes=judged.notes)
    errors = list(judged.refusals)
    if (old.get("options") or {}).get("protect") and options.get("protect"):
        errors.append(_protected_replace(urn))
    dbr = delete_before_replace(type_, old["inputs"], new["inputs"], bool(options.get("deleteBeforeReplace")))
    return Step(urn, type_, name, "replace", delete_before_replace=dbr, changes=tuple(found),
                replace_reasons=tuple(reasons), errors=tuple(errors), notes=judged.notes)


ENTITY_PERMISSIONS = "vsphere:index/entityPermissions:EntityPermissions"


def _principals(permissions: Any) -> list[str]:
    return sorted(str(p.get("userOrGroup")) for p in permissions or [] if isinstance(p, dict))


def _permissions_taken(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Grants of other principals an EntityPermissions update would remove from its entity.

    vsphere.EntityPermissions keeps in its state every direct permission it read back from the entity
    after create; an update removes whatever the state holds and the inputs do not
    (vmware/terraform-provider-vsphere#1517). On an entity the stack does not own, that is everyone
    else's access.
    """
    if new["type"] != ENTITY_PERMISSIONS or "state" not in old:
        return None
    wanted = set(_principals(new["inputs"].get("permissions")))
    lost = [p for p in _principals((old["state"] or {}).get("permissions")) if p not in wanted]
    if not lost:
        return None
    return (f"removes the permissions of {', '.join(lost)} on {new['inputs'].get('entityType')} "
            f"{new['inputs'].get('entityId')}: the provider read them back after create and takes them over; grant "
            "on an entity the stack creates (its resource pool or folder) instead")


def _rotations(new: dict[str, Any], rotated: tuple[str, ...]) -> list[Change]:
    """A rotated secret's new value, in each input that holds it: invisible in the inventories (both sides are
    ``[secret]``), so the operator names the keys the update rotates."""
    sources = new.get("secretSources") or {}
    fields = sorted({f for key in rotated for f in sources.get(key, ())})
    return [Change((f,), REDACTED, f"{REDACTED} (rotated)") for f in fields]


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    # A secret is written only as the marker on both sides: equal markers say nothing, so they are equal.
    return [c for c in changes(old, new) if not (c.old == REDACTED and c.new == REDACTED)]


def _identifier_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """pulumi-kubernetes replaces a provider, and everything on it, when its cluster identity changes.

    With ``clusterIdentifier`` set on both sides that identity is the identifier. Without one it is
    the kubeconfig's active cluster, which the inventory holds only as ``[secret]``: not comparable.
    """
    before, after = old["inputs"].get("clusterIdentifier"), new["inputs"].get("clusterIdentifier")
    return bool(before and after and before != after)


def plan(baseline: dict[str, Any], current: dict[str, Any], baseline_label: str = "",
         crd_schemas: Schemas | None = None, not_evaluated: tuple[str, ...] = (), rotated: tuple[str, ...] = ()) -> Plan:
    """The steps that take the stack from ``baseline`` to ``current`` (both inventory documents).

    With ``crd_schemas`` (apiVersion, kind -> openAPIV3Schema), updates of custom resources also run
    their CRD's transition rules against the baseline object.
    """
    baseline = canonical_inventory(baseline)
    if baseline["stack"] != current["stack"]:
        raise BaselineError(f"the baseline is stack {baseline['stack']!r}, not {current['stack']!r}")
    old_by_urn = {r["urn"]: r for r in baseline["resources"]}
    new_by_urn = {r["urn"]: r for r in current["resources"]}
    providers = {urn: r for urn, r in new_by_urn.items() if r["type"].startswith("pulumi:providers:")}

    steps: list[Step] = []
    replaced_providers: set[str] = set()
    for record in ResourceGraph.from_inventory(current).topological_order():
        new = new_by_urn[record.urn]
        old = old_by_urn.get(record.urn)
        if old is None:
            steps.append(Step(record.urn, new["type"], new["name"], "create"))
            continue
        step = _compare(old, new, providers, replaced_providers, crd_schemas, rotated)
        if step.op == "replace" and new["type"].startswith("pulumi:providers:"):
            replaced_providers.add(record.urn)
        steps.append(step)
    deleted = [r for r in ResourceGraph.from_inventory(baseline).topological_order() if r.urn not in new_by_urn]
    gone = _deleted_containers(deleted, ResourceGraph.from_inventory(baseline).topological_order())
    for record in reversed(deleted):
        options = record.options or {}
        errors: tuple[str, ...] = (_protected_delete(record.urn),) if options.get("protect") and not record.read else ()
        notes: tuple[str, ...] = ()
        if record.type == ENTITY_PERMISSIONS and record.state:
            notes = (f"removes every permission it holds: {', '.join(_principals(record.state.get('permissions')))}",)
        if options.get("retainOnDelete"):
            container = _container(record, gone)
            if container:
                errors += (f"retainOnDelete cannot keep it: {container} is deleted by the same run, and everything in it "
                           "with it; keep what must survive outside the stack, or protect it so the delete refuses",)
            else:
                notes = ("retained: removed from the stack, the object itself is left in place",)
        steps.append(Step(record.urn, record.type, record.name, "delete", errors=errors, notes=notes))
    return Plan(current["stack"], baseline_label, tuple(steps), not_evaluated)


NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
CLUSTER_TYPES = ("kubernetes:cluster.x-k8s.io/v1beta1:Cluster", "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster")


def _deleted_containers(deleted: list, every: list) -> dict[tuple[str, str], str]:
    """Namespaces (by provider and name) and clusters deleted by the plan, each with how to name it. A deleted
    cluster takes what is on the providers of that cluster, not what is on a Supervisor's (which outlives it)."""
    found: dict[tuple[str, str], str] = {}
    for record in every:
        if record.type == KUBERNETES_PROVIDER and str((record.inputs or {}).get("clusterIdentifier", "")).startswith(
                SUPERVISOR_IDENTIFIER):
            found[("supervisor", record.urn)] = ""
    for record in deleted:
        if record.type == NAMESPACE_TYPE:
            name = ((record.inputs or {}).get("metadata") or {}).get("name")
            found[(record.provider_urn, str(name))] = f"its Namespace {name!r}"
        elif record.type in CLUSTER_TYPES:
            found[("cluster", "")] = f"its cluster {record.name!r}"
    return found


def _container(record, gone: dict[tuple[str, str], str]) -> str | None:
    """What deleting ``record``'s namespace or cluster would take it with, if the same plan deletes that."""
    inputs = record.inputs or {}
    namespace = inputs.get("namespace") if record.type.startswith("kubernetes:helm.sh/") \
        else (inputs.get("metadata") or {}).get("namespace")
    if namespace and (record.provider_urn, str(namespace)) in gone:
        return gone[(record.provider_urn, str(namespace))]
    on_supervisor = ("supervisor", record.provider_urn) in gone
    if record.type.startswith("kubernetes:") and record.type not in CLUSTER_TYPES and not on_supervisor \
            and ("cluster", "") in gone:
        return gone[("cluster", "")]
    return None


# -- baselines -----------------------------------------------------------------------------------


def load_baseline(spec: str, stack: str, root: Path) -> tuple[dict[str, Any], str]:
    """The baseline inventory named by ``spec`` (directory, inventory file or git revision), and a label."""
    path = Path(spec)
    if path.is_dir() or path.is_file():
        file = path / "inventory.json" if path.is_dir() else path
        if not file.is_file():
            raise BaselineError(f"{path} holds no inventory.json; write one with `python -m offline preview --out`")
        return json.loads(file.read_text()), str(file)
    return inventory_at_revision(spec, stack, root), f"git revision {spec}"


def inventory_at_revision(revision: str, stack: str, root: Path) -> dict[str, Any]:
    """Run the program and stack config of ``revision`` and return the inventory it writes."""
    resolved = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                              cwd=root, capture_output=True, text=True)
    if resolved.returncode != 0:
        raise BaselineError(f"baseline {revision!r} is neither a directory, an inventory file nor a git revision")
    commit = resolved.stdout.strip()
    with tempfile.TemporaryDirectory(prefix="offline-baseline-") as temp:
        export = Path(temp) / "tree"
        export.mkdir()
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=root, capture_output=True)
        if archive.returncode != 0:
            raise BaselineError(f"git archive {commit}: {archive.stderr.decode().strip()}")
        archive_path = Path(temp) / "tree.tar"
        archive_path.write_bytes(archive.stdout)
        with tarfile.open(archive_path) as tar:
            tar.extractall(export, filter="data")
        if not (export / f"Pulumi.{stack}.yaml").is_file():
            raise BaselineError(f"revision {revision} has no Pulumi.{stack}.yaml")
        out = Path(temp) / "out"
        run = subprocess.run([sys.executable, "-c", _BASELINE_SCRIPT, stack, str(out)], cwd=export,
                             capture_output=True, text=True)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise BaselineError(f"the program at {revision} failed for stack {stack}: {last}")
        return json.loads((out / "inventory.json").read_text())


# -- rendering -----------------------------------------------------------------------------------


def _value(value: Any, width: int = 70) -> str:
    text = json.dumps(_plain(value), sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def render(result: Plan, show_sames: bool = False) -> str:
    """The plan as `pulumi preview --diff` prints it, then the summary and the errors."""
    lines = [f"Previewing update ({result.stack}) offline, against {result.baseline or 'the baseline'}\n"]
    for step in result.steps:
        if step.op == "same" and not show_sames:
            continue
        tags = " [delete before replace]" if step.delete_before_replace else ""
        lines.append(f"{SYMBOLS[step.op]:<2} {step.type}: ({step.op}){tags}")
        lines.append(f"       [urn={step.urn}]")
        for change in step.changes:
            sign = {"add": "+", "delete": "-", "update": "~"}[change.kind]
            forced = "  (forces replacement)" if format_path(change.path) in step.replace_reasons else ""
            if change.kind == "update":
                detail = f"{_value(change.old)} => {_value(change.new)}"
            else:
                detail = _value(change.new if change.kind == "add" else change.old)
            lines.append(f"     {sign} {format_path(change.path)}: {detail}{forced}")
        for reason in step.replace_reasons:
            if reason in ("provider", "provider replaced", "clusterIdentifier"):
                lines.append(f"     replaced because of its {reason}")
        lines += [f"     note: {note}" for note in step.notes]
    counts = result.counts()
    lines.append("\nResources:")
    for op in ("create", "update", "replace", "delete"):
        if counts[op]:
            lines.append(f"    {SYMBOLS[op]:<2}{counts[op]} to {op}")
    changed = sum(counts[op] for op in ("create", "update", "replace", "delete"))
    lines.append(f"    {changed} changes. {counts['same']} unchanged" if changed else
                 f"    no changes. {counts['same']} unchanged")
    if result.errors:
        lines.append("\nDiagnostics:")
        for step, error in result.errors:
            lines.append(f"  {step.type} ({step.name}):")
            lines += [f"    error: {line}" if i == 0 else f"    {line}" for i, line in enumerate(error.splitlines())]
    lines += [f"\nnot evaluated: {reason}" for reason in result.not_evaluated]
    return "\n".join(lines) + "\n"


def to_json(result: Plan) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"
