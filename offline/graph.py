"""A queryable, read-only view of the resources one program run registered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from offline.record import Record

STACK_TYPE = "pulumi:pulumi:Stack"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


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

    def type_counts(self) -> Counter:
        return Counter(r.type for r in self.records)

    def kubernetes_objects(self) -> list[Record]:
        """Custom resources that are Kubernetes API objects (not Helm releases or providers)."""
        return [
            r for r in self.records
            if r.custom and not r.read and r.type.startswith("kubernetes:") and r.type != HELM_RELEASE
        ]
