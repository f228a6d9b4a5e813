"""Shared fixtures: each sample stack is evaluated once per test session and shared read-only."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from offline.render import write_outputs
from offline.run import Evaluation, evaluate, stack_config
from offline.world import Mode

STACKS = ("dev", "prod")


@pytest.fixture(scope="session")
def evaluations() -> dict[str, Evaluation]:
    return {stack: evaluate(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def previews() -> dict[str, Evaluation]:
    """Each stack as `pulumi preview` of a new stack sees it (ids and computed outputs unknown)."""
    return {stack: evaluate(stack, mode=Mode.PREVIEW) for stack in STACKS}


@pytest.fixture(scope="session")
def dev(evaluations) -> Evaluation:
    return evaluations["dev"]


@pytest.fixture(scope="session")
def prod(evaluations) -> Evaluation:
    return evaluations["prod"]


@pytest.fixture(scope="session")
def rendered(evaluations, tmp_path_factory) -> dict[str, Path]:
    """Each stack's preview output directory (manifests/, inventory.json, outputs.json)."""
    out = {}
    for stack, evaluation in evaluations.items():
        directory = tmp_path_factory.mktemp(f"render-{stack}")
        write_outputs(evaluation, directory)
        out[stack] = directory
    return out


@pytest.fixture
def raw_config():
    """A fresh, mutable copy of a stack's raw config sections."""
    return lambda stack: copy.deepcopy(stack_config(stack))
