"""What reconciliation changes on a call record. Pure: no I/O, the time is given.

Callbacks can be missed for good (dropped, or refused while storage stalled: ACS does not
deliver them again). So a call not ended whose last change is older than a threshold is looked
up at ACS: it ends here when ACS no longer knows it, and is repaired when ACS is further on than
the record (connected while the record still says connecting; another roster). An operation
left pending past its kind's limit is settled as failed (a prompt or menu its flow run waits
for only past the run's deadline too). Each change comes with a history
entry, so the call's events say what reconciliation did and why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from callcontrol.domain.flows.actions import parse_context
from callcontrol.domain.models import (
    AcsCall,
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
    ResultInfo,
    StoredEvent,
)
from callcontrol.domain.state_machine import settled_by_end

NOT_FOUND_AT_ACS: Final = "not found at ACS during reconciliation"
BEHIND_ACS: Final = "ACS reports the call further on than the record (callbacks were lost)"
CONNECTED_AT_ACS: Final = "the call is connected at ACS; settled by reconciliation"
RECONCILIATION_EVENT: Final = "CallControl.Reconciliation"
# ACS rings an added participant for at most 180 s; an add that named no timeout is given that.
LONGEST_INVITATION: Final = timedelta(seconds=180)
_MEDIA: Final = frozenset({OperationKind.PLAY, OperationKind.RECOGNIZE})  # a flow's play and menu steps


@dataclass(frozen=True)
class OperationLimits:
    """How long an operation may stay pending before reconciliation settles it as failed."""

    add_margin: timedelta  # beyond the add's own invitation timeout
    others: timedelta

    def limit_for(self, operation: Operation) -> timedelta:
        if operation.kind is OperationKind.ADD_PARTICIPANT:
            invitation = (timedelta(seconds=operation.timeout_seconds)
                          if operation.timeout_seconds is not None else LONGEST_INVITATION)
            return invitation + self.add_margin
        return self.others

    @property
    def shortest(self) -> timedelta:
        return min(self.others, self.add_margin)


Reconciled = tuple[CallRecord, StoredEvent]  # the changed record, and the entry that says why


def last_activity(record: CallRecord) -> datetime | None:
    return record.updated_at or record.created_at


def is_quiet(record: CallRecord, now: datetime, quiet_for: timedelta) -> bool:
    """Not ended, and nothing has changed it for `quiet_for`: worth asking ACS about."""
    last = last_activity(record)
    return not record.state.is_final and last is not None and now - last >= quiet_for


def overdue(record: CallRecord, now: datetime, limits: OperationLimits) -> list[Operation]:
    return [op for op in record.operations
            if op.status is OperationStatus.PENDING and op.requested_at is not None
            and now - op.requested_at >= limits.limit_for(op) and not _awaited_by_run(record, op, now)]


def _awaited_by_run(record: CallRecord, op: Operation, now: datetime) -> bool:
    """A prompt or menu the call's flow run waits for, before the run's deadline. The run bounds
    it (past the deadline its overdue tick cancels the media and moves on, flows/menus.py), and
    a menu may rightly listen longer than the pending-operation limit: its initial silence
    alone may be 300 s, after the prompt."""
    run = record.flow_run
    if (op.kind not in _MEDIA or run is None or run.finished or run.deadline is None
            or now >= run.deadline):
        return False
    asked = parse_context(op.context)
    return asked is not None and (asked.run_id, asked.visit, asked.step, asked.attempt) == (
        run.run_id, run.visit, run.step, run.attempt)


def settle_overdue(record: CallRecord, now: datetime, limits: OperationLimits) -> Reconciled | None:
    """Settle, as failed, every operation pending past its limit; None when none is."""
    late = {op.context: op for op in overdue(record, now, limits)}
    if not late or record.state.is_final:
        return None

    def failed(op: Operation) -> Operation:
        waited = int(limits.limit_for(op).total_seconds())
        reason = f"no outcome from ACS within {waited} s; settled by reconciliation"
        return replace(op, status=OperationStatus.FAILED, finished_at=now,
                       result=ResultInfo(message=reason))

    operations = tuple(failed(op) if op.context in late else op for op in record.operations)
    changed = record.with_changes(operations=operations, updated_at=now,
                                  event_count=record.event_count + 1)
    return (changed, _entry(record, now, {
        "action": "operationsSettled",
        "reason": "no outcome arrived in time",
        "operations": [{"operationContext": op.context, "kind": op.kind} for op in late.values()],
    }))


def end_missing_call(record: CallRecord, now: datetime) -> Reconciled | None:
    """ACS does not know the call: it ended unseen. None when the record already says so."""
    if record.state.is_final:
        return None
    result = ResultInfo(message=NOT_FOUND_AT_ACS)
    operations = tuple(settled_by_end(op, now, None) if op.status is OperationStatus.PENDING else op
                       for op in record.operations)
    changed = record.with_changes(state=CallState.DISCONNECTED, end_reason=result,
                                  operations=operations, updated_at=now,
                                  event_count=record.event_count + 1)
    return (changed, _entry(record, now, {
        "action": "callEnded",
        "reason": NOT_FOUND_AT_ACS,
        "previousState": record.state.value,
    }))


def repair_from_acs(record: CallRecord, acs: AcsCall, roster: tuple[Participant, ...] | None,
                    now: datetime) -> Reconciled | None:
    """Bring a call stuck short of ACS's own view up to it; None when nothing is behind.

    Only what lost callbacks would have said, and only forward: a call ACS says is connected
    becomes connected (from unknown or connecting; its pending connect succeeds, as with a
    CallConnected), and takes ACS's participant list (`roster`) when it names other
    participants than the record's. Transfers, and states ACS reaches on the way out, are left
    to their own callbacks, to the pending-operation limits and to the end rule above. The
    roster's sequence number is kept, so a later ParticipantsUpdated still applies.
    """
    if record.state.is_final or acs.state is not CallState.CONNECTED:
        return None
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {"action": "callRepaired", "reason": BEHIND_ACS}
    if record.state.rank < CallState.CONNECTED.rank:
        changes["state"] = CallState.CONNECTED
        changes["operations"] = tuple(
            replace(op, status=OperationStatus.SUCCEEDED, finished_at=now,
                    result=ResultInfo(message=CONNECTED_AT_ACS))
            if op.kind is OperationKind.CONNECT and op.status is OperationStatus.PENDING else op
            for op in record.operations)
        data |= {"previousState": record.state.value, "state": CallState.CONNECTED.value}
    if roster is not None and _roster_key(roster) != _roster_key(record.participants):
        changes["participants"] = roster
        data["participants"] = [p.identifier.raw_id for p in roster]
    if not changes:
        return None
    changed = record.with_changes(
        **changes, server_call_id=record.server_call_id or acs.server_call_id,
        correlation_id=record.correlation_id or acs.correlation_id, updated_at=now,
        event_count=record.event_count + 1)
    return (changed, _entry(record, now, data))


def _roster_key(roster: tuple[Participant, ...]) -> frozenset[str]:
    # Who is on the call, in any order. Mute and hold alone do not count: a lost change of
    # them is not worth a write, and older ACS versions leave isOnHold out of one view.
    return frozenset(p.identifier.raw_id for p in roster)


# While the app's own exit is under way ACS forgets the call by design: its callbacks tell how.
_LEAVING = (CallState.TRANSFERRING, CallState.TRANSFER_ACCEPTED, CallState.DISCONNECTING)
_EXITS = (OperationKind.HANG_UP, OperationKind.TERMINATE, OperationKind.TRANSFER)
# A call that changed this recently may be ending by callbacks still in flight (a remote hang-up:
# ACS drops the call before its CallDisconnected arrives): those tell the real reason.
CALLBACKS_IN_FLIGHT: Final = timedelta(seconds=15)


def end_call_acs_lost(record: CallRecord, now: datetime, changed_before: datetime | None = None
                      ) -> Reconciled | None:
    """A read or an action found the call gone at ACS (8522): end it now, as reconciliation
    would later, unless the app is leaving it or it changed just now (then callbacks are due)."""
    exiting = any(op.kind in _EXITS and op.status is OperationStatus.PENDING
                  for op in record.operations)
    last = changed_before or last_activity(record)  # an action's own writes do not count
    recent = last is not None and now - last < CALLBACKS_IN_FLIGHT
    if record.state in _LEAVING or exiting or recent:
        return None
    return end_missing_call(record, now)


def _entry(record: CallRecord, now: datetime, data: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        event_id=f"reconciliation-{uuid.uuid4()}",
        call_connection_id=record.call_connection_id,
        type=RECONCILIATION_EVENT,
        time=now,
        data={"callConnectionId": record.call_connection_id, **data},
        received_at=now,
    )
