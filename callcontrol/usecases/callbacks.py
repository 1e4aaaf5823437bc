"""Callbacks: apply the events ACS posts to each call's record, once per event id, in any order.

Each event is one guarded write of the call store (`record_event`): the state machine changes
the record, the event joins the history and the change is announced as this callback's (its
call events join the row's outbox, published after: docs/events.md), all atomically; a
redelivered event changes nothing and announces nothing. Each applied event is logged once,
with the state change and the operations it settled.

Authentication beyond the JWT (docs/security.md): the token's id is used once per deployment
(the replay store), and each event's call must accept the request's URI: its own secret, or the
bare URI for a call stored before secrets existed. A call the store does not hold is created
only through a URI with a secret (its callbacks overtook the create/answer response); on the
bare URI it is refused, so no record is ever made up from a forged event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from callcontrol.domain.callback_binding import CallbackBinding, CallbackCredentials
from callcontrol.domain.callback_tokens import token_use
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import Unauthenticated
from callcontrol.domain.events.call_events import Cause, Source
from callcontrol.domain.events.callbacks import CallbackEvent, without_digits
from callcontrol.domain.flows import FlowAction
from callcontrol.domain.flows.from_callback import pressed_digits
from callcontrol.domain.models import CallRecord, Operation, OperationStatus, StoredEvent
from callcontrol.domain.state_machine import apply_event
from callcontrol.observability import CallbackResult, bind_call, note_call, telemetry
from callcontrol.usecases.flow_runs import FlowRuns
from callcontrol.usecases.ports import CallbackTokenUses, CallRecords

logger = logging.getLogger(__name__)
UNKNOWN_ON_BARE_URI = ("the bare callback URI serves only calls stored before per-call secrets; "
                       "this call is not one")


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
    def __init__(self, calls: CallRecords, tokens: CallbackTokenUses | None = None,
                 clock: Clock = utc_now, flows: FlowRuns | None = None,
                 publish_digits: Callable[[], bool] = lambda: False) -> None:
        self._calls = calls
        self._publish_digits = publish_digits  # PUBLISH_DIGITS: keys pressed in call.flow.step
        self._tokens = tokens  # None: token ids are not checked (callers without credentials)
        self._clock = clock
        self._flows = flows  # None: calls' flow runs are not moved (tests of callbacks alone)

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

        The token id is recorded in the replay store concurrently with the reads that come
        before the write, so it adds no sequential round trip where there are reads (none when
        this instance wrote the call last). A URI secret speaks for one call, so its request is
        about that call only (its write checks the secret, under the call's ETag). On the bare
        URI each call is read first: only calls stored before secrets (and no secret of their
        own) take callbacks there; each write checks again.
        """
        calls = {event.call_connection_id for event in events}
        if credentials.secret is not None and len(calls) > 1:
            raise Unauthenticated("a call's callback URI speaks for that call only")
        now = self._clock()
        use = token_use(credentials, calls, now)
        checks: list[Coroutine[Any, Any, None]] = []
        if use is not None and self._tokens is not None:
            checks.append(self._tokens.admit(use, now))
        if credentials.secret is None:
            checks += [self._bare_uri_serves(call_id, credentials) for call_id in calls]
        elif checks:  # the call's read, if its write needs one, overlaps the token's insert
            # (a call held here needs none: no second task, the usual lone check is awaited)
            checks += [self._calls.prefetch(call_id) for call_id in calls
                       if not self._calls.holds(call_id)]
        await _all_of(checks)

    async def _bare_uri_serves(self, call_id: str, credentials: CallbackCredentials) -> None:
        record = await self._calls.find(call_id)
        if record is None:
            raise Unauthenticated(UNKNOWN_ON_BARE_URI)
        record.callback_binding.admit(credentials)

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
            data=without_digits(event.data),
            received_at=received,
        )

        written: list[tuple[CallRecord | None, CallRecord]] = []
        flows = self._flows
        flow = await flows.flow_for_callback(event) if flows is not None else None
        asked: list[FlowAction] = []  # what the call's flow run asks for, sent after the write
        missed: list[bool] = [False]  # the write found a run the read before it did not

        def change(record: CallRecord | None) -> CallRecord:
            if credentials is not None:
                if record is not None:
                    record.callback_binding.admit(credentials)
                elif credentials.secret is None:
                    raise Unauthenticated(UNKNOWN_ON_BARE_URI)
            updated = apply_event(record, event, received)
            if record is None and credentials is not None:
                # A call first seen here (its callbacks overtook the create/answer response)
                # takes the secret its callback URI carries.
                updated = updated.with_changes(
                    callback_binding=CallbackBinding().pinned(credentials))
            if flow is not None:  # the run moves in this same write (usecases/flow_runs.py)
                updated, actions = FlowRuns.on_callback(flow, updated, event, received)
                asked[:] = actions
            missed[0] = FlowRuns.missed(flow, updated, event)
            written[:] = [(record, updated)]  # the last attempt's is the one that holds
            return updated

        digits = pressed_digits(event.data) or None
        if digits is not None and not self._publish_digits():  # read only when keys were pressed
            digits = None
        announced_as = Cause(Source.CALLBACK, event.id, event.type, digits=digits)
        recorded = await self._calls.record_event(stored, change, cause=announced_as)
        if recorded and flows is not None:
            await flows.send(event.call_connection_id, asked)
            if missed[0]:
                await flows.catch_up(event)
        return written[0] if recorded else None


async def _all_of(checks: list[Coroutine[Any, Any, None]]) -> None:
    """Run the checks concurrently; the first to raise cancels the others and is raised as is."""
    if len(checks) == 1:  # the usual case: no task to make
        await checks[0]
        return
    tasks = [asyncio.ensure_future(check) for check in checks]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


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
