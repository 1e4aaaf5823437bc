"""Callbacks: apply the events ACS posts to each call's record, once per event id, in any order.

Each event is one guarded write of the call store (`record_event`): the state machine changes
the record, the event joins the history and the change is announced as this callback's (its
call events join the row's outbox, published after: docs/events.md), all atomically; a
redelivered event changes nothing and announces nothing. Each applied event is logged once,
with the state change and the operations it settled.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass

from callcontrol.domain.announcements import Cause, Source
from callcontrol.domain.callback_binding import CallbackBinding, CallbackCredentials
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import Unauthenticated
from callcontrol.domain.events.callbacks import CallbackEvent
from callcontrol.domain.models import CallRecord, Operation, OperationStatus, StoredEvent
from callcontrol.domain.state_machine import apply_event
from callcontrol.observability import CallbackResult, bind_call, note_call, telemetry
from callcontrol.usecases.ports import CallRecords

logger = logging.getLogger(__name__)


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
        own_spans = len(command.events) > 1  # a lone event (ACS's usual POST) is the invocation
        for event in command.events:
            if await self._observed(event, credentials, own_span=own_spans):
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

    async def _observed(self, event: CallbackEvent,
                        credentials: CallbackCredentials | None, *, own_span: bool) -> bool:
        """Apply one event in its call's context, with its span (its own in a batch, else the
        invocation's), the callbacks metrics, and one log line saying what changed."""
        ids = {"call_connection_id": event.call_connection_id,
               "server_call_id": event.server_call_id, "correlation_id": event.correlation_id,
               "operation_context": event.operation_context}
        scope = bind_call(**ids) if own_span else nullcontext(note_call(**ids))
        kind = event.type.removeprefix("Microsoft.Communication.")
        observed = telemetry()
        with scope:
            block = observed.span(f"callback {kind}") if own_span else observed.current_span()
            with block as span:
                started = time.perf_counter()
                change = await self._apply(event, credentials)
                elapsed_ms = (time.perf_counter() - started) * 1000
                result = CallbackResult.APPLIED if change is not None else CallbackResult.DUPLICATE
                span.set_attributes({"eventType": kind, "result": result.value})
                observed.metrics.callback(result, event_type=kind, latency_ms=elapsed_ms)
            if change is not None:
                _log_applied(kind, *change)
        return change is not None

    async def _apply(self, event: CallbackEvent, credentials: CallbackCredentials | None,
                     ) -> tuple[CallRecord | None, CallRecord] | None:
        """Record the event and the change it makes, announced as made by this callback, in
        one write: (the record before, after); None when it was already recorded."""
        received = self._clock()
        stored = StoredEvent(
            event_id=event.id,
            call_connection_id=event.call_connection_id,
            type=event.type,
            time=event.time,
            data=event.data,
            received_at=received,
        )

        written: list[tuple[CallRecord | None, CallRecord]] = []

        def change(record: CallRecord | None) -> CallRecord:
            updated = apply_event(record, event, received)
            if credentials is not None:
                binding = record.callback_binding if record is not None else CallbackBinding()
                # A call first seen here (its callbacks overtook the create/answer response)
                # takes the secret its callback URI carries.
                if record is None:
                    binding = binding.pinned(credentials)
                updated = updated.with_changes(callback_binding=binding.admit(credentials, received))
            written[:] = [(record, updated)]  # the last attempt's is the one that holds
            return updated

        announced_as = Cause(Source.CALLBACK, event.id, event.type)
        recorded = await self._calls.record_event(stored, change, cause=announced_as)
        return written[0] if recorded else None


def _log_applied(kind: str, before: CallRecord | None, after: CallRecord) -> None:
    if before is not None and before.state is after.state:
        logger.info("callback %s applied (%s)", kind, after.state.value)
    else:
        logger.info("callback %s applied: %s → %s", kind,
                    before.state.value if before else "new", after.state.value)
    for settled in newly_settled(before, after):
        # A failure says why (486 busy, 487 no answer): the terminal shows only this line.
        why = f": {settled.reason}" if settled.status is OperationStatus.FAILED and settled.reason else ""
        logger.info("operation %s (%s) settled: %s%s", settled.kind.value, settled.context,
                    settled.status.value, why)


def newly_settled(before: CallRecord | None, after: CallRecord) -> list[Operation]:
    """Operations the change finished (succeeded, failed or cancelled)."""
    pending = {op.context for op in (before.operations if before else ())
               if op.status is OperationStatus.PENDING}
    return [op for op in after.operations
            if op.context in pending and op.status is not OperationStatus.PENDING]
