"""The policy pack as the CLI runs it: its own process, driven over the analyzer gRPC protocol."""

from __future__ import annotations

import copy
import json

import pytest

from offline.checks.analyzer import run_pack_process
from offline.checks.policy import hipaa, run_pack
from offline.render import inventory
from tests.conftest import STACKS
from tests.test_policy_offline import MUTATIONS, _mutate
from tools.policy_config import CONFIG_DIR


def _config(stack):
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


@pytest.fixture(scope="module")
def prod_inventory(prod):
    return inventory(prod)


def test_pack_announces_every_policy_with_its_metadata(prod_inventory):
    _, info = run_pack_process(prod_inventory, _config("prod"))
    assert info.name == hipaa.PACK_NAME
    announced = {policy.name: policy for policy in info.policies}
    assert set(announced) == {rule.name for rule in hipaa.RULES}
    for rule in hipaa.RULES:
        policy = announced[rule.name]
        assert f"45 CFR {rule.citation}" in policy.description
        if rule.config:
            assert set(policy.configSchema.properties) == set(rule.config)


@pytest.mark.parametrize("stack", STACKS)
def test_process_and_in_process_runs_agree_on_the_stacks(stack, evaluations):
    document = inventory(evaluations[stack])
    process, _ = run_pack_process(document, _config(stack))
    direct = run_pack(document, _config(stack))
    assert process.violations == direct.violations == []
    assert process.levels == direct.levels and process.checked == direct.checked


def test_process_and_in_process_runs_agree_on_mutated_inventories(prod_inventory):
    document = prod_inventory
    for name, change, suffix, _, _ in MUTATIONS:
        document = _mutate(document, name, change, suffix)
    process, _ = run_pack_process(document, _config("prod"))
    direct = run_pack(document, _config("prod"))
    assert {v.policy for v in process.violations} == {m[3] for m in MUTATIONS}
    assert process.violations == direct.violations


def test_levels_from_config_reach_the_pack(prod_inventory):
    document = _mutate(prod_inventory, "primary-vsphere", lambda r, _: r["inputs"].update(allowUnverifiedSsl="true"))
    config = copy.deepcopy(_config("prod"))
    config["vsphere-tls"] = {"enforcementLevel": "advisory"}
    process, _ = run_pack_process(document, config)
    assert [(v.policy, v.level) for v in process.violations] == [("vsphere-tls", "advisory")]
    config["vsphere-tls"] = {"enforcementLevel": "disabled"}
    assert run_pack_process(document, config)[0].violations == []
