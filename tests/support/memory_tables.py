"""In-memory twin of Azure Table Storage, for fast unit tests of the stores above it.

Test support only (the deployed package has no in-memory store): the contract tests run every
store on it and on Azurite alike. Queries select what callcontrol's `TableQuery` matches, the
same value the Azure backend renders as OData.

It keeps Table semantics that matter to the stores: ETags change on every write, inserts of an
existing row fail, conditional writes check the ETag, transactions are all-or-nothing, and
entities come back as copies (no aliasing between callers).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Unpack

from callcontrol.adapters.store.backend import (
    ETAG,
    Entity,
    EntityExists,
    EtagMismatch,
    TransactionFailed,
    TxKind,
    TxOp,
)
from callcontrol.adapters.store.query import TableQuery, Where
from callcontrol.domain.errors import NotFound


class MemoryTableBackend:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        """With a `clock`, ETags carry the time of each write as Azure's do (W/"datetime'…'"),
        so a store can tell when a write landed; without, they are plain counters."""
        self._tables: dict[str, dict[tuple[str, str], Entity]] = {}
        self._etags = itertools.count(1)
        self._clock = clock
        self._last_write: datetime | None = None
        self._lock = asyncio.Lock()
        self.round_trips = 0

    def _table(self, name: str) -> dict[tuple[str, str], Entity]:
        return self._tables.setdefault(name, {})

    def _stamp(self, entity: Entity) -> Entity:
        stored = {k: copy.deepcopy(v) for k, v in entity.items() if k != ETAG}
        stored[ETAG] = self._next_etag()
        return stored

    def _next_etag(self) -> str:
        if self._clock is None:
            return f'W/"{next(self._etags)}"'
        moment = self._clock()
        if self._last_write is not None and moment <= self._last_write:
            moment = self._last_write + timedelta(microseconds=1)  # every write a new ETag
        self._last_write = moment
        stamp = urllib.parse.quote(moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z")
        return f'W/"datetime\'{stamp}\'"'

    @staticmethod
    def _key(entity: Mapping[str, object]) -> tuple[str, str]:
        return str(entity["PartitionKey"]), str(entity["RowKey"])

    async def get(self, table: str, partition: str, row: str, *,
                  select: Sequence[str] | None = None) -> Entity | None:
        self.round_trips += 1
        found = self._table(table).get((partition, row))
        if found is None:
            return None
        return copy.deepcopy(found if select is None else _selected(found, select))

    def _apply(self, table: str, op: TxOp) -> str:
        rows = self._table(table)
        key = self._key(op.entity)
        current = rows.get(key)
        if op.kind is TxKind.INSERT and current is not None:
            raise EntityExists(f"{key} already exists")
        stale = current is None or current[ETAG] != op.etag
        if op.kind in (TxKind.REPLACE, TxKind.DELETE) and op.etag is not None and stale:
            raise EtagMismatch(f"{key} was changed or removed")
        if op.kind is TxKind.REPLACE and current is None:
            raise EtagMismatch(f"{key} does not exist")
        if op.kind is TxKind.DELETE:
            if current is None:
                raise NotFound(f"{key} does not exist")
            del rows[key]
            return ""
        stored = self._stamp(op.entity)
        rows[key] = stored
        return str(stored[ETAG])

    async def insert(self, table: str, entity: Entity) -> str:
        self.round_trips += 1
        return self._apply(table, TxOp(TxKind.INSERT, entity))

    async def replace(self, table: str, entity: Entity, etag: str) -> str:
        self.round_trips += 1
        return self._apply(table, TxOp(TxKind.REPLACE, entity, etag))

    async def upsert(self, table: str, entity: Entity) -> str:
        self.round_trips += 1
        return self._apply(table, TxOp(TxKind.UPSERT, entity))

    async def delete(self, table: str, partition: str, row: str, etag: str | None = None) -> None:
        self.round_trips += 1
        entity = {"PartitionKey": partition, "RowKey": row}
        try:
            self._apply(table, TxOp(TxKind.DELETE, entity, etag))
        except NotFound:
            if etag is not None:
                raise EtagMismatch(f"{partition}/{row} was removed") from None

    async def query(self, table: str, *, select: Sequence[str] | None = None,
                    limit: int | None = None, **where: Unpack[Where]) -> list[Entity]:
        self.round_trips += 1
        wanted = TableQuery(**where)
        found: list[Entity] = []
        rows = self._table(table)
        for pk, rk in sorted(rows):
            if limit is not None and len(found) >= limit:
                break
            entity = rows[(pk, rk)]
            if not wanted.matches(pk, rk, entity):
                continue
            if select is not None:
                entity = _selected(entity, select)
            found.append(copy.deepcopy(entity))
        return found

    async def transact(self, table: str, operations: Sequence[TxOp]) -> list[str]:
        self.round_trips += 1
        if len({self._key(op.entity)[0] for op in operations}) > 1:
            raise ValueError("a transaction must stay within one partition")
        rows = self._table(table)
        touched = {self._key(op.entity) for op in operations}
        before = {key: rows.get(key) for key in touched}  # stored rows are never mutated in place
        etags = []
        for index, op in enumerate(operations):
            try:
                etags.append(self._apply(table, op))
            except (EntityExists, EtagMismatch, NotFound) as exc:
                for key, previous in before.items():
                    if previous is None:
                        rows.pop(key, None)
                    else:
                        rows[key] = previous
                raise TransactionFailed(index, exc) from exc
        return etags

    async def tables(self, prefix: str) -> list[str]:
        self.round_trips += 1
        return sorted(name for name in self._tables if name.startswith(prefix))

    async def drop(self, table: str) -> None:
        self.round_trips += 1
        self._tables.pop(table, None)

    async def close(self) -> None:
        return None


def _selected(entity: Entity, select: Sequence[str]) -> Entity:
    wanted = {"PartitionKey", "RowKey", ETAG, *select}
    return {k: v for k, v in entity.items() if k in wanted}

