"""The small set of table operations every store is built from, and their errors.

`AzureTableBackend` (Azure Table Storage / Azurite) implements it; the tests also run the
stores on an in-memory twin (tests/support/memory_tables.py). Domain stores (calls, claims, rules,
idempotency) are written once against this protocol, so the twin exercises the same code and
passes the same contract tests as the real store.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, Unpack

# EtagMismatch is declared with the other errors (use cases catch it); every backend raises it.
from callcontrol.adapters.store.query import Where
from callcontrol.adapters.store.query import prefix_end as prefix_end
from callcontrol.domain.errors import CallControlError, StoreError
from callcontrol.domain.errors import EtagMismatch as EtagMismatch

Entity = dict[str, Any]
ETAG = "_etag"  # key under which a read entity carries its ETag
_CHUNK = 30_000  # Table string properties hold at most 64 KiB (32 K UTF-16 chars)


# Azure Table Storage and Azurite make a row's ETag from the service's time of the write (its
# Timestamp): W/"datetime'2026-12-07T04%3A45%3A42.1234567Z'".
# Every storage request ends within this, the SDK's own retries included: well inside Event
# Grid's 30 s wait for a webhook and the host's HTTP timeout, so a hung store becomes a prompt
# 503 (or a failed delivery that Event Grid retries), never a request that outlives its caller.
# Here, free of the SDK, so a store that plans around it loads no SDK at import.
STORAGE_DEADLINE_SECONDS = 5.0
_DATETIME_ETAG = re.compile(r"^W/\"datetime'([^']+)'\"$")


def written_at(etag: str) -> datetime | None:
    """When the service wrote the row whose ETag this is, by the service's clock; None for an
    ETag of another form (the caller then cannot tell when a write landed)."""
    match = _DATETIME_ETAG.match(etag)
    if match is None:
        return None
    text = urllib.parse.unquote(match.group(1)).removesuffix("Z")
    whole, _, fraction = text.partition(".")
    try:
        moment = datetime.fromisoformat(f"{whole}.{fraction[:6].ljust(6, '0')}" if fraction
                                        else whole)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)


class EntityExists(StoreError):
    """An insert found the row already there."""


class TxKind(StrEnum):
    INSERT = "create"
    REPLACE = "update"
    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True)
class TxOp:
    kind: TxKind
    entity: Entity
    etag: str | None = None


class TransactionFailed(StoreError):
    """An entity-group transaction was refused; nothing in it was applied."""

    def __init__(self, index: int, cause: CallControlError) -> None:
        super().__init__(f"operation {index} failed: {cause.detail}")
        self.index = index
        self.cause = cause


class TableBackend(Protocol):
    round_trips: int

    async def get(self, table: str, partition: str, row: str, *,
                  select: Sequence[str] | None = None) -> Entity | None:
        """The entity, or None; with `select`, only those properties (and the keys)."""
        ...

    async def insert(self, table: str, entity: Entity) -> str: ...

    async def replace(self, table: str, entity: Entity, etag: str) -> str: ...

    async def upsert(self, table: str, entity: Entity) -> str: ...

    async def delete(self, table: str, partition: str, row: str, etag: str | None = None) -> None:
        ...

    async def query(self, table: str, *, select: Sequence[str] | None = None,
                    limit: int | None = None, **where: Unpack[Where]) -> list[Entity]:
        """Matching entities in key order (PartitionKey, then RowKey); with `select`, only those
        properties (and the keys) come back.

        `where` narrows the selection (query.Where: the partition, RowKey bounds, property
        values; one `TableQuery` decides for every backend); `limit` stops after that many
        entities (the server is asked for no more than needed).
        """
        ...

    async def transact(self, table: str, operations: Sequence[TxOp]) -> list[str]:
        """Apply all or none; return each operation's new ETag ("" for a delete)."""
        ...

    async def tables(self, prefix: str) -> list[str]:
        """The names of the tables that exist and start with `prefix`, in name order."""
        ...

    async def drop(self, table: str) -> None:
        """Delete the table and everything in it (nothing happens when it does not exist)."""
        ...

    async def close(self) -> None: ...


MAX_CHUNKS = 16  # properties one packed value may span: 480 K characters, under 1 MiB


def packed_names(name: str) -> list[str]:
    """Every property `pack_json(name, …)` can write, for selecting just that value."""
    return [name, *(f"{name}_{index}" for index in range(1, MAX_CHUNKS))]


def pack_json(name: str, value: object) -> Entity:
    """Serialise `value` into one or more string properties (`name`, `name_1`, …)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise StoreError(f"{name} is too large to store ({len(text)} characters)")
    packed: Entity = {name: chunks[0]}
    for index, chunk in enumerate(chunks[1:], start=1):
        packed[f"{name}_{index}"] = chunk
    return packed


def unpack_json(entity: Mapping[str, Any], name: str) -> Any:
    # A selected property an entity lacks may come back as null: it ends the value.
    parts = [entity.get(name) or ""]
    index = 1
    while entity.get(f"{name}_{index}") is not None:
        parts.append(entity[f"{name}_{index}"])
        index += 1
    text = "".join(str(p) for p in parts)
    return json.loads(text) if text else None


_FORBIDDEN_KEY_CHARS = set("/\\#?") | {chr(c) for c in range(0x20)} | {chr(0x7F)}


def safe_key(value: str) -> str:
    """A PartitionKey/RowKey-safe form of an external id (hashed when it has forbidden chars)."""
    if value and len(value) <= 512 and not (_FORBIDDEN_KEY_CHARS & set(value)):
        return value
    return "h-" + hashlib.sha256(value.encode()).hexdigest()
