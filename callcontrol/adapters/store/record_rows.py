"""The call record's row: its keys, its stored shape, and reading it (under either key).

The row "call|<call key>" in the call's own partition holds the record (`Record`, packed, with
its `Format`), the newest events of its history (`Inline`), the ids of every event applied
(`Seen`) and the outbox (`Outbox`, `OutboxNext`, `OutboxState`: outbox.py). Releases before this
one keyed every record row "call"; such a row is still read, after a miss under the new key,
until the layout row says none is left (migration.py moves them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from callcontrol.adapters.store.backend import (
    ETAG,
    Entity,
    TableBackend,
    TxKind,
    TxOp,
    pack_json,
    packed_names,
    safe_key,
    unpack_json,
)
from callcontrol.adapters.store.call_index import INDEX_TABLE
from callcontrol.adapters.store.codec import (
    FORMAT_PROPERTY,
    call_format,
    decode_call,
    decode_outbox_event,
    encode_call,
    row_format,
)
from callcontrol.adapters.store.outbox import PENDING, Outbox, stored_outbox
from callcontrol.domain.errors import StoreError
from callcontrol.domain.models import CallRecord

CALLS_TABLE = "calls"
LEGACY_RECORD_ROW = "call"  # the record's key before it named the call
RECORD_ROWS = ("call", "call}")  # [from, below): every record row, old key and new
RECORD_ONLY = (*packed_names("Record"), FORMAT_PROPERTY)  # a record row without its history
LAYOUT_ROW = ("layout", "records")  # in callindex: present once no record has the old key
# An entity holds at most 1 MiB, strings counted in UTF-16 (2 bytes a character): the record,
# the inline events and the remembered ids share that, so each part has a budget.
ENTITY_BUDGET_CHARS = 480_000  # all of the row's text: ~960 KB, leaving room for the rest


@dataclass(frozen=True)
class History:
    """The part of the history kept in the record's own row."""

    inline: tuple[dict[str, Any], ...] = ()  # newest events, as stored
    seen: tuple[str, ...] = ()  # ids of the events applied (the newest MAX_REMEMBERED_IDS)
    inline_chars: int = 0  # serialised size of `inline`


@dataclass(frozen=True)
class VersionedCall:
    record: CallRecord
    etag: str
    history: History = field(default_factory=History)
    outbox: Outbox = field(default_factory=Outbox)
    legacy_key: bool = False  # stored under LEGACY_RECORD_ROW: the next write moves it


class RecordTable:
    """Reads of record rows: one call's (under its key, else the old one) or every call's."""

    def __init__(self, backend: TableBackend) -> None:
        self._backend = backend
        self._old_keys: bool | None = None  # records under LEGACY_RECORD_ROW may exist

    async def read(self, call_connection_id: str, select: Sequence[str] | None = None
                   ) -> tuple[Entity | None, bool]:
        """The record's row (under its key, else the old one) and whether it is the old one."""
        partition = safe_key(call_connection_id)
        entity = await self._backend.get(CALLS_TABLE, partition, record_key(partition),
                                         select=select)
        if entity is not None or not await self._old_keys_possible():
            return entity, False
        entity = await self._backend.get(CALLS_TABLE, partition, LEGACY_RECORD_ROW, select=select)
        return entity, entity is not None

    async def every(self, *, equals: dict[str, str] | None = None,
                    limit: int | None = None) -> list[Entity]:
        """Every call's record row (old key and new), only the record: the inline history of
        every call would multiply what is read."""
        return await self._backend.query(CALLS_TABLE, row_from=RECORD_ROWS[0],
                                         row_below=RECORD_ROWS[1], equals=equals,
                                         select=RECORD_ONLY, limit=limit)

    async def _old_keys_possible(self) -> bool:
        """Whether a record may still sit under the old key, decided once per process: not
        when `reindex` moved them all, nor when the store began empty under this release (the
        layout row says so); a miss then costs one read, not two."""
        if self._old_keys is None:
            if await self._backend.get(INDEX_TABLE, *LAYOUT_ROW) is not None:
                self._old_keys = False
            elif not await self._backend.query(CALLS_TABLE, select=["RowKey"], limit=1):
                await self.note_layout()
            else:
                self._old_keys = True
        return bool(self._old_keys)

    async def note_layout(self) -> None:
        """Record that no record is left under the old key."""
        await self._backend.upsert(INDEX_TABLE, {"PartitionKey": LAYOUT_ROW[0],
                                                 "RowKey": LAYOUT_ROW[1], "Version": 2})
        self._old_keys = False


def record_key(partition: str) -> str:
    """The row key of a call's record, in the call's partition."""
    return f"call|{partition}"


def is_record_row(row_key: str) -> bool:
    return row_key == LEGACY_RECORD_ROW or row_key.startswith("call|")


def decoded(entity: Entity) -> CallRecord:
    return decode_call(unpack_json(entity, "Record"), row_format(entity))


def version_of(entity: Entity, legacy: bool) -> VersionedCall:
    """The version a read row holds: record, history and outbox, with its ETag."""
    outbox = Outbox(tuple(decode_outbox_event(e) for e in unpack_json(entity, "Outbox") or ()),
                    int(entity.get("OutboxNext") or 1))
    history = History(
        inline=tuple(unpack_json(entity, "Inline") or ()),
        seen=tuple(unpack_json(entity, "Seen") or ()),
        # The packed text's length: no need to serialise the events again.
        inline_chars=chars({n: entity[n] for n in packed_names("Inline") if n in entity}),
    )
    return VersionedCall(decoded(entity), entity[ETAG], history, outbox, legacy)


def record_ops(entity: Entity, base: VersionedCall | None) -> list[TxOp]:
    """The transaction operations that write a record row over `base` (none: a new call); a
    base under the old key leaves it, guarded by its ETag, for the row under its own."""
    if base is None:
        return [TxOp(TxKind.INSERT, entity)]
    if base.legacy_key:
        return [*leave_legacy_key(str(entity["PartitionKey"]), base.etag),
                TxOp(TxKind.INSERT, entity)]
    return [TxOp(TxKind.REPLACE, entity, base.etag)]


def leave_legacy_key(partition: str, etag: str) -> list[TxOp]:
    """The delete, guarded by the ETag read, that takes a record off the old key."""
    return [TxOp(TxKind.DELETE, {"PartitionKey": partition, "RowKey": LEGACY_RECORD_ROW}, etag)]


def record_row(record: CallRecord) -> Entity:
    """The row a new record is stored as (no history yet): for bulk tools that seed or copy."""
    return record_entity(record, History(), Outbox())


def record_entity(record: CallRecord, history: History, outbox: Outbox) -> Entity:
    packed = {**pack_json("Record", encode_call(record)), **pack_json("Inline", list(history.inline))}
    extra: Entity = {}
    if outbox.events:
        packed.update(pack_json("Outbox", stored_outbox(outbox.events)))
        extra = {"OutboxState": PENDING}
    if outbox.next_sequence > 1:
        extra["OutboxNext"] = outbox.next_sequence
    room = ENTITY_BUDGET_CHARS - chars(packed)
    if room < 0:
        raise StoreError(f"call {record.call_connection_id} is too large to store")
    seen = list(history.seen)
    packed_seen = pack_json("Seen", seen)
    while seen and chars(packed_seen) > room:  # the oldest ids go first; rare
        seen = seen[len(seen) // 4 or 1:]
        packed_seen = pack_json("Seen", seen)
    return {
        "PartitionKey": safe_key(record.call_connection_id),
        "RowKey": record_key(safe_key(record.call_connection_id)),
        FORMAT_PROPERTY: call_format(record),
        "State": record.state.value,
        "Direction": record.direction.value,
        **packed,
        **packed_seen,
        **extra,
    }


def chars(packed: Entity) -> int:
    return sum(len(str(value)) for value in packed.values())
