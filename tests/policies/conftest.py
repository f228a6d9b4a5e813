"""Policy cases are built from the rendered stacks, then mutated: realistic good cases, minimal bad ones."""

from __future__ import annotations

import copy
import json

import pytest
from hipaa._rule import Resource

from offline.render import inventory
from tools.policy_config import CONFIG_DIR


@pytest.fixture(scope="session")
def inventories(evaluations):
    return {stack: inventory(evaluation) for stack, evaluation in evaluations.items()}


@pytest.fixture(scope="session")
def pack_configs():
    return {stack: json.loads((CONFIG_DIR / f"{stack}.json").read_text()) for stack in ("dev", "prod", "prod-standby")}


@pytest.fixture
def resource(inventories):
    """A fresh, mutable Resource built from a rendered stack's inventory entry."""
    def build(name: str, stack: str = "prod", type_suffix: str = "") -> Resource:
        entry = next(r for r in inventories[stack]["resources"]
                     if r["name"] == name and r["type"].endswith(type_suffix) and not r["read"])
        return Resource(entry["type"], entry["name"], entry["urn"], copy.deepcopy(entry["inputs"]),
                        bool(entry["options"].get("protect")), entry["provider"])
    return build


@pytest.fixture
def stack_resources(inventories):
    def build(stack: str = "prod") -> list[Resource]:
        return [Resource(r["type"], r["name"], r["urn"], copy.deepcopy(r["inputs"]), bool(r["options"].get("protect")),
                         r["provider"]) for r in inventories[stack]["resources"] if not r["read"]]
    return build


@pytest.fixture
def settings(pack_configs):
    """A rule's config for a stack, defaults applied, as the engine would pass it."""
    def build(rule, stack: str = "prod") -> dict:
        entry = pack_configs[stack].get(rule.name)
        return rule.settings(entry if isinstance(entry, dict) else None)
    return build
