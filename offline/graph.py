"""A queryable, read-only view of the resources one program run registered.

It also holds the engine's dependency graph: a resource's steps wait for its parent, its provider
and every resource it depends on (``dependencies``: ``depends_on`` and the resources its inputs came
from). ``topological_order`` is the order the engine can run creates and updates in; deletes run in
reverse.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from offline.record import Record

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


class DependencyCycle(Exception):
    """Resources that depend on each other; the engine would refuse the program."""


class ResourceGraph:
    def __init__(self, records: Iterable[Record]):
        # Registration order depends on thread scheduling; URN order does not.
        self.records: tuple[Record, ...] = tuple(sorted(records, key=lambda r: r.urn))
        self._by_urn = {r.urn: r for r in self.records}

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def of_type(self, type_: str) -> list[Record]:
        return [r for r in self.records if r.type == type_]

    def named(self, name: str, type_: str | None = None) -> Record:
        matches = [r for r in self.records if r.name == name and (type_ is None or r.type == type_)]
        if len(matches) != 1:
            raise KeyError(f"expected one resource named {name!r} of type {type_ or 'any'}, found {len(matches)}")
        return matches[0]

    def children(self, parent_urn: str) -> list[Record]:
        return [r for r in self.records if r.parent == parent_urn]

    def descendants(self, parent_urn: str) -> list[Record]:
        found, frontier = [], [parent_urn]
        while frontier:
            kids = self.children(frontier.pop())
            found += kids
            frontier += [k.urn for k in kids]
        return sorted(found, key=lambda r: r.urn)

    def roots(self) -> list[Record]:
        return [r for r in self.records if not r.parent or r.parent not in self._by_urn]

    @classmethod
    def from_inventory(cls, document: dict[str, Any]) -> ResourceGraph:
        """The graph of an ``inventory.json`` (inputs redacted, provider ids not kept)."""
        return cls(Record(
            type=r["type"], name=r["name"], urn=r["urn"], parent=r["parent"],
            provider=f"{r['provider']}::" if r["provider"] else "", custom=r["custom"], read=r["read"],
            id=r["id"], inputs=r["inputs"], options=r["options"], state=r.get("state"),
        ) for r in document["resources"])

    def get(self, urn: str) -> Record | None:
        return self._by_urn.get(urn)

    def depends_on(self, record: Record) -> set[str]:
        """URNs of the resources in this graph whose steps must finish before this one's."""
        edges = {record.parent, record.provider_urn, *record.options.get("dependencies", ())}
        return {urn for urn in edges if urn and urn != record.urn and urn in self._by_urn}

    def topological_order(self) -> list[Record]:
        """Every resource after everything it depends on; ties in URN order, so the order is stable."""
        waiting = {r.urn: self.depends_on(r) for r in self.records}
        dependents: dict[str, list[str]] = {urn: [] for urn in waiting}
        for urn, needs in waiting.items():
            for need in needs:
                dependents[need].append(urn)
        ready = [urn for urn, needs in waiting.items() if not needs]
        heapq.heapify(ready)
        order: list[Record] = []
        while ready:
            urn = heapq.heappop(ready)
            order.append(self._by_urn[urn])
            for dependent in dependents[urn]:
                waiting[dependent].discard(urn)
                if not waiting[dependent]:
                    heapq.heappush(ready, dependent)
        if len(order) != len(self.records):
            stuck = sorted(urn for urn, needs in waiting.items() if needs)
            raise DependencyCycle(f"{len(stuck)} resources wait on each other, e.g. {stuck[:3]}")
        return order

    def type_counts(self) -> Counter:
        return Counter(r.type for r in self.records)

    def kubernetes_objects(self) -> list[Record]:
        """Custom resources that are Kubernetes API objects (not Helm releases or providers)."""
        return [
            r for r in self.records
            if r.custom and not r.read and r.type.startswith("kubernetes:") and r.type != HELM_RELEASE
        ]
