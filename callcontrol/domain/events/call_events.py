"""Call events out: what one change of a call record announces to other services. Pure.

Every guarded write of a call record is a change from `before` to `after`; `announce` turns it
into the CloudEvents other services get (docs/events.md lists the types). The store keeps them
in the same write as the record (the outbox), a relay publishes them afterwards.

Ids are stable: each is a UUIDv5 of the call and the change's natural key (the call connecting
or ending, the operationContext and outcome of an operation, ACS's participants sequenceNumber,
the inbound record's decision, else the ACS event id), so computing the same change twice (an
ETag retry, a redelivered callback, a re-publish) gives the same id, and a subscriber
de-duplicates by id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from callcontrol.domain.access import Actor
from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
)

if TYPE_CHECKING:
    from callcontrol.domain.flows.state import FlowRun, PathEntry

EVENT_SOURCE: Final = "/callcontrol"  # the CloudEvents `source` of every event
_ID_NAMESPACE: Final = uuid.UUID("6b1f3c2e-0d55-4c0e-9a9e-2f6f5d7b9c11")


class EventType(StrEnum):
    CONNECTED = "call.connected"
    PARTICIPANTS_UPDATED = "call.participants.updated"
    OPERATION_SUCCEEDED = "call.operation.succeeded"
    OPERATION_FAILED = "call.operation.failed"
    OPERATION_CANCELLED = "call.operation.cancelled"
    TRANSFER_ACCEPTED = "call.transfer.accepted"
    TRANSFER_FAILED = "call.transfer.failed"
    ENDED = "call.ended"
    UPDATED = "call.updated"  # an applied callback that changed nothing the others describe
    INBOUND_DECIDED = "inbound.decided"
    FLOW_STEP = "call.flow.step"  # a flow run entered a step, or a step of it ended


class Source(StrEnum):
    """What made the change."""

    CALLBACK = "callback"  # an ACS callback event
    APP = "app"  # an action of the app (management API, inbound decision)
    RECONCILIATION = "reconciliation"  # the reconciler's correction from ACS's own view


@dataclass(frozen=True)
class Cause:
    source: Source = Source.APP
    acs_event_id: str | None = None
    acs_event_type: str | None = None
    actor: Actor | None = None  # the management caller whose request made the change
    # The keys a RecognizeCompleted held, only when PUBLISH_DIGITS says they may be published;
    # never in to_json (the outbox's cause) nor the repr (logs).
    digits: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"source": self.source.value}
        if self.acs_event_id is not None:
            body["acsEventId"] = self.acs_event_id
            body["acsEventType"] = self.acs_event_type
        if self.actor is not None:
            body["actor"] = self.actor.to_json()
        return body

    @classmethod
    def by(cls, actor: Actor | None) -> Cause:
        """A change the app makes on a caller's request (APP when no caller is known)."""
        return APP if actor is None else cls(Source.APP, actor=actor)


APP: Final = Cause()
RECONCILIATION: Final = Cause(Source.RECONCILIATION)


@dataclass(frozen=True)
class CallEvent:
    """One CloudEvent 1.0 about a call, as kept in the outbox and published."""

    id: str
    type: str
    subject: str
    time: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    sequence: int = 0  # per call, in write order: the relay publishes in this order

    @property
    def call_connection_id(self) -> str:
        return str(self.data["callConnectionId"])


_TRANSFERS = (OperationKind.TRANSFER, OperationKind.TRANSFER_PARTICIPANT)
_OPERATION_TYPES = {
    OperationStatus.SUCCEEDED: EventType.OPERATION_SUCCEEDED,
    OperationStatus.FAILED: EventType.OPERATION_FAILED,
    OperationStatus.CANCELLED: EventType.OPERATION_CANCELLED,
}
_TRANSFER_TYPES = {
    OperationStatus.SUCCEEDED: EventType.TRANSFER_ACCEPTED,
    OperationStatus.FAILED: EventType.TRANSFER_FAILED,
}


def subject_of(call_connection_id: str) -> str:
    return f"calls/{call_connection_id}"


def event_id(call_connection_id: str, key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{call_connection_id}|{key}"))


def announce(before: CallRecord | None, after: CallRecord, cause: Cause, now: datetime
             ) -> list[CallEvent]:
    """The events of the change `before` → `after`, in the order they happened.

    Sequences are left at 0: the store numbers them when it adds them to the call's outbox.
    """
    found: list[tuple[EventType, str, dict[str, Any]]] = []
    old_inbound = before.inbound if before is not None else None
    if after.inbound is not None and after.inbound != old_inbound:
        found.append((EventType.INBOUND_DECIDED, "inbound", {"decision": after.inbound.to_json()}))
    found.extend(_with_digits(_flow_steps(before, after), cause.digits))
    old_rank = before.state.rank if before is not None else CallState.UNKNOWN.rank
    if old_rank < CallState.CONNECTED.rank <= after.state.rank and not after.state.is_final:
        found.append((EventType.CONNECTED, "connected", {}))
    if _roster_changed(before, after):
        # Reconciliation repairs a roster without a sequence number of its own (it keeps the
        # last one): keyed by its time, its event is never taken for that callback's.
        by_sequence = after.participants_sequence and cause.source is not Source.RECONCILIATION
        key = (f"participants:{after.participants_sequence}" if by_sequence
               else f"participants:{cause.acs_event_id or after.updated_at}")
        found.append((EventType.PARTICIPANTS_UPDATED, key,
                      {"participants": [_roster_entry(p) for p in after.participants],
                       "sequenceNumber": after.participants_sequence}))
    for operation in _settled(before, after):
        types = _TRANSFER_TYPES if operation.kind in _TRANSFERS else _OPERATION_TYPES
        event_type = types.get(operation.status, _OPERATION_TYPES[operation.status])
        found.append((event_type, f"operation:{operation.context}:{operation.status.value}",
                      {"operation": operation.to_json()}))
    old_final = before is not None and before.state.is_final
    if after.state.is_final and not old_final:
        found.append((EventType.ENDED, "ended",
                      {"endReason": after.end_reason.to_json() if after.end_reason else None}))
    if not found and cause.source is Source.CALLBACK and cause.acs_event_id is not None:
        found.append((EventType.UPDATED, f"callback:{cause.acs_event_id}", {}))
    when = after.updated_at or now
    return [CallEvent(id=event_id(after.call_connection_id, key), type=event_type.value,
                      subject=subject_of(after.call_connection_id), time=when,
                      data=_data(after, event_type, change, cause))
            for event_type, key, change in found]


def _flow_steps(before: CallRecord | None, after: CallRecord
                ) -> list[tuple[EventType, str, dict[str, Any]]]:
    """One event per path entry the change added or ended (keyed by run, entry and outcome);
    a run that ends in a write touching no entry (a ring's last invitation settling) repeats
    its last entry once, so the end has its event and its time too."""
    run = after.flow_run
    if run is None:
        return []
    old = before.flow_run if before is not None else None
    same_run = old is not None and old.run_id == run.run_id
    old_path = old.path if old is not None and same_run else ()
    found = []
    for index, entry in enumerate(run.path):
        if index < len(old_path) and old_path[index] == entry:
            continue
        found.append((EventType.FLOW_STEP, f"flow:{run.run_id}:{index}:{entry.outcome}",
                      _flow_step_data(run, entry)))
    just_finished = run.finished and not (same_run and old is not None and old.finished)
    if just_finished and not found and run.path:
        found.append((EventType.FLOW_STEP, f"flow:{run.run_id}:finished", _flow_step_data(run, run.path[-1])))
    return found


def _flow_step_data(run: FlowRun, entry: PathEntry) -> dict[str, Any]:
    return {"flow": run.flow, "runId": run.run_id, "step": entry.step, "visit": entry.visit,
            "attempt": entry.attempt, "outcome": entry.outcome, "runStatus": run.status.value,
            "runOutcome": run.outcome.value if run.outcome else None}


def _roster_changed(before: CallRecord | None, after: CallRecord) -> bool:
    if before is None:
        return bool(after.participants)
    return (before.participants != after.participants
            or before.participants_sequence != after.participants_sequence)


def _roster_entry(participant: Participant) -> dict[str, Any]:
    # Flat on purpose: the publisher's serialiser costs per JSON node, on the app's event loop.
    return {"rawId": participant.identifier.raw_id, "isMuted": participant.is_muted,
            "isOnHold": participant.is_on_hold}


def _with_digits(steps: list[tuple[EventType, str, dict[str, Any]]], digits: str | None
                 ) -> list[tuple[EventType, str, dict[str, Any]]]:
    """The step events, the keys (published by setting) on the first one that ends an entry:
    the attempt the keys ended (a goto ended after it in the same write is not theirs)."""
    if digits is None:
        return steps
    for _, _, change in steps:
        if change.get("outcome") is not None:
            change["digits"] = digits
            break
    return steps


def _settled(before: CallRecord | None, after: CallRecord) -> list[Operation]:
    """Operations whose outcome this change made known (an op seen settled for the first time)."""
    settled = []
    for operation in after.operations:
        if operation.status is OperationStatus.PENDING:
            continue
        old = before.operation(operation.context) if before is not None else None
        if old is None or old.status is not operation.status:
            settled.append(operation)
    return settled


def _data(record: CallRecord, event_type: EventType, change: dict[str, Any], cause: Cause
          ) -> dict[str, Any]:
    return {
        "callConnectionId": record.call_connection_id,
        "serverCallId": record.server_call_id,
        "correlationId": record.correlation_id,
        "change": {"type": event_type.value, **change},
        "cause": cause.to_json(),
        "call": snapshot(record),
    }


def snapshot(record: CallRecord) -> dict[str, Any]:
    """The essential state after the change: enough to act on without asking the API."""
    return {
        "state": record.state.value,
        "direction": record.direction.value,
        "source": record.source.raw_id if record.source else None,
        "participants": [p.identifier.raw_id for p in record.participants],
        "pendingOperations": [op.context for op in record.operations
                              if op.status is OperationStatus.PENDING],
        "transferred": record.transferred,
        "endReason": record.end_reason.to_json() if record.end_reason else None,
        "updatedAt": record.updated_at.isoformat() if record.updated_at else None,
    }
