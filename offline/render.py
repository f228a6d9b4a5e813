"""Turns an Evaluation into the artefacts the preview prints and writes.

Every writer here emits secrets only as the REDACTED marker and sorts everything, so two runs of
the same stack produce identical bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pulumi.output import Unknown

from offline.charts.cache import cached, code_digest, digest
from offline.record import UNKNOWN_TEXT, Record, is_unknown, redact, reveal
from offline.run import Evaluation
from offline.urns import STACK_TYPE
from offline.world import Mode

HEADERS = {
    Mode.PREVIEW: "Previewing update ({stack}) offline: a new stack, against the fake world",
    Mode.EXISTING: "Previewing update ({stack}) offline: a stack whose resources all exist, against the fake world",
    Mode.UP: "Updating ({stack}) offline: a new stack, every create succeeding in the fake world",
}


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)
_Dumper.add_representer(Unknown, lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:str", UNKNOWN_TEXT))


def to_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=120)


def to_yaml_all(documents: list[Any]) -> list[str]:
    """``to_yaml`` of each document, cached by their content and this module's code.

    PyYAML's Python emitter is the one whose bytes the written manifests have always had (libyaml folds long
    quoted strings differently), and it is the slowest step of writing a stack's files: a warm run reads
    the text instead."""
    key = digest([code_digest(__name__), yaml.__version__, documents])
    return cached(key, "yaml-text", lambda: [to_yaml(document) for document in documents])


def _json_default(value: Any) -> Any:
    if is_unknown(value):
        return UNKNOWN_TEXT
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=_json_default) + "\n"


def manifest(record: Record) -> dict[str, Any]:
    """The Kubernetes object a typed resource or CustomResource would send to the API server."""
    return redact(record.inputs)


def cluster_of(record: Record) -> str:
    """Name of the Kubernetes provider (one per cluster) the object is deployed with."""
    return record.provider_urn.rsplit("::", 1)[-1] or "default"


def manifest_filename(record: Record) -> str:
    meta = record.inputs.get("metadata") or {}
    parts = [
        cluster_of(record), meta.get("namespace") or "cluster-scoped",
        record.inputs.get("kind", "object"), meta.get("name", record.name),
    ]
    return re.sub(r"[^a-z0-9.-]+", "-", "--".join(str(p) for p in parts).lower()) + ".yaml"


STAND_IN = re.compile(r"offline-stand-in-([A-Za-z0-9]+)-[0-9a-f]+")


def secret_sources(inputs: Any) -> dict[str, list[str]]:
    """Per secret config key whose value a resource's inputs hold (the stand-ins name their key), the top-level
    inputs holding it, so a plan can say what rotating it touches without any value being written."""
    found: dict[str, list[str]] = {}
    for field, value in sorted((reveal(inputs) or {}).items()):
        for key in sorted(set(STAND_IN.findall(json.dumps(value, default=str)))):
            found.setdefault(key, []).append(field)
    return found


def inventory(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "project": "onprem-llm",
        "stack": evaluation.stack,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent,
                "provider": r.provider_urn,
                "custom": r.custom,
                "read": r.read,
                "id": r.id,
                "inputs": redact(r.inputs),
                "options": r.options,
                **({"state": redact(r.state)} if r.state is not None else {}),
                **({"secretSources": sources} if (sources := secret_sources(r.inputs)) else {}),
            }
            for r in evaluation.graph
        ],
        "invokes": sorted(
            ({"token": i.token, "args": redact(i.args), "provider": i.provider.rsplit("::", 1)[0]} for i in evaluation.invokes),
            key=lambda i: (i["token"], json.dumps(i["args"], sort_keys=True)),
        ),
    }


def write_outputs(evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """Write manifests/, inventory.json and outputs.json under ``out_dir``; return the manifest paths."""
    manifests = out_dir / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    for stale in manifests.glob("*.yaml"):
        stale.unlink()
    written = []
    records = evaluation.graph.kubernetes_objects()
    for record, text in zip(records, to_yaml_all([manifest(record) for record in records]), strict=True):
        path = manifests / manifest_filename(record)
        if path.exists():
            raise ValueError(f"two objects render to {path.name}; names must be unique per cluster, namespace and kind")
        path.write_text(text)
        written.append(path)
    (out_dir / "inventory.json").write_text(to_json(inventory(evaluation)))
    (out_dir / "outputs.json").write_text(to_json(redact(evaluation.outputs)))
    return sorted(written)


def tree(evaluation: Evaluation) -> str:
    """The resource tree as ``pulumi preview`` draws it, then counts per type and the outputs."""
    graph = evaluation.graph
    rows: list[tuple[str, str, str, str]] = [("+", STACK_TYPE, f"onprem-llm-{evaluation.stack}", "create")]

    def walk(records: list[Record], prefix: str) -> None:
        for index, record in enumerate(records):
            last = index == len(records) - 1
            branch = "└─ " if last else "├─ "
            rows.append((
                ">" if record.read else "+",
                prefix + branch + record.type,
                record.name,
                "read" if record.read else "create",
            ))
            walk(graph.children(record.urn), prefix + ("   " if last else "│  "))

    walk(graph.roots(), "")
    type_width = max(len(r[1]) for r in rows) + 2
    name_width = max(len(r[2]) for r in rows) + 2
    lines = [HEADERS[evaluation.mode].format(stack=evaluation.stack) + "\n",
             f"     {'Type':<{type_width}}{'Name':<{name_width}}Plan"]
    lines += [f" {sign}   {type_:<{type_width}}{name:<{name_width}}{plan}" for sign, type_, name, plan in rows]
    lines.append("\nResources by type:")
    for type_, count in sorted(graph.type_counts().items()):
        lines.append(f"    {count:>4}  {type_}")
    creates = sum(1 for r in graph if not r.read) + 1
    reads = sum(1 for r in graph if r.read)
    lines.append(f"\nResources:\n    + {creates} to create\n    > {reads} to read")
    lines.append("\nOutputs:")
    for name, value in redact(evaluation.outputs).items():
        rendered = json.dumps(value, sort_keys=True, default=_json_default)
        lines.append(f"    {name}: {rendered}")
    return "\n".join(lines) + "\n"
