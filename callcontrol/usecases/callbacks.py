"""Callbacks: apply the events ACS posts to each call's record, once per event id, in any order.

Each event is one guarded write of the call store (`record_event`): the state machine changes
the record and the event joins the history atomically; a redelivered event changes nothing.
Each applied event is logged once, with the state change and the operations it settled.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.events.callbacks import CallbackEvent
from callcontrol.domain.models import CallRecord, Operation, OperationStatus, StoredEvent
from callcontrol.domain.state_machine import apply_event
from callcontrol.observability import CallbackResult, bind_call, note_call, telemetry
from callcontrol.usecases.ports import CallRecords

logger = logging.getLogger(__name__)


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
        own_spans = len(command.events) > 1  # a lone event (ACS's usual POST) is the invocation
        for event in command.events:
            if await self._observed(event, own_span=own_spans):
                applied += 1
            else:
                duplicates += 1
        return IngestResult(applied, duplicates)

    async def _observed(self, event: CallbackEvent, *, own_span: bool) -> bool:
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
                change = await self._apply(event)
                elapsed_ms = (time.perf_counter() - started) * 1000
                result = CallbackResult.APPLIED if change is not None else CallbackResult.DUPLICATE
                span.set_attributes({"eventType": kind, "result": result.value})
                observed.metrics.callback(result, event_type=kind, latency_ms=elapsed_ms)
            if change is not None:
                _log_applied(kind, *change)
        return change is not None

    async def _apply(self, event: CallbackEvent) -> tuple[CallRecord | None, CallRecord] | None:
        """(the record before, after) the event; None when it was already recorded."""
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
            written[:] = [(record, updated)]  # the last attempt's is the one that holds
            return updated

        return written[0] if await self._calls.record_event(stored, change) else None


def _log_applied(kind: str, before: CallRecord | None, after: CallRecord) -> None:
    if before is not None and before.state is after.state:
        logger.info("callback %s applied (%s)", kind, after.state.value)
    else:
        logger.info("callback %s applied: %s → %s", kind,
                    before.state.value if before else "new", after.state.value)
    for settled in newly_settled(before, after):
        logger.info("operation %s (%s) settled: %s", settled.kind.value, settled.context,
                    settled.status.value)


def newly_settled(before: CallRecord | None, after: CallRecord) -> list[Operation]:
    """Operations the change finished (succeeded, failed or cancelled)."""
    pending = {op.context for op in (before.operations if before else ())
               if op.status is OperationStatus.PENDING}
    return [op for op in after.operations
            if op.context in pending and op.status is not OperationStatus.PENDING]
