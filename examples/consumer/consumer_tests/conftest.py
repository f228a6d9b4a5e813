"""The consumer runs against the platform's real prod outputs, evaluated once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.run import as_stack_reference, evaluate, stack_config

EXAMPLE = Path(__file__).resolve().parent.parent
PROJECT = "clinical-notes-app"
PLATFORM = "organization/onprem-llm/prod"


@pytest.fixture(scope="session")
def platform_prod():
    return evaluate("prod")


@pytest.fixture(scope="session")
def consumer_config():
    return stack_config("dev", EXAMPLE / "Pulumi.dev.yaml", project=PROJECT)


@pytest.fixture(scope="session")
def run_consumer(platform_prod):
    from offline.world import FakeWorld

    def run(raw_config, reference=None):
        world = FakeWorld("dev", stack_outputs={PLATFORM: reference or as_stack_reference(platform_prod)})
        return evaluate("dev", raw_config, world=world, program=EXAMPLE / "__main__.py", project=PROJECT,
                        secrets=("clusterKubeconfig",))
    return run
