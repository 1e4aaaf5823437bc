"""How callback events change a call record. Pure: no I/O, no clock of its own.

Callbacks arrive late, twice and out of order, so every rule here is monotonic:
- the call state only moves forward (by rank), except that a failed transfer returns a
  `transferring` call to `connected`; nothing leaves `disconnected`;
- the roster only changes from a ParticipantsUpdated with a higher sequenceNumber;
- an operation's outcome, once known, is never turned back into `pending`.
Applying the same set of events in any order therefore ends in the same record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from callcontrol.domain.events.callbacks import CallbackEvent, EventKind
from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    ResultInfo,
)

# Event kind → the state it moves the call to (if that is forward).
_STATE_TARGETS: dict[EventKind, CallState] = {
    EventKind.CALL_CONNECTED: CallState.CONNECTED,
    EventKind.CALL_TRANSFER_ACCEPTED: CallState.TRANSFER_ACCEPTED,
    EventKind.CALL_DISCONNECTED: CallState.DISCONNECTED,
    EventKind.CREATE_CALL_FAILED: CallState.DISCONNECTED,
    EventKind.ANSWER_FAILED: CallState.DISCONNECTED,
    EventKind.CONNECT_FAILED: CallState.DISCONNECTED,
}

# Event kind → (operation kind, outcome) for events that finish an action.
_OUTCOMES: dict[EventKind, tuple[OperationKind, OperationStatus]] = {
    EventKind.ADD_PARTICIPANT_SUCCEEDED: (OperationKind.ADD_PARTICIPANT, OperationStatus.SUCCEEDED),
    EventKind.ADD_PARTICIPANT_FAILED: (OperationKind.ADD_PARTICIPANT, OperationStatus.FAILED),
    EventKind.REMOVE_PARTICIPANT_SUCCEEDED: (OperationKind.REMOVE_PARTICIPANT, OperationStatus.SUCCEEDED),
    EventKind.REMOVE_PARTICIPANT_FAILED: (OperationKind.REMOVE_PARTICIPANT, OperationStatus.FAILED),
    EventKind.CANCEL_ADD_PARTICIPANT_SUCCEEDED: (
        OperationKind.CANCEL_ADD_PARTICIPANT,
        OperationStatus.SUCCEEDED,
    ),
    EventKind.CANCEL_ADD_PARTICIPANT_FAILED: (OperationKind.CANCEL_ADD_PARTICIPANT, OperationStatus.FAILED),
    EventKind.CALL_TRANSFER_ACCEPTED: (OperationKind.TRANSFER, OperationStatus.SUCCEEDED),
    EventKind.CALL_TRANSFER_FAILED: (OperationKind.TRANSFER, OperationStatus.FAILED),
    EventKind.MOVE_PARTICIPANT_SUCCEEDED: (OperationKind.MOVE_PARTICIPANTS, OperationStatus.SUCCEEDED),
    EventKind.MOVE_PARTICIPANT_FAILED: (OperationKind.MOVE_PARTICIPANTS, OperationStatus.FAILED),
    EventKind.PLAY_COMPLETED: (OperationKind.PLAY, OperationStatus.SUCCEEDED),
    EventKind.PLAY_FAILED: (OperationKind.PLAY, OperationStatus.FAILED),
    EventKind.PLAY_CANCELED: (OperationKind.PLAY, OperationStatus.CANCELLED),
    EventKind.RECOGNIZE_COMPLETED: (OperationKind.RECOGNIZE, OperationStatus.SUCCEEDED),
    EventKind.RECOGNIZE_FAILED: (OperationKind.RECOGNIZE, OperationStatus.FAILED),
    EventKind.RECOGNIZE_CANCELED: (OperationKind.RECOGNIZE, OperationStatus.CANCELLED),
    EventKind.CALL_CONNECTED: (OperationKind.CONNECT, OperationStatus.SUCCEEDED),
    EventKind.CREATE_CALL_FAILED: (OperationKind.CONNECT, OperationStatus.FAILED),
    EventKind.ANSWER_FAILED: (OperationKind.CONNECT, OperationStatus.FAILED),
    EventKind.CONNECT_FAILED: (OperationKind.CONNECT, OperationStatus.FAILED),
}


def next_state(current: CallState, event: CallbackEvent) -> CallState:
    if current.is_final:
        return current
    if event.kind is EventKind.CALL_TRANSFER_FAILED and current is CallState.TRANSFERRING:
        return CallState.CONNECTED
    target = _STATE_TARGETS.get(event.kind)
    if target is None or target.rank <= current.rank:
        return current
    return target


def apply_event(record: CallRecord | None, event: CallbackEvent, now: datetime) -> CallRecord:
    """Return the record as it stands after `event` (a new record if there was none)."""
    if record is None:
        record = CallRecord(call_connection_id=event.call_connection_id, created_at=now)
    # Transferring one participant of a group call (a transferee was named) leaves the app's
    # own connection up: its acceptance must not move the call towards the end.
    moves_call = not _is_participant_transfer(record, event)
    state = next_state(record.state, event) if moves_call else record.state
    changes: dict[str, object] = {
        "state": state,
        "server_call_id": record.server_call_id or event.server_call_id,
        "correlation_id": record.correlation_id or event.correlation_id,
        "updated_at": now,
        "event_count": record.event_count + 1,
    }
    if state is CallState.DISCONNECTED and not record.state.is_final:
        changes["end_reason"] = event.result
    if event.kind is EventKind.CALL_TRANSFER_ACCEPTED and moves_call:
        changes["transferred"] = True
    if (
        event.kind is EventKind.PARTICIPANTS_UPDATED
        and event.participants is not None
        and (event.sequence_number or 0) > record.participants_sequence
    ):
        # By sequence, not by arrival: a roster emitted before the hang-up but delivered after
        # it still counts (the state itself stays disconnected).
        changes["participants"] = event.participants
        changes["participants_sequence"] = event.sequence_number or 0
    operations = record.operations
    outcome = _OUTCOMES.get(event.kind)
    if outcome is not None and event.operation_context:
        operations = _finish(operations, event, *outcome, now=now)
    if event.kind is EventKind.CANCEL_ADD_PARTICIPANT_SUCCEEDED and event.invitation_id:
        operations = _cancel_invitation(operations, event.invitation_id, event, now)
    if state is CallState.DISCONNECTED:
        operations = _settle_on_disconnect(operations, event, now)
    if operations is not record.operations:
        changes["operations"] = operations
    return record.with_changes(**changes)


_HANG_UPS = (OperationKind.HANG_UP, OperationKind.TERMINATE)
_ENDED_FIRST = "the call ended before this operation finished"


def _is_participant_transfer(record: CallRecord, event: CallbackEvent) -> bool:
    if event.kind not in (EventKind.CALL_TRANSFER_ACCEPTED, EventKind.CALL_TRANSFER_FAILED):
        return False
    operation = record.operation(event.operation_context) if event.operation_context else None
    return operation is not None and operation.kind == OperationKind.TRANSFER_PARTICIPANT


def _settle_on_disconnect(
    operations: tuple[Operation, ...], event: CallbackEvent, now: datetime
) -> tuple[Operation, ...]:
    """Nothing stays pending on an ended call: a hang-up has succeeded, the rest cannot finish.

    A real outcome reported later still wins if ACS stamped it earlier than the hang-up.
    """
    if not any(op.status is OperationStatus.PENDING for op in operations):
        return operations
    ended_at = event.time or now
    return tuple(
        settled_by_end(op, ended_at, event.result) if op.status is OperationStatus.PENDING else op
        for op in operations
    )


def settled_by_end(op: Operation, ended_at: datetime | None, result: ResultInfo | None) -> Operation:
    """A pending operation on a call that ended: a hang-up did its job, the rest cannot finish."""
    if op.kind in _HANG_UPS:
        return replace(op, status=OperationStatus.SUCCEEDED, finished_at=ended_at, result=result)
    return replace(op, status=OperationStatus.FAILED, finished_at=ended_at,
                   result=ResultInfo(message=_ENDED_FIRST))


def _cancel_invitation(
    operations: tuple[Operation, ...], invitation_id: str, event: CallbackEvent, now: datetime
) -> tuple[Operation, ...]:
    """A cancelled invitation ends its add: the add's own failure may never be reported.

    Like every outcome, by time: a cancel ACS stamped before the call ended also wins over the
    "ended first" settlement that a hang-up delivered earlier may have made.
    """
    cancelled_at = event.time or now

    def cancels(op: Operation) -> bool:
        if op.kind != OperationKind.ADD_PARTICIPANT or op.invitation_id != invitation_id:
            return False
        if op.status is OperationStatus.PENDING:
            return True
        settled_by_end = op.result is not None and op.result.message == _ENDED_FIRST
        return settled_by_end and not _earlier_or_same(op.finished_at, cancelled_at)

    return tuple(
        replace(op, status=OperationStatus.CANCELLED, finished_at=cancelled_at, result=event.result)
        if cancels(op) else op
        for op in operations
    )


def _finish(
    operations: tuple[Operation, ...],
    event: CallbackEvent,
    kind: OperationKind,
    status: OperationStatus,
    *,
    now: datetime,
) -> tuple[Operation, ...]:
    context = event.operation_context
    assert context is not None
    existing = next((op for op in operations if op.context == context), None)
    finished = Operation(
        context=context,
        kind=existing.kind if existing else kind,
        status=status,
        requested_at=existing.requested_at if existing else None,
        finished_at=event.time or now,
        result=event.result,
        target=(existing.target if existing else None) or event.participant,
        invitation_id=(existing.invitation_id if existing else None) or event.invitation_id,
        repeatability_id=existing.repeatability_id if existing else None,
        actor=existing.actor if existing else None,  # settling keeps who asked for it
    )
    if (
        existing is not None
        and existing.status is not OperationStatus.PENDING
        and _earlier_or_same(existing.finished_at, finished.finished_at)
    ):
        # A second outcome for one operation: the first one ACS reported stands.
        return operations
    others = tuple(op for op in operations if op.context != context)
    return (*others, finished)


def _earlier_or_same(first: datetime | None, second: datetime | None) -> bool:
    return first is not None and second is not None and first <= second


def record_pending(record: CallRecord, operation: Operation) -> CallRecord:
    """Note an action the app just asked for, unless its outcome already arrived.

    An operation is requested once: noting ACS's acceptance keeps the reservation's time, so that
    `requestedAt` never comes after a `finishedAt` a fast callback wrote."""
    existing = record.operation(operation.context)
    if existing is not None and existing.requested_at is not None:
        operation = replace(operation, requested_at=existing.requested_at)
    if existing is not None and existing.status is not OperationStatus.PENDING:
        merged = Operation(
            context=existing.context,
            kind=operation.kind,
            status=existing.status,
            requested_at=operation.requested_at,
            finished_at=existing.finished_at,
            result=existing.result,
            target=operation.target or existing.target,
            invitation_id=operation.invitation_id or existing.invitation_id,
            repeatability_id=operation.repeatability_id or existing.repeatability_id,
            actor=operation.actor or existing.actor,
        )
        others = tuple(op for op in record.operations if op.context != operation.context)
        return record.with_changes(operations=(*others, merged))
    if existing is not None and operation.repeatability_id is None:
        operation = replace(operation, repeatability_id=existing.repeatability_id)
    if record.state.is_final and operation.status is OperationStatus.PENDING:
        # Noted after the call ended (ACS acts, then the app writes): nothing will finish it.
        operation = settled_by_end(operation, record.updated_at or operation.requested_at, None)
    others = tuple(op for op in record.operations if op.context != operation.context)
    return record.with_changes(operations=(*others, operation))
