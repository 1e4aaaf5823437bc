"""Callbacks: apply the events ACS posts to each call's record, once per event id, in any order.

Each event is one guarded write of the call store (`record_event`): the state machine changes
the record and the event joins the history atomically; a redelivered event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.events.callbacks import CallbackEvent
from callcontrol.domain.models import CallRecord, StoredEvent
from callcontrol.domain.state_machine import apply_event
from callcontrol.usecases.ports import CallRecords


@dataclass(frozen=True)
class IngestCallbacks:
    """The events of one callback request, already authenticated and parsed."""

    events: tuple[CallbackEvent, ...]


@dataclass(frozen=True)
class IngestResult:
    applied: int
    duplicates: int


class Callbacks:
    def __init__(self, calls: CallRecords, clock: Clock = utc_now) -> None:
        self._calls = calls
        self._clock = clock

    async def ingest(self, command: IngestCallbacks) -> IngestResult:
        applied = duplicates = 0
        for event in command.events:
            if await self._apply(event):
                applied += 1
            else:
                duplicates += 1
        return IngestResult(applied, duplicates)

    async def _apply(self, event: CallbackEvent) -> bool:
        received = self._clock()
        stored = StoredEvent(
            event_id=event.id,
            call_connection_id=event.call_connection_id,
            type=event.type,
            time=event.time,
            data=event.data,
            received_at=received,
        )

        def change(record: CallRecord | None) -> CallRecord:
            return apply_event(record, event, received)

        return await self._calls.record_event(stored, change)
