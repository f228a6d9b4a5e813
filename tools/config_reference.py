"""Generates the config reference (docs/config-reference.md) from the pydantic models in components/config/.

    python -m tools.config_reference          # print the tables
    python -m tools.config_reference --write  # replace the block between the markers in docs/config-reference.md
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.config import PROJECT, SECRET_KEYS, PlatformConfig

DOC = Path(__file__).resolve().parent.parent / "docs" / "config-reference.md"
BEGIN, END = "<!-- BEGIN_CONFIG_REFERENCE -->", "<!-- END_CONFIG_REFERENCE -->"


def _nested_model(annotation) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds (directly, optionally, or as map values) and the path suffix it adds."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if typing.get_origin(annotation) is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return args[1], ".<name>"
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], ""
    return None, ""


def _type_name(annotation) -> str:
    text = getattr(annotation, "__name__", None) if typing.get_origin(annotation) is None else None
    text = text or str(annotation).replace("typing.", "")
    return text.replace("components.config.model.", "").replace("components.config.", "").replace("|", "\\|")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "-"
    value = field.default_factory() if field.default_factory else field.default
    if value is None or value is PydanticUndefined:
        return "none"
    if isinstance(value, BaseModel):
        return "see rows below"
    return f"`{value!r}`".replace("|", "\\|")


def rows(model: type[BaseModel], prefix: str) -> list[str]:
    result = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}"
        nested, suffix = _nested_model(field.annotation)
        description = (field.description or (nested.__doc__ or "").strip().split("\n")[0]).replace("|", "\\|")
        result.append(
            f"| `{path}` | {description} | {_type_name(field.annotation)} | {_default(field)} | "
            f"{'yes' if field.is_required() else 'no'} |"
        )
        if nested is not None:
            result += rows(nested, path + suffix)
    return result


def reference() -> str:
    lines = [
        f"Keys live in the `{PROJECT}` namespace (`{PROJECT}:models` in `Pulumi.<stack>.yaml`).",
        "",
        "| Name | Description | Type | Default | Required |",
        "|---|---|---|---|---|",
    ]
    for name, field in PlatformConfig.model_fields.items():
        top = field.alias or name
        nested, suffix = _nested_model(field.annotation)
        lines.append(f"| `{top}` | {(nested.__doc__ or '').strip().splitlines()[0]} | object | "
                     f"{_default(field)} | {'yes' if field.is_required() else 'no'} |")
        lines += rows(nested, top + suffix)
    lines += ["", "Secrets (set with `pulumi config set --secret KEY`; never in the stack files):", "",
              "| Key | Holds | Required when |", "|---|---|---|"]
    lines += [f"| `{s.key}` | {s.purpose} | {s.when} |" for s in SECRET_KEYS]
    return "\n".join(lines) + "\n"


def render_doc(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{reference()}{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        DOC.write_text(render_doc(DOC.read_text()))
    else:
        sys.stdout.write(reference())
