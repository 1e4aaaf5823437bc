"""Callbacks: apply the events ACS posts to each call's record, once per event id, in any order.

Each event is one guarded write of the call store (`record_event`): the state machine changes
the record and the event joins the history atomically; a redelivered event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcontrol.domain.callback_binding import CallbackBinding, CallbackCredentials
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import Unauthenticated
from callcontrol.domain.events.callbacks import CallbackEvent
from callcontrol.domain.models import CallRecord, StoredEvent
from callcontrol.domain.state_machine import apply_event
from callcontrol.usecases.ports import CallRecords


@dataclass(frozen=True)
class IngestCallbacks:
    """The events of one callback request, its JWT already verified, and what the request
    presents to bind it to a call (the URI's secret, the token id, the body's digest)."""

    events: tuple[CallbackEvent, ...]
    credentials: CallbackCredentials | None = None


@dataclass(frozen=True)
class IngestResult:
    applied: int
    duplicates: int


class Callbacks:
    def __init__(self, calls: CallRecords, clock: Clock = utc_now) -> None:
        self._calls = calls
        self._clock = clock

    async def ingest(self, command: IngestCallbacks) -> IngestResult:
        """Apply every event, or none when the request may not speak for their calls.

        Raises:
            Unauthenticated: the request's URI secret or token does not hold for a call.
        """
        credentials = command.credentials
        if credentials is not None:
            await self._check_before_applying(command.events, credentials)
        applied = duplicates = 0
        for event in command.events:
            if await self._apply(event, credentials):
                applied += 1
            else:
                duplicates += 1
        return IngestResult(applied, duplicates)

    async def _check_before_applying(self, events: tuple[CallbackEvent, ...],
                                     credentials: CallbackCredentials) -> None:
        """All or nothing: a request that fails for one of its calls applies no event at all.
        A URI secret speaks for one call, so its request is about that call only; on the bare
        URI each call is read once (only calls from before secrets, or forgeries, come there).
        Each write checks again, under the call's ETag."""
        calls = {event.call_connection_id for event in events}
        if credentials.secret is not None:
            if len(calls) > 1:
                raise Unauthenticated("a call's callback URI speaks for that call only")
            return  # one call: its first event's write checks, before anything is written
        now = self._clock()
        for call_id in calls:
            record = await self._calls.find(call_id)
            if record is not None:
                record.callback_binding.admit(credentials, now)

    async def _apply(self, event: CallbackEvent, credentials: CallbackCredentials | None) -> bool:
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
            if credentials is None:
                return apply_event(record, event, received)
            binding = (record.callback_binding if record is not None else CallbackBinding())
            # A call first seen here (its callbacks overtook the create/answer response) takes
            # the secret its callback URI carries.
            admitted = binding.admit(credentials, received) if record is not None else (
                binding.pinned(credentials).admit(credentials, received))
            return apply_event(record, event, received).with_changes(callback_binding=admitted)

        return await self._calls.record_event(stored, change)
