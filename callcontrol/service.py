"""Use cases of the call-control core. No I/O except through the store and the ACS gateway."""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from callcontrol.acs_gateway import AcsGateway
from callcontrol.clock import Clock, utc_now
from callcontrol.errors import ConcurrencyConflict, NotFound
from callcontrol.events import CallbackEvent
from callcontrol.models import CallRecord, CallState, Direction, StoredEvent
from callcontrol.reconciliation import Reconciled as Amendment
from callcontrol.state_machine import apply_event
from callcontrol.store.backend import EtagMismatch
from callcontrol.store.call_index import CallPage, CallQuery
from callcontrol.store.calls import CallStore, DuplicateEvent, VersionedCall

logger = logging.getLogger(__name__)
MAX_WRITE_ATTEMPTS = 16
T = TypeVar("T")


async def _back_off(attempt: int) -> None:
    """Jittered, growing pause between ETag retries, so contending writers spread out."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))



@dataclass(frozen=True)
class IngestResult:
    applied: int
    duplicates: int


class CallControlService:
    def __init__(
        self, store: CallStore, gateway: Callable[[], AcsGateway], clock: Clock = utc_now
    ) -> None:
        self._store = store
        self._gateway = gateway  # resolved on use: reads and callbacks never need ACS
        self._clock = clock
        # One writer per call inside this process; across processes the ETag decides.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock_for(self, call_connection_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_connection_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[call_connection_id] = lock
        return lock

    async def _guarded_write(
        self,
        call_connection_id: str,
        write: Callable[[VersionedCall | None], Awaitable[T]],
        *,
        start_from_cache: bool,
    ) -> T:
        """Run `write` on the call's current version until its ETag holds, a bounded number of
        times, one writer per call inside this process.

        With `start_from_cache`, the first attempt starts from the version this process last
        wrote instead of reading it again; after a conflict every attempt re-reads.
        """
        async with self._lock_for(call_connection_id):
            for attempt in range(MAX_WRITE_ATTEMPTS):
                use_cache = start_from_cache and attempt == 0
                read = self._store.get_for_update if use_cache else self._store.get
                current = await read(call_connection_id)
                try:
                    return await write(current)
                except EtagMismatch:
                    await _back_off(attempt)
        raise ConcurrencyConflict(f"call {call_connection_id} kept changing; gave up")

    async def update_call(
        self, call_connection_id: str, change: Callable[[CallRecord | None], CallRecord]
    ) -> CallRecord:
        """Read-modify-write a record, guarded by its ETag, retried a bounded number of times."""

        async def write(current: VersionedCall | None) -> CallRecord:
            updated = change(current.record if current else None)
            await self._store.save(updated, current)
            return updated

        return await self._guarded_write(call_connection_id, write, start_from_cache=False)

    async def amend(
        self, call_connection_id: str, change: Callable[[CallRecord], Amendment | None]
    ) -> Amendment | None:
        """A change the app makes on its own (reconciliation): the record and its history entry
        in one guarded write, or nothing when `change` finds nothing to do (or no record)."""

        async def write(current: VersionedCall | None) -> Amendment | None:
            amendment = change(current.record) if current is not None else None
            if amendment is not None:
                await self._store.save_with_event(amendment.record, current, amendment.entry)
            return amendment

        return await self._guarded_write(call_connection_id, write, start_from_cache=False)

    async def ingest_callbacks(self, events: list[CallbackEvent]) -> IngestResult:
        applied = duplicates = 0
        for event in events:
            if await self._ingest(event):
                applied += 1
            else:
                duplicates += 1
        return IngestResult(applied, duplicates)

    async def _ingest(self, event: CallbackEvent) -> bool:
        received = self._clock()
        stored_event = StoredEvent(
            event_id=event.id,
            call_connection_id=event.call_connection_id,
            type=event.type,
            time=event.time,
            data=event.data,
            received_at=received,
        )

        async def write(current: VersionedCall | None) -> bool:
            updated = apply_event(current.record if current else None, event, received)
            try:
                await self._store.save_with_event(updated, current, stored_event)
            except DuplicateEvent:
                logger.info("duplicate callback %s ignored", event.id)
                return False
            return True

        return await self._guarded_write(event.call_connection_id, write, start_from_cache=True)

    async def find_call(self, call_connection_id: str) -> CallRecord | None:
        found = await self._store.get(call_connection_id)
        return found.record if found is not None else None

    async def get_call(self, call_connection_id: str) -> CallRecord:
        record = await self.find_call(call_connection_id)
        if record is None:
            raise NotFound(f"no call {call_connection_id} is known")
        return record

    async def list_calls(
        self, *, state: CallState | None = None, direction: Direction | None = None
    ) -> list[CallRecord]:
        return await self._store.list_calls(state=state, direction=direction)

    async def list_page(self, query: CallQuery) -> CallPage:
        return await self._store.list_page(query)

    async def call_events(self, call_connection_id: str) -> list[StoredEvent]:
        await self.get_call(call_connection_id)
        return await self._store.events(call_connection_id)
