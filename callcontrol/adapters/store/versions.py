"""Call records: the one ETag-guarded read-modify-write, the version cache, and the writes.

A callback is applied with ONE conditional write of the record's row: the record change, the
history entry (history.py) and the events the change announces (the row's outbox, outbox.py)
are atomic by construction, a redelivered event is recognised by its id before anything is
written, and a concurrent writer shows up as an ETag mismatch. A write that spills the history
is one entity-group transaction with the record instead.

Writers start from the version they read and hand it back when they write, so the inline
history and the outbox travel with the record. `get_for_update` serves the version this process
last wrote (an LRU of recent calls) instead of reading it again: a stale version simply fails
its ETag check and the caller reloads with `get`. In the common case a callback costs one write.
A `prefetch` that found no row is remembered for the write that follows it (a call's first
callback, overtaking its create/answer): that write inserts without reading again, and if the
row appeared meanwhile the insert fails (EntityExists) and the retry reads.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from callcontrol.adapters.store.backend import (
    EntityExists,
    EtagMismatch,
    TableBackend,
    TransactionFailed,
    TxKind,
    TxOp,
)
from callcontrol.adapters.store.call_index import CallIndex
from callcontrol.adapters.store.history import DuplicateEvent, event_row, with_event
from callcontrol.adapters.store.outbox import Outbox, OutboxLedger
from callcontrol.adapters.store.record_rows import (
    CALLS_TABLE,
    History,
    RecordTable,
    VersionedCall,
    record_entity,
    record_ops,
    version_of,
)
from callcontrol.domain.errors import ConcurrencyConflict, StoreError
from callcontrol.domain.events.call_events import APP, RECONCILIATION, Cause, Source
from callcontrol.domain.listing import phone_numbers
from callcontrol.domain.models import CallRecord, StoredEvent

MAX_WRITE_ATTEMPTS = 16
logger = logging.getLogger(__name__)
T = TypeVar("T")
Change = Callable[[CallRecord | None], CallRecord | None]
Amendment = Callable[[CallRecord], tuple[CallRecord, StoredEvent] | None]


async def _back_off(attempt: int) -> None:
    """Jittered, growing pause between ETag retries, so contending writers spread out."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))


class CallVersions:
    def __init__(self, backend: TableBackend, rows: RecordTable, index: CallIndex,
                 ledger: OutboxLedger, *, cache_size: int = 2048) -> None:
        self._backend = backend
        self._rows = rows
        self._index = index
        self._ledger = ledger
        self._recent: OrderedDict[str, VersionedCall] = OrderedDict()
        self._cache_size = cache_size
        self._absent: set[str] = set()  # prefetched and not found; consumed by the next write
        # One writer per call inside this process; across processes the ETag decides.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # --- the one guarded read-modify-write ------------------------------------------------

    async def modify(self, call_connection_id: str, change: Change, *, cause: Cause = APP
                     ) -> CallRecord | None:
        """Read the call, apply `change`, write it back only if nobody wrote meanwhile; the
        write announces the change as made by `cause`.

        `change` gets the stored record (None when there is none) and returns the record to
        write, or None to leave the row as it is. It may run more than once (after a lost ETag
        race it sees the newer record) and may raise to abort. Returns what was written, or
        None when nothing was.

        Raises:
            ConcurrencyConflict: the row kept changing for MAX_WRITE_ATTEMPTS attempts.
        """

        async def write(current: VersionedCall | None) -> CallRecord | None:
            updated = change(current.record if current else None)
            if updated is not None:
                await self.save(updated, current, cause=cause)
            return updated

        return await self.guarded(call_connection_id, write, start_from_cache=False)

    async def record_event(self, event: StoredEvent,
                           change: Callable[[CallRecord | None], CallRecord], *,
                           cause: Cause | None = None) -> bool:
        """Apply a callback: `change` the record and add `event` to its history, atomically,
        once per event id, announced as `cause` (None: this callback); the same guarded
        read-modify-write as `modify`.

        Returns False when the event was already recorded (nothing is written).
        """

        async def write(current: VersionedCall | None) -> bool:
            updated = change(current.record if current else None)
            try:
                await self.save_with_event(updated, current, event, cause=cause)
            except DuplicateEvent:
                logger.info("duplicate callback %s ignored", event.event_id)
                return False
            return True

        # A callback usually follows this process's own last write: start from that version.
        return await self.guarded(event.call_connection_id, write, start_from_cache=True)

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

        return await self.guarded(call_connection_id, write, start_from_cache=False)

    async def guarded(self, call_connection_id: str,
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

    # --- versions -------------------------------------------------------------------------

    def _remember(self, version: VersionedCall) -> None:
        key = version.record.call_connection_id
        self._absent.discard(key)
        self._recent[key] = version
        self._recent.move_to_end(key)
        while len(self._recent) > self._cache_size:
            self._recent.popitem(last=False)

    def forget(self, call_connection_id: str) -> None:
        self._recent.pop(call_connection_id, None)
        self._absent.discard(call_connection_id)

    def holds(self, call_connection_id: str) -> bool:
        """Whether a version of the call is held here (a guarded write from the cache starts
        without a read)."""
        return call_connection_id in self._recent

    async def prefetch(self, call_connection_id: str) -> None:
        """Read the call unless its last version is held here (see CallStore.prefetch)."""
        if call_connection_id not in self._recent and await self.get(call_connection_id) is None:
            if len(self._absent) >= self._cache_size:  # prefetches no write followed
                self._absent.clear()
            self._absent.add(call_connection_id)

    async def get_for_update(self, call_connection_id: str) -> VersionedCall | None:
        """The last version this process saw, if any, else a read (see the module doc)."""
        cached = self._recent.get(call_connection_id)
        if cached is not None:
            return cached
        if call_connection_id in self._absent:  # just read and not there: the insert checks
            self._absent.discard(call_connection_id)
            return None
        return await self.get(call_connection_id)

    async def get(self, call_connection_id: str) -> VersionedCall | None:
        entity, legacy = await self._rows.read(call_connection_id)
        if entity is None:
            self.forget(call_connection_id)
            return None
        found = version_of(entity, legacy)
        self._remember(found)
        return found

    # --- writes ---------------------------------------------------------------------------

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
        history, spilled = with_event(base.history if base is not None else History(), event)
        # A callback's event unless told otherwise (the reconciler's entries).
        outbox = self._next_outbox(record, base,
                                   cause or Cause(Source.CALLBACK, event.event_id, event.type))
        if spilled:
            await self._spill(record, base, history, spilled, outbox)
        else:
            await self._write(record, base, history, outbox)

    def _next_outbox(self, record: CallRecord, base: VersionedCall | None, cause: Cause) -> Outbox:
        if base is None:
            return self._ledger.next_outbox(None, record, Outbox(), cause)
        return self._ledger.next_outbox(base.record, record, base.outbox, cause)

    async def _write(self, record: CallRecord, base: VersionedCall | None,
                     history: History, outbox: Outbox) -> str:
        entity = record_entity(record, history, outbox)
        await self._index_first(record, base)
        try:
            if base is None:
                etag = await self._backend.insert(CALLS_TABLE, entity)
            elif base.legacy_key:
                etag = (await self._backend.transact(CALLS_TABLE, record_ops(entity, base)))[-1]
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
        await self._written(VersionedCall(record, etag, history, outbox), base)
        return etag

    async def _spill(self, record: CallRecord, base: VersionedCall | None, history: History,
                     events: tuple[dict[str, Any], ...], outbox: Outbox) -> None:
        """Move the inline events to their own rows, in one transaction with the record."""
        ops = record_ops(record_entity(record, history, outbox), base)
        rows = [TxOp(TxKind.UPSERT, event_row(record.call_connection_id, e)) for e in events]
        await self._index_first(record, base)
        try:
            etags = await self._backend.transact(CALLS_TABLE, [*ops, *rows])
        except TransactionFailed as exc:
            self.forget(record.call_connection_id)
            raise EtagMismatch("the call record changed concurrently") from exc
        await self._written(VersionedCall(record, etags[len(ops) - 1], history, outbox), base)

    async def _index_first(self, record: CallRecord, base: VersionedCall | None) -> None:
        """Index rows before the record that needs them: a record is never unindexed. A call
        stored by its first callback learns its numbers later: their rows come then."""
        if base is None:
            await self._index.add(record)
        elif gained := phone_numbers(record) - phone_numbers(base.record):
            await self._index.add_numbers(record, gained)

    async def _written(self, version: VersionedCall, base: VersionedCall | None) -> None:
        """After a write: remember the version, tell the ledger, and a record just written as
        ended leaves the open index (the reconciler catches up on a failure there: the change
        itself is already stored)."""
        record = version.record
        self._remember(version)
        self._ledger.written(record.call_connection_id, version.outbox)
        if base is None or base.record.state.is_final or not record.state.is_final:
            return
        try:
            await self._index.ended(record)
        except StoreError as exc:
            logger.warning("call %s ended but stays in the open index for now: %s",
                           record.call_connection_id, exc.detail)
