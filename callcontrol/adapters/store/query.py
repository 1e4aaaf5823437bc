"""Which entities a table query selects, written once: rendered as OData for Azure Table
Storage (and Azurite) and matched in memory by the test twin, so both filter alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict


class Where(TypedDict, total=False):
    """The filters `TableBackend.query` takes as keywords (each one narrows the selection)."""

    partition: str | None  # PartitionKey equals
    row_prefix: str | None  # RowKey starts with
    row_after: str | None  # RowKey >
    row_from: str | None  # RowKey >=
    row_below: str | None  # RowKey <
    equals: Mapping[str, str] | None  # these properties equal these strings
    below: Mapping[str, str] | None  # these string properties sort before these strings


@dataclass(frozen=True)
class TableQuery:
    partition: str | None = None
    row_prefix: str | None = None
    row_after: str | None = None
    row_from: str | None = None
    row_below: str | None = None
    equals: Mapping[str, str] | None = None
    below: Mapping[str, str] | None = None

    def odata(self) -> tuple[str, dict[str, Any]]:
        """The filter expression and its parameters ("" when everything matches)."""
        clauses: list[str] = []
        parameters: dict[str, Any] = {}
        if self.partition is not None:
            clauses.append("PartitionKey eq @pk")
            parameters["pk"] = self.partition
        if self.row_prefix is not None:
            # Prefix scan as a range: [prefix, prefix with its last char incremented).
            clauses.append("RowKey ge @rlo and RowKey lt @rhi")
            parameters["rlo"] = self.row_prefix
            parameters["rhi"] = prefix_end(self.row_prefix)
        for operator, value in (("gt", self.row_after), ("ge", self.row_from),
                                ("lt", self.row_below)):
            if value is not None:
                clauses.append(f"RowKey {operator} @b{len(parameters)}")
                parameters[f"b{len(parameters)}"] = value
        comparisons = [(name, "eq", value) for name, value in (self.equals or {}).items()]
        comparisons += [(name, "lt", value) for name, value in (self.below or {}).items()]
        for index, (name, operator, value) in enumerate(comparisons):
            if not name.isidentifier():
                raise ValueError(f"bad property name {name!r}")
            clauses.append(f"{name} {operator} @v{index}")
            parameters[f"v{index}"] = value
        return " and ".join(clauses), parameters

    def matches(self, partition: str, row: str, entity: Mapping[str, object]) -> bool:
        """Whether the stored entity under these keys is selected, as the table service decides."""
        if self.partition is not None and partition != self.partition:
            return False
        if self.row_prefix is not None and not row.startswith(self.row_prefix):
            return False
        if not ((self.row_after is None or row > self.row_after)
                and (self.row_from is None or row >= self.row_from)
                and (self.row_below is None or row < self.row_below)):
            return False
        if self.equals and any(entity.get(k) != v for k, v in self.equals.items()):
            return False
        return not self.below or all(_sorts_before(entity.get(k), v) for k, v in self.below.items())


def prefix_end(prefix: str) -> str:
    """The first string past every string that starts with `prefix` (a range's exclusive end)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _sorts_before(value: object, bound: str) -> bool:
    # As Table Storage compares: a property the entity lacks (or of another type) never matches.
    return isinstance(value, str) and value < bound
