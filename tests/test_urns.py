"""URNs as the engine builds them, and every reference to them consistent."""

from __future__ import annotations

import json

import pytest

from offline.graph import DependencyCycle, ResourceGraph
from offline.record import Record
from offline.render import inventory
from offline.urns import canonical_inventory, make_urn, stack_urn

PREFIX = "urn:pulumi:prod::onprem-llm::"


def test_a_nested_components_children_carry_the_whole_type_chain(prod, rendered):
    """DrSite -> Velero -> BackupStorageLocation: the mocks' URN kept only Velero."""
    expected = (PREFIX + "onprem:platform:DrSite$onprem:platform:Velero$kubernetes:velero.io/v1:BackupStorageLocation"
                "::dr-velero-primary-location")
    assert prod.graph.named("dr-velero-primary-location").urn == expected
    document = json.loads((rendered["prod"] / "inventory.json").read_text())
    assert expected in {r["urn"] for r in document["resources"]}
    velero = prod.graph.named("dr-velero-primary", "onprem:platform:Velero")
    assert velero.urn == PREFIX + "onprem:platform:DrSite$onprem:platform:Velero::dr-velero-primary"
    assert prod.graph.named("dr-velero-primary-location").parent == velero.urn


def test_the_stack_is_not_part_of_the_chain(prod):
    assert prod.graph.named("primary", "onprem:platform:TanzuCluster").urn == PREFIX + "onprem:platform:TanzuCluster::primary"
    assert prod.graph.named("primary", "onprem:platform:TanzuCluster").parent == stack_urn("prod", "onprem-llm")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_urn_is_its_parents_chain_plus_its_type(stack, evaluations):
    graph = evaluations[stack].graph
    for record in graph:
        assert record.urn == make_urn(stack, "onprem-llm", record.parent, record.type, record.name)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_parent_provider_and_dependency_references_name_recorded_resources(stack, evaluations):
    graph = evaluations[stack].graph
    urns = {r.urn for r in graph} | {stack_urn(stack, "onprem-llm")}
    for record in graph:
        assert record.parent in urns, record.urn
        if record.provider:
            urn, provider_id = record.provider.rsplit("::", 1)
            assert urn in urns and provider_id == graph.get(urn).id, record.urn
        for dependency in record.options.get("dependencies", ()):
            assert dependency in urns, f"{record.urn} depends on unknown {dependency}"


def _legacy(document):
    """The inventory as pulumi's MockMonitor.make_urn wrote it: the parent's last type, then the type."""
    by_urn = {r["urn"]: r for r in document["resources"]}
    legacy: dict[str, str] = {}

    def old(urn):
        if urn not in by_urn:
            return urn  # the Stack
        if urn not in legacy:
            resource = by_urn[urn]
            parent_type = old(resource["parent"]).split("::")[2].split("$")[-1]
            legacy[urn] = f"urn:pulumi:prod::onprem-llm::{parent_type}${resource['type']}::{resource['name']}"
        return legacy[urn]

    converted = json.loads(json.dumps(document))
    for resource in converted["resources"]:
        resource["urn"], resource["parent"] = old(resource["urn"]), old(resource["parent"])
        resource["provider"] = old(resource["provider"]) if resource["provider"] else ""
        resource["options"]["dependencies"] = [old(u) for u in resource["options"].get("dependencies", [])]
    return converted


def test_older_inventories_convert_to_engine_urns(prod):
    current = inventory(prod)
    legacy = _legacy(current)
    nested = next(r for r in legacy["resources"] if r["name"] == "dr-velero-primary-location")
    assert "DrSite" not in nested["urn"]
    converted = canonical_inventory(legacy)
    assert [r["urn"] for r in converted["resources"]] == [r["urn"] for r in current["resources"]]
    assert [r["provider"] for r in converted["resources"]] == [r["provider"] for r in current["resources"]]
    assert canonical_inventory(current) == current


def test_topological_order_puts_every_resource_after_what_it_waits_for(prod):
    order = prod.graph.topological_order()
    position = {r.urn: i for i, r in enumerate(order)}
    assert len(order) == len(prod.graph)
    for record in order:
        for need in prod.graph.depends_on(record):
            assert position[need] < position[record.urn], f"{record.urn} before {need}"


def test_a_dependency_cycle_is_refused():
    def record(name, needs):
        return Record("t:m:T", name, f"urn:pulumi:s::p::t:m:T::{name}", "", "", True, False, name, {},
                      {"dependencies": [f"urn:pulumi:s::p::t:m:T::{n}" for n in needs]})
    with pytest.raises(DependencyCycle):
        ResourceGraph([record("a", ["b"]), record("b", ["a"])]).topological_order()
