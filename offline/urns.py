"""URNs as the Pulumi engine builds them.

The engine names a resource ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``, where the
qualified type is the type of every ancestor joined by ``$``, then the resource's own type; the
Stack resource itself is not part of the chain (``resource.NewURN`` in pulumi/pulumi). Pulumi's
``MockMonitor.make_urn`` keeps only the immediate parent's type, so inventories written before the
offline engine built URNs this way are converted by ``canonical_inventory`` before comparison.
"""

from __future__ import annotations

import copy
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
TYPE_DELIMITER = "$"
NAME_DELIMITER = "::"


def qualified_type(urn: str) -> str:
    """The ``$``-joined type chain of a URN."""
    return urn.split(NAME_DELIMITER)[2]


def make_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    chain = type_
    if parent_urn:
        parent_chain = qualified_type(parent_urn)
        if parent_chain != STACK_TYPE:
            chain = f"{parent_chain}{TYPE_DELIMITER}{type_}"
    return f"urn:pulumi:{stack}{NAME_DELIMITER}{project}{NAME_DELIMITER}{chain}{NAME_DELIMITER}{name}"


def stack_urn(stack: str, project: str) -> str:
    """The URN of the Stack resource the Python SDK registers (named ``<project>-<stack>``)."""
    return make_urn(stack, project, "", STACK_TYPE, f"{project}-{stack}")


def canonical_inventory(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of an inventory with every URN (own, parent, provider, dependencies) in engine form.

    Rebuilds each URN from the resource's type, name and its parent's rebuilt URN, so it is a no-op
    on an inventory that already has engine URNs.
    """
    document = copy.deepcopy(document)
    stack, project = document["stack"], document["project"]
    by_urn = {r["urn"]: r for r in document["resources"]}
    rebuilt: dict[str, str] = {}

    def rebuild(old: str) -> str:
        if old in rebuilt:
            return rebuilt[old]
        resource = by_urn.get(old)
        if resource is None:  # the Stack, or a resource outside this inventory
            return old
        parent = rebuild(resource["parent"]) if resource["parent"] else ""
        rebuilt[old] = make_urn(stack, project, parent, resource["type"], resource["name"])
        return rebuilt[old]

    for old in list(by_urn):
        rebuild(old)
    for resource in document["resources"]:
        resource["urn"] = rebuilt[resource["urn"]]
        resource["parent"] = rebuilt.get(resource["parent"], resource["parent"])
        resource["provider"] = rebuilt.get(resource["provider"], resource["provider"])
        options = resource.get("options") or {}
        if "dependencies" in options:
            options["dependencies"] = sorted({rebuilt.get(u, u) for u in options["dependencies"]})
    for invoke in document.get("invokes", []):
        invoke["provider"] = rebuilt.get(invoke["provider"], invoke["provider"])
    return document
