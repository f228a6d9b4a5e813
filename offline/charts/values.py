"""Value keys a chart ignores: helm accepts any key and silently drops what no template reads.

A key the chart defaults in its values.yaml (or a subchart's) is known. Any other key is probed
with helm itself: first all such string values are swapped for unique markers in one render (a
marker that appears in the output proves the key is read), then each remaining key is changed on
its own and rendered again; a key whose change leaves the rendered objects identical is ignored.

Some charts render differently every time with the same values (Envoy AI Gateway generates its
webhook certificate with helm's genCA). The fields that differ between two renders of equivalent
values (one with an extra, unread top-level key) are volatile and left out of every comparison,
so the probe still sees which keys change the output.
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


VOLATILITY_KEY = "onprem-llm-volatility-probe"
Path = tuple[Any, ...]


def _leaves(node: Any, prefix: Path = ()) -> dict[Path, Any]:
    if isinstance(node, dict):
        return {path: v for key, child in node.items() for path, v in _leaves(child, (*prefix, key)).items()} or {prefix: {}}
    if isinstance(node, list):
        return {path: v for i, child in enumerate(node) for path, v in _leaves(child, (*prefix, i)).items()} or {prefix: []}
    return {prefix: node}


def volatile_paths(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> set[Path]:
    """Leaf paths whose values differ between two renders of equivalent values."""
    a, b = _leaves(first), _leaves(second)
    return {path for path in a.keys() | b.keys() if a.get(path) != b.get(path)}


def _masked(objects: list[dict[str, Any]], volatile: set[Path]) -> str:
    if not volatile:
        return json.dumps(objects, sort_keys=True)
    leaves = _leaves(objects)
    return json.dumps(sorted((list(map(str, path)), "<volatile>" if path in volatile else value)
                             for path, value in leaves.items()), sort_keys=True, default=str)


def _renders_differently(render: Render, values: dict[str, Any], baseline: str, volatile: set[Path]) -> bool:
    try:
        return _masked(render(values), volatile) != baseline
    except RenderFailed:
        return True  # the chart read the key: it broke the render


def ignored_keys(values: dict[str, Any], defaults: dict[str, Any], render: Render) -> list[str]:
    """Dotted paths of the user's value keys that change nothing the chart renders."""
    candidates = [path for path in leaf_paths(values) if path and not has_path(defaults, path)]
    if not candidates:
        return []
    rendered = render(values)
    twin = render({**values, VOLATILITY_KEY: "unread"})
    volatile = set() if VOLATILITY_KEY in json.dumps(twin) else volatile_paths(rendered, twin)
    baseline = _masked(rendered, volatile)
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
        if not _renders_differently(render, probe, baseline, volatile):
            ignored.append(".".join(path))
    return ignored
