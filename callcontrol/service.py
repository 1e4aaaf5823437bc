"""Use cases of the call-control core. No I/O except through the store and the ACS gateway."""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from callcontrol.acs_gateway import AcsGateway
from callcontrol.clock import Clock, utc_now
from callcontrol.errors import ConcurrencyConflict, NotFound
from callcontrol.events import CallbackEvent
from callcontrol.models import CallRecord, CallState, Direction, StoredEvent
from callcontrol.state_machine import apply_event
from callcontrol.store.backend import EtagMismatch
from callcontrol.store.calls import CallStore, DuplicateEvent

logger = logging.getLogger(__name__)
MAX_WRITE_ATTEMPTS = 16


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

    async def update_call(
        self, call_connection_id: str, change: Callable[[CallRecord | None], CallRecord]
    ) -> CallRecord:
        """Read-modify-write a record, guarded by its ETag, retried a bounded number of times."""
        async with self._lock_for(call_connection_id):
            for attempt in range(MAX_WRITE_ATTEMPTS):
                current = await self._store.get(call_connection_id)
                updated = change(current.record if current else None)
                try:
                    await self._store.save(updated, current)
                except EtagMismatch:
                    await _back_off(attempt)
                    continue
                return updated
        raise ConcurrencyConflict(f"call {call_connection_id} kept changing; gave up")

    async def ingest_callbacks(self, events: list[CallbackEvent]) -> IngestResult:
        applied = duplicates = 0
        for event in events:
            if await self._ingest(event):
                applied += 1
            else:
                duplicates += 1
        return IngestResult(applied, duplicates)

    async def _ingest(self, event: CallbackEvent) -> bool:
        async with self._lock_for(event.call_connection_id):
            return await self._ingest_locked(event)

    async def _ingest_locked(self, event: CallbackEvent) -> bool:
        received = self._clock()
        stored_event = StoredEvent(
            event_id=event.id,
            call_connection_id=event.call_connection_id,
            type=event.type,
            time=event.time,
            data=event.data,
            received_at=received,
        )
        for attempt in range(MAX_WRITE_ATTEMPTS):
            # First try from the version this process last wrote; after a conflict, re-read.
            current = await (self._store.get_for_update if attempt == 0 else self._store.get)(
                event.call_connection_id
            )
            updated = apply_event(current.record if current else None, event, received)
            try:
                await self._store.save_with_event(updated, current, stored_event)
            except DuplicateEvent:
                logger.info("duplicate callback %s ignored", event.id)
                return False
            except EtagMismatch:
                await _back_off(attempt)
                continue
            return True
        raise ConcurrencyConflict(f"call {event.call_connection_id} kept changing; gave up")

    async def get_call(self, call_connection_id: str) -> CallRecord:
        found = await self._store.get(call_connection_id)
        if found is None:
            raise NotFound(f"no call {call_connection_id} is known")
        return found.record

    async def list_calls(
        self, *, state: CallState | None = None, direction: Direction | None = None
    ) -> list[CallRecord]:
        return await self._store.list_calls(state=state, direction=direction)

    async def call_events(self, call_connection_id: str) -> list[StoredEvent]:
        await self.get_call(call_connection_id)
        return await self._store.events(call_connection_id)
