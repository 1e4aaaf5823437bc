"""Call records and their event history, one partition per call connection.

The row "call|<call key>" holds the record, ETag-guarded, together with the newest events of its
history and the ids of every event applied. A callback is therefore applied with ONE conditional
write of that single entity: the record change and the history entry are atomic by construction,
a redelivered event is recognised by its id before anything is written, and a concurrent writer
shows up as an ETag mismatch. When the inline history grows past `SPILL_AT` events, they move
to rows "event|<id>" in one entity-group transaction with the record (rare: once per 90 events).

Outbox (opt-in: only when the store is given an `announce` function): the same write also adds
the CloudEvents the change announces to the row's "Outbox" (docs/events.md). A relay publishes
them after the write and tells the store (`mark_published`); published events leave the outbox
with the call's next write, or with a `settle` write when the call goes quiet. What is never
marked stays pending, and a timer re-publishes it (`calls_with_pending_events`).

Row keys: releases before this one keyed every record row "call". The key names the call now,
so that a table service which looks rows up by RowKey first (Azurite) finds one row, not every
call's; Azure Table Storage reads either in the same time. A row under the old key is still
read (after a miss under the new one, until the layout row says none is left), and moves to
the new key, atomically, with its next write; `python -m tools.reindex` moves them all at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from callcontrol.adapters.store.backend import (
    ETAG,
    Entity,
    EntityExists,
    EtagMismatch,
    TableBackend,
    TransactionFailed,
    TxKind,
    TxOp,
    pack_json,
    packed_names,
    safe_key,
    unpack_json,
)
from callcontrol.adapters.store.call_index import (
    INDEX_TABLE,
    CallIndex,
    IndexKind,
    decode_token,
    encode_token,
    index_rows,
    newer_than_bound,
    same_call,
    source_of,
)
from callcontrol.adapters.store.codec import (
    CALL_FORMAT,
    FORMAT_PROPERTY,
    decode_call,
    decode_event,
    decode_outbox_event,
    encode_call,
    encode_event,
    row_format,
)
from callcontrol.adapters.store.outbox import PENDING, Outbox, stored_outbox
from callcontrol.domain.announcements import APP, RECONCILIATION, CallEvent, Cause, Source
from callcontrol.domain.errors import ConcurrencyConflict, StoreError
from callcontrol.domain.listing import CallPage, CallQuery, IndexedCall, check_limit
from callcontrol.domain.models import CallRecord, CallState, Direction, StoredEvent

CALLS_TABLE = "calls"
LEGACY_RECORD_ROW = "call"  # the record's key before it named the call
RECORD_ROWS = ("call", "call}")  # [from, below): every record row, old key and new
RECORD_ONLY = (*packed_names("Record"), FORMAT_PROPERTY)  # a record row without its history
LAYOUT_ROW = ("layout", "records")  # in callindex: present once no record has the old key
EVENT_PREFIX = "event|"
# An entity holds at most 1 MiB, strings counted in UTF-16 (2 bytes a character): the record,
# the inline events and the remembered ids share that, so each part has a budget.
SPILL_AT = 90  # inline events before they move to rows (a transaction holds at most 100 writes)
INLINE_BUDGET_CHARS = 100_000  # ~200 KB of inline events; large rosters spill sooner
MAX_REMEMBERED_IDS = 2_000  # ~160 KB of ids; an older redelivery is re-applied harmlessly
ENTITY_BUDGET_CHARS = 480_000  # all of the row's text: ~960 KB, leaving room for the rest
MAX_WRITE_ATTEMPTS = 16
PAGE_SCAN_FACTOR = 4  # a filtered page examines at most this many index rows per item asked for
logger = logging.getLogger(__name__)
T = TypeVar("T")
Change = Callable[[CallRecord | None], CallRecord | None]
Announcer = Callable[[CallRecord | None, CallRecord, Cause], list[CallEvent]]
Amendment = Callable[[CallRecord], tuple[CallRecord, StoredEvent] | None]


async def _back_off(attempt: int) -> None:
    """Jittered, growing pause between ETag retries, so contending writers spread out."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))



class DuplicateEvent(EntityExists):
    """The event is already in the call's history."""


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


class CallStore:
    """Call records and histories.

    Writers start from the version they read and hand it back when they write, so the inline
    history travels with the record. `get_for_update` serves the version this process last wrote
    (an LRU of recent calls) instead of reading it again: a stale version simply fails its ETag
    check and the caller reloads with `get`. In the common case a callback costs one write.
    """

    def __init__(self, backend: TableBackend, *, cache_size: int = 2048,
                 announce: Announcer | None = None,
                 on_pending: Callable[[str], None] | None = None) -> None:
        self._backend = backend
        self._announce = announce
        self._on_pending = on_pending
        self._published: dict[str, set[str]] = {}  # per call: published, still in the row
        self._recent: OrderedDict[str, VersionedCall] = OrderedDict()
        self._cache_size = cache_size
        self.index = CallIndex(backend)
        # One writer per call inside this process; across processes the ETag decides.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._old_keys: bool | None = None  # records under LEGACY_RECORD_ROW may exist

    # --- the one guarded read-modify-write ------------------------------------------------

    async def modify(self, call_connection_id: str, change: Change, *, cause: Cause = APP
                     ) -> CallRecord | None:
        """Read the call, apply `change`, write it back only if nobody wrote meanwhile.

        `change` gets the stored record (None when there is none) and returns the record to
        write, or None to leave the row as it is. It may run more than once (after a lost ETag
        race it sees the newer record) and may raise to abort. Returns what was written, or
        None when nothing was. `cause` says what made the change (the reconciler passes
        `announcements.RECONCILIATION`), for the events it announces.

        Raises:
            ConcurrencyConflict: the row kept changing for MAX_WRITE_ATTEMPTS attempts.
        """

        async def write(current: VersionedCall | None) -> CallRecord | None:
            updated = change(current.record if current else None)
            if updated is not None:
                await self.save(updated, current, cause=cause)
            return updated

        return await self._guarded(call_connection_id, write, start_from_cache=False)

    async def record_event(self, event: StoredEvent, change: Callable[[CallRecord | None], CallRecord]
                           ) -> bool:
        """Apply a callback: `change` the record and add `event` to its history, atomically,
        once per event id; the same guarded read-modify-write as `modify`.

        Returns False when the event was already recorded (nothing is written).
        """

        async def write(current: VersionedCall | None) -> bool:
            updated = change(current.record if current else None)
            try:
                await self.save_with_event(updated, current, event)
            except DuplicateEvent:
                logger.info("duplicate callback %s ignored", event.event_id)
                return False
            return True

        # A callback usually follows this process's own last write: start from that version.
        return await self._guarded(event.call_connection_id, write, start_from_cache=True)

    async def amend(self, call_connection_id: str, change: Amendment) -> CallRecord | None:
        """A change the app makes on its own (reconciliation): `change` gets the stored record
        and returns the record to write with the history entry that explains it, or None to
        leave the call alone. The same guarded read-modify-write as `modify`; nothing is
        written for a call the store does not hold. Returns what was written, or None."""

        async def write(current: VersionedCall | None) -> CallRecord | None:
            amended = change(current.record) if current is not None else None
            if amended is None:
                return None
            record, entry = amended
            await self.save_with_event(record, current, entry, cause=RECONCILIATION)
            return record

        return await self._guarded(call_connection_id, write, start_from_cache=False)

    async def _guarded(self, call_connection_id: str,
                       write: Callable[[VersionedCall | None], Awaitable[T]], *,
                       start_from_cache: bool) -> T:
        """Run `write` on the call's current version until its ETag holds, a bounded number of
        times, one writer per call inside this process.

        With `start_from_cache`, the first attempt starts from the version this process last
        wrote instead of reading it again; after a conflict every attempt re-reads.
        """
        async with self._lock_for(call_connection_id):
            for attempt in range(MAX_WRITE_ATTEMPTS):
                use_cache = start_from_cache and attempt == 0
                read = self.get_for_update if use_cache else self.get
                current = await read(call_connection_id)
                try:
                    return await write(current)
                except EtagMismatch:
                    await _back_off(attempt)
        raise ConcurrencyConflict(f"call {call_connection_id} kept changing; gave up")

    def _lock_for(self, call_connection_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_connection_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[call_connection_id] = lock
        return lock

    # --- reads ----------------------------------------------------------------------------

    async def find(self, call_connection_id: str) -> CallRecord | None:
        """The stored record, or None."""
        found = await self.get(call_connection_id)
        return found.record if found is not None else None

    # --- versions and raw writes (the guarded path above is built on them) ----------------

    def _remember(self, version: VersionedCall) -> None:
        key = version.record.call_connection_id
        self._recent[key] = version
        self._recent.move_to_end(key)
        while len(self._recent) > self._cache_size:
            self._recent.popitem(last=False)

    def forget(self, call_connection_id: str) -> None:
        self._recent.pop(call_connection_id, None)

    async def get_for_update(self, call_connection_id: str) -> VersionedCall | None:
        """The last version this process saw, if any, else a read (see the class doc)."""
        cached = self._recent.get(call_connection_id)
        return cached if cached is not None else await self.get(call_connection_id)

    async def prefetch(self, call_connection_id: str) -> None:
        """Read the call now unless this process holds its last version, so that a
        `record_event` soon after starts without a read (callbacks overlap it with their token
        check)."""
        if call_connection_id not in self._recent:
            await self.get(call_connection_id)

    async def _read_record_row(self, call_connection_id: str, select: Sequence[str] | None = None
                               ) -> tuple[Entity | None, bool]:
        """The record's row (under its key, else the old one) and whether it is the old one."""
        partition = safe_key(call_connection_id)
        entity = await self._backend.get(CALLS_TABLE, partition, record_key(partition),
                                         select=select)
        if entity is not None or not await self._old_keys_possible():
            return entity, False
        entity = await self._backend.get(CALLS_TABLE, partition, LEGACY_RECORD_ROW, select=select)
        return entity, entity is not None

    async def _old_keys_possible(self) -> bool:
        """Whether a record may still sit under the old key, decided once per process: not
        when `reindex` moved them all, nor when the store began empty under this release (the
        layout row says so); a miss then costs one read, not two."""
        if self._old_keys is None:
            if await self._backend.get(INDEX_TABLE, *LAYOUT_ROW) is not None:
                self._old_keys = False
            elif not await self._backend.query(CALLS_TABLE, select=["RowKey"], limit=1):
                await self._note_layout()
            else:
                self._old_keys = True
        return bool(self._old_keys)

    async def _note_layout(self) -> None:
        await self._backend.upsert(INDEX_TABLE, {"PartitionKey": LAYOUT_ROW[0],
                                                 "RowKey": LAYOUT_ROW[1], "Version": 2})
        self._old_keys = False

    async def get(self, call_connection_id: str) -> VersionedCall | None:
        entity, legacy = await self._read_record_row(call_connection_id)
        if entity is None:
            self.forget(call_connection_id)
            return None
        inline = tuple(unpack_json(entity, "Inline") or ())
        outbox = Outbox(tuple(decode_outbox_event(e) for e in unpack_json(entity, "Outbox") or ()),
                        int(entity.get("OutboxNext") or 1))
        history = History(
            inline=inline,
            seen=tuple(unpack_json(entity, "Seen") or ()),
            # The packed text's length: no need to serialise the events again.
            inline_chars=_chars({n: entity[n] for n in packed_names("Inline") if n in entity}),
        )
        record = _decoded(entity)
        found = VersionedCall(record, entity[ETAG], history, outbox, legacy)
        self._remember(found)
        return found

    async def save(self, record: CallRecord, base: VersionedCall | None, *, cause: Cause = APP
                   ) -> str:
        """Insert (no base: only if absent) or replace (only if unchanged since `base`)."""
        history = base.history if base is not None else History()
        return await self._write(record, base, history, self._next_outbox(record, base, cause))

    async def save_with_event(
        self, record: CallRecord, base: VersionedCall | None, event: StoredEvent, *,
        cause: Cause | None = None,
    ) -> None:
        """Write the record and add the event to its history, atomically, once per event id."""
        history = base.history if base is not None else History()
        if event.event_id in history.seen:
            raise DuplicateEvent(f"event {event.event_id} already recorded")
        seen = (*history.seen, event.event_id)[-MAX_REMEMBERED_IDS:]
        stored = encode_event(event)
        inline = (*history.inline, stored)
        chars = history.inline_chars + _size(stored)
        # A callback's event unless told otherwise (the reconciler's entries).
        outbox = self._next_outbox(record, base,
                                   cause or Cause(Source.CALLBACK, event.event_id, event.type))
        if len(inline) < SPILL_AT and chars <= INLINE_BUDGET_CHARS:
            await self._write(record, base, History(inline, seen, chars), outbox)
            return
        await self._spill(record, base, History((), seen), inline, outbox)

    # --- the outbox -----------------------------------------------------------------------

    def _next_outbox(self, record: CallRecord, base: VersionedCall | None, cause: Cause) -> Outbox:
        """The outbox to write with `record`: the base's minus what was published, plus the
        events of this change, numbered on from the base's sequence."""
        old = base.outbox if base is not None else Outbox()
        published = self._published.get(record.call_connection_id, set())
        kept = tuple(e for e in old.events if e.id not in published)
        if self._announce is None:
            return Outbox(kept, old.next_sequence)
        pending = {e.id for e in kept}
        new = [e for e in self._announce(base.record if base else None, record, cause)
               if e.id not in pending]
        numbered = tuple(replace(e, sequence=old.next_sequence + i) for i, e in enumerate(new))
        return Outbox(kept + numbered, old.next_sequence + len(numbered))

    def _written(self, call_connection_id: str, outbox: Outbox) -> None:
        """After a write: forget published ids the row no longer holds; wake the relay."""
        published = self._published.get(call_connection_id)
        if published is not None:
            published.intersection_update(e.id for e in outbox.events)
            if not published:
                del self._published[call_connection_id]
        if self._on_pending is not None and len(outbox.events) > len(published or ()):
            self._on_pending(call_connection_id)

    def mark_published(self, call_connection_id: str, event_ids: set[str]) -> None:
        """The topic accepted these events: drop them from the outbox with the next write."""
        self._published.setdefault(call_connection_id, set()).update(event_ids)

    async def pending_events(self, call_connection_id: str, *, fresh: bool = False
                             ) -> list[CallEvent]:
        """The call's events not yet published, in sequence order; `fresh` reads the row."""
        version = await (self.get(call_connection_id) if fresh
                         else self.get_for_update(call_connection_id))
        if version is None:
            return []
        published = self._published.get(call_connection_id, set())
        return sorted((e for e in version.outbox.events if e.id not in published),
                      key=lambda e: e.sequence)

    async def settle(self, call_connection_id: str) -> bool:
        """Write the row without its published events (when no other write did it first).

        Returns whether a write was needed."""

        async def write(current: VersionedCall | None) -> bool:
            published = self._published.get(call_connection_id, set())
            if current is None or not any(e.id in published for e in current.outbox.events):
                return False
            await self.save(current.record, current)
            return True

        return await self._guarded(call_connection_id, write, start_from_cache=True)

    async def calls_with_pending_events(self) -> list[str]:
        """Ids of the calls whose rows hold unpublished events (a scan: the timer's path)."""
        entities = await self._backend.query(CALLS_TABLE, equals={"OutboxState": PENDING},
                                             select=packed_names("Outbox"))
        found: list[str] = []
        for entity in entities:
            events = [decode_outbox_event(e) for e in unpack_json(entity, "Outbox") or ()]
            if events and events[0].call_connection_id not in found:
                found.append(events[0].call_connection_id)
        return found

    # --- writes ---------------------------------------------------------------------------

    async def _write(self, record: CallRecord, base: VersionedCall | None,
                     history: History, outbox: Outbox) -> str:
        entity = _record_entity(record, history, outbox)
        if base is None:
            await self.index.add(record)  # before the record: a record is never unindexed
        try:
            if base is None:
                etag = await self._backend.insert(CALLS_TABLE, entity)
            elif base.legacy_key:
                etag = (await self._backend.transact(CALLS_TABLE, _record_ops(entity, base)))[-1]
            else:
                etag = await self._backend.replace(CALLS_TABLE, entity, base.etag)
        except TransactionFailed as exc:
            self.forget(record.call_connection_id)
            raise EtagMismatch("the call record changed concurrently") from exc
        except EntityExists as exc:
            self.forget(record.call_connection_id)
            raise EtagMismatch("the call record was created concurrently") from exc
        except EtagMismatch:
            self.forget(record.call_connection_id)
            raise
        self._remember(VersionedCall(record, etag, history, outbox))
        self._written(record.call_connection_id, outbox)
        await self._note_end(record, base)
        return etag

    async def _note_end(self, record: CallRecord, base: VersionedCall | None) -> None:
        """A record just written as ended leaves the open index (the reconciler catches up
        on a failure here: the change itself is already stored)."""
        if base is None or base.record.state.is_final or not record.state.is_final:
            return
        try:
            await self.index.ended(record)
        except StoreError as exc:
            logger.warning("call %s ended but stays in the open index for now: %s",
                           record.call_connection_id, exc.detail)

    async def _spill(self, record: CallRecord, base: VersionedCall | None, history: History,
                     events: tuple[dict[str, Any], ...], outbox: Outbox) -> None:
        """Move the inline events to their own rows, in one transaction with the record."""
        record_entity = _record_entity(record, history, outbox)
        record_ops = _record_ops(record_entity, base)
        rows = [TxOp(TxKind.UPSERT, _event_row(record.call_connection_id, e)) for e in events]
        if base is None:
            await self.index.add(record)
        try:
            etags = await self._backend.transact(CALLS_TABLE, [*record_ops, *rows])
        except TransactionFailed as exc:
            self.forget(record.call_connection_id)
            raise EtagMismatch("the call record changed concurrently") from exc
        self._remember(VersionedCall(record, etags[len(record_ops) - 1], history, outbox))
        self._written(record.call_connection_id, outbox)
        await self._note_end(record, base)

    async def list_calls(
        self, *, state: CallState | None = None, direction: Direction | None = None
    ) -> list[CallRecord]:
        equals = {}
        if state is not None:
            equals["State"] = state.value
        if direction is not None:
            equals["Direction"] = direction.value
        entities = await self._record_rows(equals=equals)
        records = [_decoded(e) for e in entities]
        # Newest first; ISO strings of UTC times sort like the times.
        return sorted(records, key=lambda r: _iso(r.created_at), reverse=True)

    async def list_page(self, query: CallQuery) -> CallPage:
        """One page of calls, newest first, read through the index: O(page), not O(table).

        Each index row is checked against its record (the truth), filters included. A filtered
        page examines at most `PAGE_SCAN_FACTOR` index rows per item asked for, so it may come
        back short, with a continuation token, while more calls match: the end of the listing
        is the page without a token.

        When the whole index fits in the first page (a local stack, a new deployment), the
        records are read with one query instead of one read each: the console polls this.
        """
        limit = check_limit(query.limit)
        after = decode_token(query)
        kind = source_of(query)
        start = newer_than_bound(kind, query.until) if query.until is not None else None
        below = newer_than_bound(kind, query.since) if query.since is not None else None
        found: list[CallRecord] = []
        budget = limit * PAGE_SCAN_FACTOR
        tables = await self.index.day_tables()  # once per page, however many passes it takes
        while budget > 0:
            # One row past what is needed tells whether anything follows this page.
            ask = min(limit - len(found) + 1, budget)
            entries = await self.index.scan(kind, after=after, start=start, below=below,
                                            limit=ask, tables=tables)
            unread = entries
            everything = (after is None and start is None and below is None and len(entries) < ask
                          and kind is IndexKind.ALL)
            if everything and (whole := await self._read_all(entries)) is not None:
                return CallPage(tuple(r for r in whole if query.matches(r)), None)
            while unread:
                if len(found) == limit:  # and the index holds more
                    return CallPage(tuple(found), encode_token(query, after or ""))
                batch, unread = unread[:limit - len(found)], unread[limit - len(found):]
                records = await asyncio.gather(*(self.read_listed(e) for e in batch))
                for entry, listed in zip(batch, records, strict=True):
                    after, budget = entry.position, budget - 1
                    if listed is not None and query.matches(listed):
                        found.append(listed)
            if len(entries) < ask:  # the index holds nothing further
                return CallPage(tuple(found), None)
        return CallPage(tuple(found), encode_token(query, after or ""))

    async def _read_all(self, entries: list[IndexedCall]) -> list[CallRecord] | None:
        """The records of every indexed call, with one query; None when the table holds records
        the index does not know (stored by an older release): then they are read one by one."""
        entities = await self._record_rows(limit=len(entries) + 1)
        if len(entities) > len(entries):
            return None
        records = {r.call_connection_id: r for r in
                   (_decoded(e) for e in entities)}
        return [records[e.call_connection_id] for e in entries
                if e.names(records.get(e.call_connection_id))]

    async def _record_rows(self, *, equals: dict[str, str] | None = None,
                           limit: int | None = None) -> list[Entity]:
        """Every call's record row (old key and new), only the record: the inline history of
        every call would multiply what is read."""
        return await self._backend.query(CALLS_TABLE, row_from=RECORD_ROWS[0],
                                         row_below=RECORD_ROWS[1], equals=equals,
                                         select=RECORD_ONLY, limit=limit)

    async def read_listed(self, entry: IndexedCall) -> CallRecord | None:
        """The record an index row names, without its history; None for a stale row."""
        entity, _ = await self._read_record_row(entry.call_connection_id, RECORD_ONLY)
        record = _decoded(entity) if entity is not None else None
        return record if entry.names(record) else None

    async def created_before(self, cutoff: datetime, limit: int) -> list[IndexedCall]:
        """Up to `limit` calls created before `cutoff` (by the index; newest of them first)."""
        return await self.index.scan(IndexKind.ALL, start=newer_than_bound(IndexKind.ALL, cutoff),
                                     limit=limit)

    async def delete_call(self, entry: IndexedCall, *, batch: int = 100) -> int:
        """Delete a call's record and events (100 rows to a transaction), then its index rows;
        resumable: until the index row goes, the next run finds the call again. Returns the
        number of rows deleted."""
        partition = safe_key(entry.call_connection_id)
        rows = await self._backend.query(CALLS_TABLE, partition=partition, select=["RowKey"])
        for first in range(0, len(rows), batch):
            await self._backend.transact(CALLS_TABLE, [
                TxOp(TxKind.DELETE, {"PartitionKey": partition, "RowKey": row["RowKey"]})
                for row in rows[first:first + batch]])
        self.forget(entry.call_connection_id)
        await self.index.remove(entry.position)
        await self.index.remove(same_call(entry, IndexKind.OPEN))
        return len(rows)

    async def reindex(self, *, batch: int = 100) -> int:
        """Bring every stored call to this release's layout (one-off after an upgrade;
        idempotent): records under the old key move to their own, every record gets its index
        rows, and index rows an earlier release kept in `callindex` move to the day tables.
        Reads every record: run it once, not on a schedule. Returns the number of calls."""
        entities = await self._record_rows()
        rows = []
        for entity in entities:
            record = _decoded(entity)
            if entity["RowKey"] == LEGACY_RECORD_ROW:
                await self._move_to_record_key(record.call_connection_id)
            rows += index_rows(record)
        await self.index.write(rows, batch=batch)
        await self.index.move_legacy_rows(batch=batch)
        await self._note_layout()
        return len(entities)

    async def _move_to_record_key(self, call_connection_id: str) -> None:
        """Move a record from the old key to its own, atomically; a concurrent write (which
        moves it too) wins."""
        partition = safe_key(call_connection_id)
        entity = await self._backend.get(CALLS_TABLE, partition, LEGACY_RECORD_ROW)
        if entity is None:
            return
        moved = {**entity, "RowKey": record_key(partition)}
        try:
            await self._backend.transact(CALLS_TABLE, [*_leave_legacy_key(partition, entity[ETAG]),
                                                       TxOp(TxKind.INSERT, moved)])
        except TransactionFailed:
            logger.info("call %s changed while moving its record: its own write moved it",
                        call_connection_id)
        self.forget(call_connection_id)

    async def drop_emptied_days(self, cutoff: datetime) -> int:
        """Drop the index's tables of the days before `cutoff` that no call is left in."""
        return await self.index.drop_emptied_days(cutoff)

    async def open_calls(self, *, after: str | None, limit: int) -> list[IndexedCall]:
        """Calls not ended, newest first, from just after `after` (a position)."""
        return await self.index.scan(IndexKind.OPEN, after=after, limit=limit)

    async def unindex(self, entry: IndexedCall) -> None:
        """Remove one index row (a leftover the record contradicts)."""
        await self.index.remove(entry.position)

    async def load_cursor(self, name: str) -> str | None:
        return await self.index.load_cursor(name)

    async def save_cursor(self, name: str, position: str | None) -> None:
        await self.index.save_cursor(name, position)

    async def events(self, call_connection_id: str) -> list[StoredEvent]:
        """The whole history, oldest first: the spilled rows and the record's inline events."""
        partition = safe_key(call_connection_id)
        entities = await self._backend.query(CALLS_TABLE, partition=partition)
        by_id: dict[str, StoredEvent] = {}
        for entity in entities:
            if _is_record_row(str(entity["RowKey"])):
                for stored in unpack_json(entity, "Inline") or ():
                    event = decode_event(call_connection_id, stored)
                    by_id[event.event_id] = event
            elif str(entity["RowKey"]).startswith(EVENT_PREFIX):
                event = decode_event(call_connection_id, unpack_json(entity, "Event"))
                by_id.setdefault(event.event_id, event)
        return sorted(by_id.values(), key=_event_order)


def record_key(partition: str) -> str:
    """The row key of a call's record, in the call's partition."""
    return f"call|{partition}"


def _is_record_row(row_key: str) -> bool:
    return row_key == LEGACY_RECORD_ROW or row_key.startswith("call|")


def _decoded(entity: Entity) -> CallRecord:
    return decode_call(unpack_json(entity, "Record"), row_format(entity))


def _record_ops(entity: Entity, base: VersionedCall | None) -> list[TxOp]:
    """The transaction operations that write a record row over `base` (none: a new call); a
    base under the old key leaves it, guarded by its ETag, for the row under its own."""
    if base is None:
        return [TxOp(TxKind.INSERT, entity)]
    if base.legacy_key:
        return [*_leave_legacy_key(str(entity["PartitionKey"]), base.etag),
                TxOp(TxKind.INSERT, entity)]
    return [TxOp(TxKind.REPLACE, entity, base.etag)]


def _leave_legacy_key(partition: str, etag: str) -> list[TxOp]:
    """The delete, guarded by the ETag read, that takes a record off the old key."""
    return [TxOp(TxKind.DELETE, {"PartitionKey": partition, "RowKey": LEGACY_RECORD_ROW}, etag)]


def record_row(record: CallRecord) -> Entity:
    """The row a new record is stored as (no history yet): for bulk tools that seed or copy."""
    return _record_entity(record, History(), Outbox())


def _record_entity(record: CallRecord, history: History, outbox: Outbox) -> Entity:
    packed = {**pack_json("Record", encode_call(record)), **pack_json("Inline", list(history.inline))}
    extra: Entity = {}
    if outbox.events:
        packed.update(pack_json("Outbox", stored_outbox(outbox.events)))
        extra = {"OutboxState": PENDING}
    if outbox.next_sequence > 1:
        extra["OutboxNext"] = outbox.next_sequence
    room = ENTITY_BUDGET_CHARS - _chars(packed)
    if room < 0:
        raise StoreError(f"call {record.call_connection_id} is too large to store")
    seen = list(history.seen)
    packed_seen = pack_json("Seen", seen)
    while seen and _chars(packed_seen) > room:  # the oldest ids go first; rare
        seen = seen[len(seen) // 4 or 1:]
        packed_seen = pack_json("Seen", seen)
    return {
        "PartitionKey": safe_key(record.call_connection_id),
        "RowKey": record_key(safe_key(record.call_connection_id)),
        FORMAT_PROPERTY: CALL_FORMAT,
        "State": record.state.value,
        "Direction": record.direction.value,
        **packed,
        **packed_seen,
        **extra,
    }


def _chars(packed: Entity) -> int:
    return sum(len(str(value)) for value in packed.values())


def _size(stored: dict[str, Any]) -> int:
    return len(json.dumps(stored, separators=(",", ":")))


def _event_row(call_connection_id: str, stored: dict[str, Any]) -> Entity:
    return {
        "PartitionKey": safe_key(call_connection_id),
        "RowKey": EVENT_PREFIX + safe_key(str(stored["id"])),
        **pack_json("Event", stored),
    }


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _event_order(event: StoredEvent) -> tuple[str, int, str]:
    # Oldest first by the time ACS stamped; ParticipantsUpdated ties break by sequence.
    sequence = event.data.get("sequenceNumber")
    return (
        _iso(event.time or event.received_at),
        sequence if isinstance(sequence, int) else 0,
        event.event_id,
    )
