"""A call's flow run moved by what happens to the call, in the call's own writes.

    callback ─▶ record_event(change: state machine, then `advance` the run) ─▶ send the actions
    reconciler tick ─▶ modify(change: `advance(StepOverdue)`) ─▶ send the actions

The run lives on the call record, so the write that applies a callback also moves the run, under
the same ETag: a redelivered callback is recognised by the store and moves nothing, two
instances cannot both move it, and a retried write recomputes the same actions (the engine is
pure). What the run asks for is sent after the write (usecases/flow_actions.py), each request
with the identity the engine derived for it, so it reaches ACS once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.events.call_events import RECONCILIATION, Cause, Source
from callcontrol.domain.events.callbacks import CallbackEvent, EventKind
from callcontrol.domain.flows import (
    AddParticipant,
    AskReply,
    AskRequest,
    CallConnected,
    CallDisconnected,
    Flow,
    FlowAction,
    FlowEvent,
    FlowRun,
    InvitationFailed,
    StepOverdue,
    Waiting,
    advance,
)
from callcontrol.domain.flows.from_callback import flow_event
from callcontrol.domain.models import CallRecord, CallState, Operation, OperationKind, OperationStatus
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.domain.state_machine import record_pending
from callcontrol.usecases.flow_actions import FlowActions
from callcontrol.usecases.flow_catalog import FlowCatalog
from callcontrol.usecases.ports import CallRecords

logger = logging.getLogger(__name__)
# Callbacks that can move a run; any other is applied without reading the run's flow.
_MOVING: Final = frozenset({
    EventKind.CALL_CONNECTED, EventKind.ANSWER_FAILED, EventKind.CALL_DISCONNECTED,
    EventKind.PARTICIPANTS_UPDATED, EventKind.ADD_PARTICIPANT_SUCCEEDED,
    EventKind.ADD_PARTICIPANT_FAILED, EventKind.CANCEL_ADD_PARTICIPANT_SUCCEEDED,
    EventKind.REMOVE_PARTICIPANT_SUCCEEDED, EventKind.REMOVE_PARTICIPANT_FAILED,
    EventKind.CALL_TRANSFER_ACCEPTED, EventKind.CALL_TRANSFER_FAILED,
    EventKind.PLAY_COMPLETED, EventKind.PLAY_FAILED, EventKind.PLAY_CANCELED,
    EventKind.RECOGNIZE_COMPLETED, EventKind.RECOGNIZE_FAILED, EventKind.RECOGNIZE_CANCELED,
})


def moved(flow: Flow, record: CallRecord, event: FlowEvent, now: datetime
          ) -> tuple[CallRecord, tuple[FlowAction, ...]]:
    """The record with its run advanced by `event`, and what the run asks for."""
    run = record.flow_run
    if run is None or run.finished:
        return record, ()
    after, actions = advance(flow, run, event, now)
    if after == run:
        return record, ()
    return reserve_adds(record.with_changes(flow_run=after), actions, now), actions


def cancel_asked(record: CallRecord, add_context: str) -> bool:
    """Whether the call holds a cancel of the invitation the add with this context started."""
    add = record.operation(add_context)
    invitation = add.invitation_id if add is not None else None
    return invitation is not None and any(
        op.kind is OperationKind.CANCEL_ADD_PARTICIPANT and op.invitation_id == invitation
        for op in record.operations)


def reserve_adds(record: CallRecord, actions: Sequence[FlowAction], now: datetime) -> CallRecord:
    """The run's invitations written pending in the write that asked for them, as run_action's
    reservation would write them, so that sending them needs no write of its own first."""
    for action in actions:
        if isinstance(action, AddParticipant):
            record = record_pending(record, Operation(
                action.context, OperationKind.ADD_PARTICIPANT, OperationStatus.PENDING,
                requested_at=now, target=action.target,
                timeout_seconds=action.invitation_timeout_seconds,
                repeatability_id=action.repeatability_id))
    return record


def attached(flow: Flow, record: CallRecord, run: FlowRun, now: datetime
             ) -> tuple[CallRecord, tuple[FlowAction, ...]]:
    """The inbound record takes its run; callbacks that overtook the answer (connected, ended)
    are applied to it now, since they found no run when they came."""
    if record.flow_run is not None:
        return record, ()  # a redelivered offer: the run already there is further along
    record = record.with_changes(flow_run=run)
    if record.state.is_final:
        return moved(flow, record, CallDisconnected(), now)
    if run.waiting is Waiting.ANSWER and record.state.rank >= CallState.CONNECTED.rank:
        return moved(flow, record, CallConnected(), now)
    return record, ()


class FlowRuns:
    def __init__(self, calls: CallRecords, catalog: FlowCatalog, actions: FlowActions,
                 clock: Clock = utc_now) -> None:
        self._calls = calls
        self._catalog = catalog
        self._actions = actions
        self._clock = clock

    async def flow_for_callback(self, event: CallbackEvent) -> Flow | None:
        """The flow a callback may move (read before its write), or None."""
        if event.kind not in _MOVING:
            return None
        record = await self._calls.find(event.call_connection_id)
        run = record.flow_run if record is not None else None
        if run is None or run.finished:
            return None
        return await self._catalog.flow_for(run)

    @staticmethod
    def on_callback(flow: Flow, record: CallRecord, event: CallbackEvent, now: datetime
                    ) -> tuple[CallRecord, tuple[FlowAction, ...]]:
        """Inside the callback's write: the run moved by the event, if it is one for the run."""
        run = record.flow_run
        found = flow_event(event, run) if run is not None else None
        if isinstance(found, InvitationFailed) and found.call_ended and cancel_asked(record, found.context):
            # 487/0 is also what a cancel of the invitation gets: one asked for (the management
            # API) is that invitation's failure, not the call's end.
            found = replace(found, call_ended=False)
        return moved(flow, record, found, now) if found is not None else (record, ())

    @staticmethod
    def missed(flow: Flow | None, record: CallRecord, event: CallbackEvent) -> bool:
        """The write found a run the read before it did not (the inbound write raced the
        callback): the event is applied to the run by `catch_up`, in a write of its own."""
        run = record.flow_run
        return flow is None and run is not None and not run.finished and event.kind in _MOVING

    async def catch_up(self, event: CallbackEvent) -> None:
        """Apply a callback to the run its own write missed. The engine reads each event
        against the run's current wait, so applying it late (or again) asks for nothing twice."""
        call_id = event.call_connection_id
        record = await self._calls.find(call_id)
        run = record.flow_run if record is not None else None
        flow = await self._catalog.flow_for(run) if run is not None else None
        if flow is None:
            return
        sent: list[FlowAction] = []
        now = self._clock()

        def change(current: CallRecord | None) -> CallRecord | None:
            if current is None:
                return None
            after, actions = self.on_callback(flow, current, event, now)
            sent[:] = actions
            return after if after is not current else None

        await self._calls.modify(call_id, change, cause=Cause(Source.CALLBACK, event.id, event.type))
        await self.send(call_id, sent)

    async def ruleset(self, version: int) -> RuleSetVersion | None:
        """The rule-set version a run started in (or was decided under), None once pruned."""
        return await self._catalog.ruleset(version)

    async def ask(self, request: AskRequest) -> AskReply:
        """An ask made before the call has a record (the inbound use case, under the claim)."""
        return await self._actions.ask(request)

    async def send(self, call_connection_id: str, actions: Sequence[FlowAction]) -> None:
        """Send what the run asked for; a request ACS refused for good (read as failed at once)
        and an ask's outcome are applied to the run in a write of their own, and what that asks
        for is sent in turn. The engine matches each outcome to the run's current wait by its
        context, so an outcome arriving late or twice moves nothing. Bounded: every outcome
        moves the run to another step, and the run's maxSteps bounds the steps."""
        while actions:
            outcomes = await self._actions.send(call_connection_id, actions)
            actions = await self._apply(call_connection_id, outcomes)

    async def _apply(self, call_id: str, events: Sequence[FlowEvent]) -> tuple[FlowAction, ...]:
        record = await self._calls.find(call_id) if events else None
        run = record.flow_run if record is not None else None
        flow = await self._catalog.flow_for(run) if run is not None else None
        if flow is None:
            return ()
        asked: list[FlowAction] = []
        now = self._clock()

        def change(current: CallRecord | None) -> CallRecord | None:
            if current is None:
                return None
            after = current
            asked.clear()
            for event in events:
                after, actions = moved(flow, after, event, now)
                asked.extend(actions)
            return after if after is not current else None

        await self._calls.modify(call_id, change)
        return tuple(asked)

    async def overdue(self, record: CallRecord) -> bool:
        """The reconciler's tick for a call whose run is past its deadline; True if it moved."""
        run = record.flow_run
        if run is None or run.finished or run.deadline is None or self._clock() < run.deadline:
            return False
        flow = await self._catalog.flow_for(run)
        if flow is None:
            logger.warning("flow run %s: step %s overdue, but flow %s of rule-set version %s is "
                           "gone (pruned by retention?); the run cannot move", run.run_id, run.step,
                           run.flow, run.version)
            return False
        sent: list[FlowAction] = []
        now = self._clock()

        def change(current: CallRecord | None) -> CallRecord | None:
            if current is None:
                return None
            after, actions = moved(flow, current, StepOverdue(), now)
            sent[:] = actions
            return after if after is not current else None

        await self._calls.modify(record.call_connection_id, change, cause=RECONCILIATION)
        logger.info("flow run %s: step %s overdue, moved on", run.run_id, run.step)
        await self.send(record.call_connection_id, sent)
        return True
