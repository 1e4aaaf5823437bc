"""The call store: call records and their event history, one partition per call connection.

It puts together the parts, each with one job, behind the ports the use cases name:

* versions.py: the records (`CallRecords`): the one ETag-guarded read-modify-write, the
  version cache, the writes with their history (history.py) and outbox (outbox.py);
* listing.py: pages of calls, beside the index (call_index.py);
* outbox_rows.py: what the relay publishes from the rows' outboxes (`PendingEvents`);
* the index rows for the timers (`CallIndexes`), retention's deletes (deletion.py) and the
  migration from an earlier release's keys (migration.py);
* record_rows.py: the record row's keys and stored shape.

Given a `CallEventsOutbox` (usecases/ports.py: the relay, with a topic), every write announces
its change in the call row's outbox, in the same write (docs/events.md); without one, nothing
is announced.

Row keys: releases before this one keyed every record row "call". The key names the call now,
so that a table service which looks rows up by RowKey first (Azurite) finds one row, not every
call's; Azure Table Storage reads either in the same time. A row under the old key is still
read (after a miss under the new one, until the layout row says none is left), and moves to
the new key, atomically, with its next write; `python -m commands.reindex` moves them all at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.call_index import CallIndex, IndexKind, newer_than_bound
from callcontrol.adapters.store.deletion import delete_call
from callcontrol.adapters.store.history import (
    INLINE_BUDGET_CHARS,
    SPILL_AT,
    DuplicateEvent,
    read_history,
)
from callcontrol.adapters.store.listing import CallListing
from callcontrol.adapters.store.listing_secret import PROCESS_KEYS, ListingKeys
from callcontrol.adapters.store.migration import Migration
from callcontrol.adapters.store.outbox import OutboxLedger
from callcontrol.adapters.store.outbox_rows import OutboxRows
from callcontrol.adapters.store.record_rows import (
    CALLS_TABLE,
    ENTITY_BUDGET_CHARS,
    LEGACY_RECORD_ROW,
    RecordTable,
    VersionedCall,
    record_key,
    record_row,
)
from callcontrol.adapters.store.versions import Amendment, CallVersions, Change
from callcontrol.domain.events.call_events import APP, CallEvent, Cause
from callcontrol.domain.listing import CallPage, CallQuery, IndexedCall
from callcontrol.domain.models import CallRecord, CallState, Direction, StoredEvent
from callcontrol.usecases.ports import CallEventsOutbox

# Where tests and tools have always found them.
__all__ = ["CALLS_TABLE", "ENTITY_BUDGET_CHARS", "INLINE_BUDGET_CHARS", "LEGACY_RECORD_ROW",
           "SPILL_AT", "CallStore", "DuplicateEvent", "VersionedCall", "record_key", "record_row"]

class CallStore:
    """Call records and histories (see the module doc for which part does what)."""

    def __init__(self, backend: TableBackend, *, cache_size: int = 2048,
                 outbox: CallEventsOutbox | None = None,
                 keys: ListingKeys = PROCESS_KEYS) -> None:
        self._backend = backend
        self.index = CallIndex(backend, keys)
        rows = RecordTable(backend)
        ledger = OutboxLedger(outbox)
        self._versions = CallVersions(backend, rows, self.index, ledger, cache_size=cache_size)
        self._listing = CallListing(rows, self.index)
        self._outbox = OutboxRows(backend, self._versions, ledger)
        self._migration = Migration(backend, rows, self.index, self._versions)

    # --- records (CallRecords) ------------------------------------------------------------

    async def modify(self, call_connection_id: str, change: Change, *, cause: Cause = APP
                     ) -> CallRecord | None:
        return await self._versions.modify(call_connection_id, change, cause=cause)

    async def record_event(self, event: StoredEvent,
                           change: Callable[[CallRecord | None], CallRecord], *,
                           cause: Cause | None = None) -> bool:
        return await self._versions.record_event(event, change, cause=cause)

    async def amend(self, call_connection_id: str, change: Amendment) -> CallRecord | None:
        return await self._versions.amend(call_connection_id, change)

    async def find(self, call_connection_id: str) -> CallRecord | None:
        """The stored record, or None."""
        found = await self._versions.get(call_connection_id)
        return found.record if found is not None else None

    async def events(self, call_connection_id: str) -> list[StoredEvent]:
        """The whole history, oldest first."""
        return await read_history(self._backend, call_connection_id)

    # Versions and raw writes (the guarded path is built on them; tests and tools use them).
    async def get(self, call_connection_id: str) -> VersionedCall | None:
        return await self._versions.get(call_connection_id)

    async def get_for_update(self, call_connection_id: str) -> VersionedCall | None:
        return await self._versions.get_for_update(call_connection_id)

    def forget(self, call_connection_id: str) -> None:
        self._versions.forget(call_connection_id)

    def holds(self, call_connection_id: str) -> bool:
        """Whether this process holds a version of the call: a `record_event` then starts
        without a read, and a `prefetch` has nothing to do."""
        return self._versions.holds(call_connection_id)

    async def prefetch(self, call_connection_id: str) -> None:
        """Read the call now unless this process holds its last version, so that a
        `record_event` soon after starts without a read (callbacks overlap it with their token
        check)."""
        await self._versions.prefetch(call_connection_id)

    async def save(self, record: CallRecord, base: VersionedCall | None, *, cause: Cause = APP
                   ) -> str:
        return await self._versions.save(record, base, cause=cause)

    async def save_with_event(self, record: CallRecord, base: VersionedCall | None,
                              event: StoredEvent, *, cause: Cause | None = None) -> None:
        await self._versions.save_with_event(record, base, event, cause=cause)

    # --- listing --------------------------------------------------------------------------

    async def list_page(self, query: CallQuery) -> CallPage:
        return await self._listing.list_page(query)

    async def list_calls(self, *, state: CallState | None = None,
                         direction: Direction | None = None) -> list[CallRecord]:
        return await self._listing.list_calls(state=state, direction=direction)

    async def read_listed(self, entry: IndexedCall) -> CallRecord | None:
        return await self._listing.read_listed(entry)

    # --- the outbox (PendingEvents, for the relay) ----------------------------------------

    def mark_published(self, call_connection_id: str, event_ids: set[str]) -> None:
        self._outbox.mark_published(call_connection_id, event_ids)

    async def pending_events(self, call_connection_id: str, *, fresh: bool = False
                             ) -> list[CallEvent]:
        return await self._outbox.pending_events(call_connection_id, fresh=fresh)

    async def settle(self, call_connection_id: str) -> bool:
        return await self._outbox.settle(call_connection_id)

    async def calls_with_pending_events(self) -> list[str]:
        return await self._outbox.calls_with_pending_events()

    # --- the index, retention, migration (CallIndexes, for the timers; tools) -------------

    async def open_calls(self, *, after: str | None, limit: int) -> list[IndexedCall]:
        """Calls not ended, newest first, from just after `after` (a position)."""
        return await self.index.scan(IndexKind.OPEN, after=after, limit=limit)

    async def created_before(self, cutoff: datetime, limit: int) -> list[IndexedCall]:
        """Up to `limit` calls created before `cutoff` (by the index; newest of them first)."""
        return await self.index.scan(IndexKind.ALL, start=newer_than_bound(IndexKind.ALL, cutoff),
                                     limit=limit)

    async def unindex(self, entry: IndexedCall) -> None:
        """Remove one index row (a leftover the record contradicts)."""
        await self.index.remove(entry.position)

    async def delete_call(self, entry: IndexedCall, *, batch: int = 100) -> int:
        return await delete_call(self._backend, self.index, self._versions, entry, batch=batch)

    async def drop_emptied_days(self, cutoff: datetime) -> int:
        """Drop the index's tables of the days before `cutoff` that no call is left in."""
        return await self.index.drop_emptied_days(cutoff)

    async def load_cursor(self, name: str) -> str | None:
        return await self.index.load_cursor(name)

    async def save_cursor(self, name: str, position: str | None) -> None:
        await self.index.save_cursor(name, position)

    async def reindex(self, *, batch: int = 100) -> int:
        return await self._migration.reindex(batch=batch)
