"""The JSON Schema of the stack outputs, generated from components/outputs.py.

    python -m tools.outputs_schema            # check: committed schema current, version recorded
    python -m tools.outputs_schema --write    # regenerate the schema, record its hash for this version,
                                              # and refresh the outputs table in docs/outputs-contract.md

A schema's hash is recorded once per contract version in schema/contract-versions.json; a changed
schema under an already-recorded version is refused, so every change ships with a new version.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from components.outputs import CONTRACT_VERSION, StackOutputs, json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "stack-outputs.schema.json"
VERSIONS = ROOT / "schema" / "contract-versions.json"
DOC = ROOT / "docs" / "outputs-contract.md"
BEGIN, END = "<!-- BEGIN_OUTPUTS_REFERENCE -->", "<!-- END_OUTPUTS_REFERENCE -->"


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _type(schema: dict | bool) -> str:
    if isinstance(schema, bool):
        return "any"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return "object"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of {_type(schema['additionalProperties'])}"
    return {"null": "null", "integer": "int", "number": "number", "string": "string", "boolean": "bool"}.get(kind, kind)


def outputs_table() -> str:
    schema = json_schema()
    lines = [f"Contract version {CONTRACT_VERSION}; schema `schema/stack-outputs.schema.json`.", "",
             "| Output | Type | Secret | Since | Description |", "|---|---|---|---|---|"]
    for name, field in StackOutputs.model_fields.items():
        alias = field.alias or name
        prop = schema["properties"][alias]
        extra = field.json_schema_extra or {}
        lines.append(f"| `{alias}` | {_type(prop)} | {'yes' if extra.get('x-secret') else 'no'} | "
                     f"{extra.get('x-since', '')} | {field.description} |")
    return "\n".join(lines) + "\n"


def render_doc(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{outputs_table()}{END}{tail}"


def problems() -> list[str]:
    found = []
    text = schema_text()
    if not SCHEMA.exists() or SCHEMA.read_text() != text:
        found.append("schema/stack-outputs.schema.json is stale: run `python -m tools.outputs_schema --write`")
    recorded = json.loads(VERSIONS.read_text()) if VERSIONS.exists() else {}
    if recorded.get(CONTRACT_VERSION) not in (None, digest(text)):
        found.append(f"the outputs schema changed but CONTRACT_VERSION is still {CONTRACT_VERSION}: "
                     "bump it in components/outputs.py (minor to add, major to remove or rename)")
    elif CONTRACT_VERSION not in recorded:
        found.append(f"contract version {CONTRACT_VERSION} is not recorded: run `python -m tools.outputs_schema --write`")
    return found


def write() -> None:
    text = schema_text()
    recorded = json.loads(VERSIONS.read_text()) if VERSIONS.exists() else {}
    if recorded.get(CONTRACT_VERSION) not in (None, digest(text)):
        sys.exit(f"refusing: schema changed under recorded version {CONTRACT_VERSION}; bump CONTRACT_VERSION first")
    recorded[CONTRACT_VERSION] = digest(text)
    SCHEMA.write_text(text)
    VERSIONS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    DOC.write_text(render_doc(DOC.read_text()))


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        issues = problems()
        print("\n".join(issues) or "schema current")
        sys.exit(1 if issues else 0)
