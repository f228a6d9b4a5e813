"""What a chart archive declares: its default values, subchart by subchart."""

from __future__ import annotations

import re
import tarfile
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

CRD_FOLDER = re.compile(r"^[^/]+(/charts/[^/]+)*/crds/.+\.ya?ml$")
"""A file in a chart's (or subchart's) special crds/ folder: installed once, never upgraded by Helm."""


def crd_folder_files(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return sorted(m.name for m in tar.getmembers() if m.isfile() and CRD_FOLDER.match(m.name))


@cache
def _files(archive: Path, mtime_ns: int) -> dict[str, bytes]:
    wanted = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = PurePosixPath(member.name)
            if member.isfile() and name.name in ("values.yaml", "Chart.yaml"):
                wanted[member.name] = tar.extractfile(member).read()
    return wanted


def _chart_values(files: dict[str, bytes], chart_dir: PurePosixPath) -> dict[str, Any]:
    """Defaults of the chart at ``chart_dir`` with each subchart's defaults under its name or alias."""
    values = yaml.load(files.get(str(chart_dir / "values.yaml"), b"") or "{}", Loader=yaml.CSafeLoader) or {}
    meta = yaml.load(files.get(str(chart_dir / "Chart.yaml"), b"") or "{}", Loader=yaml.CSafeLoader) or {}
    aliases = {d["name"]: d.get("alias") or d["name"] for d in meta.get("dependencies") or []}
    subcharts = {PurePosixPath(path).parent for path in files
                 if PurePosixPath(path).parent.parent == chart_dir / "charts" and path.endswith("/Chart.yaml")}
    for sub in sorted(subcharts):
        key = aliases.get(sub.name, sub.name)
        merged = _chart_values(files, sub)
        own = values.get(key)
        values[key] = _merge(merged, own if isinstance(own, dict) else {})
    return values


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        result[key] = _merge(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result


def default_values(archive: Path) -> dict[str, Any]:
    """The chart's values.yaml, with every subchart's values.yaml merged under its key."""
    files = _files(archive, archive.stat().st_mtime_ns)
    top = min((PurePosixPath(p).parent for p in files if p.endswith("/Chart.yaml")), key=lambda p: len(p.parts))
    return _chart_values(files, top)


def leaf_paths(values: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths to every leaf of a values tree; lists and empty maps count as leaves."""
    if isinstance(values, dict) and values:
        return [path for key, item in values.items() for path in leaf_paths(item, (*prefix, str(key)))]
    return [prefix]


def has_path(values: Any, path: tuple[str, ...]) -> bool:
    node = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
