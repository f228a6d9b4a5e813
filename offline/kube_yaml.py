"""YAML as Kubernetes reads it, parsed by libyaml.

PyYAML follows YAML 1.1 and turns timestamps into datetimes and a bare ``=`` into a "value" node
that no safe constructor accepts; the API server's decoder keeps both as strings. This loader does
the same, at libyaml speed.
"""

from __future__ import annotations

from typing import Any

import yaml


class KubeLoader(yaml.CSafeLoader):
    pass


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> list[Any]:
    """Every non-empty document of a multi-document stream."""
    return [document for document in yaml.load_all(text, Loader=KubeLoader) if document is not None]
