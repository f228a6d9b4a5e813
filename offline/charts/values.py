"""Value keys a chart ignores: helm accepts any key and silently drops what no template reads.

A key the chart defaults in its values.yaml (or a subchart's) is known. Any other key is probed
with helm itself: first all such string values are swapped for unique markers in one render (a
marker that appears in the output proves the key is read), then each remaining key is changed on
its own and rendered again; a key whose change leaves the rendered objects identical is ignored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from offline.charts.defaults import has_path, leaf_paths
from offline.charts.helm import RenderFailed

Render = Callable[[dict[str, Any]], list[dict[str, Any]]]
MARKER = "onprem-llm-probe-{}"


def _get(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = values
    for part in path:
        node = node[part]
    return node


def _set(values: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = values
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _changed(value: Any) -> Any:
    """A different value of the same shape, so templates that read the key render differently."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    if isinstance(value, str):
        return value + "-probe"
    if isinstance(value, list):
        return [_changed(item) for item in value] + ([copy.deepcopy(value[0])] if value else ["probe"])
    if isinstance(value, dict):
        return {**{k: _changed(v) for k, v in value.items()}, "onprem-llm-probe": "probe"}
    return "probe"


def _renders_differently(render: Render, values: dict[str, Any], baseline: str) -> bool:
    try:
        return json.dumps(render(values), sort_keys=True) != baseline
    except RenderFailed:
        return True  # the chart read the key: it broke the render


def ignored_keys(values: dict[str, Any], defaults: dict[str, Any], render: Render) -> list[str]:
    """Dotted paths of the user's value keys that change nothing the chart renders."""
    candidates = [path for path in leaf_paths(values) if path and not has_path(defaults, path)]
    if not candidates:
        return []
    baseline = json.dumps(render(values), sort_keys=True)
    marked = copy.deepcopy(values)
    markers = {}
    for index, path in enumerate(candidates):
        if isinstance(_get(values, path), str):
            markers[path] = MARKER.format(index)
            _set(marked, path, markers[path])
    try:
        output = json.dumps(render(marked), sort_keys=True) if markers else ""
    except RenderFailed:
        output = ""
    ignored = []
    for path in candidates:
        if path in markers and markers[path] in output:
            continue
        probe = copy.deepcopy(values)
        _set(probe, path, _changed(_get(values, path)))
        if not _renders_differently(render, probe, baseline):
            ignored.append(".".join(path))
    return ignored
