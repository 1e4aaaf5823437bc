"""The call record and its parts: what the app knows about one call connection."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from callcontrol.domain.access import Actor
from callcontrol.domain.callback_binding import CallbackBinding
from callcontrol.domain.identifiers import Identifier, parse_lenient_identifier

if TYPE_CHECKING:  # flows import the models (repeatability): only the type is needed here
    from callcontrol.domain.flows.state import FlowRun


class CallState(StrEnum):
    """ACS callConnectionState values, in the order a call moves through them."""

    UNKNOWN = "unknown"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    TRANSFERRING = "transferring"
    TRANSFER_ACCEPTED = "transferAccepted"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self is CallState.DISCONNECTED


_RANK = {state: index for index, state in enumerate(CallState)}


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    UNKNOWN = "unknown"


class OperationKind(StrEnum):
    """What the app asked of ACS; the values are what the API shows and the rows keep."""

    CONNECT = "connect"  # create a call (its CallConnected / CreateCallFailed settles it)
    HANG_UP = "hangUp"  # the app leaves
    TERMINATE = "terminate"  # the call ends for everyone
    TRANSFER = "transfer"  # the whole call moves: the app leaves it
    TRANSFER_PARTICIPANT = "transferParticipant"  # one participant of a group call moves
    ADD_PARTICIPANT = "addParticipant"
    REMOVE_PARTICIPANT = "removeParticipant"
    MUTE = "mute"
    CANCEL_ADD_PARTICIPANT = "cancelAddParticipant"
    MOVE_PARTICIPANTS = "moveParticipants"
    PLAY = "play"  # a prompt played to the call (a flow's play step)
    RECOGNIZE = "recognize"  # a prompt and the DTMF tones gathered after it (a flow's menu)
    CANCEL_MEDIA = "cancelMedia"  # whatever plays or listens is stopped (ACS's 202 settles it)


class OperationStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ResultInfo:
    """resultInformation of a callback: SIP-like code, ACS subcode and a readable message."""

    code: int | None = None
    sub_code: int | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "subCode": self.sub_code, "message": self.message}

    @classmethod
    def from_json(cls, data: object) -> ResultInfo | None:
        if not isinstance(data, dict):
            return None
        code, sub = data.get("code"), data.get("subCode")
        return cls(
            code=code if isinstance(code, int) else None,
            sub_code=sub if isinstance(sub, int) else None,
            message=str(data.get("message") or ""),
        )


@dataclass(frozen=True)
class Participant:
    identifier: Identifier
    is_muted: bool = False
    is_on_hold: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier.to_json(),
            "isMuted": self.is_muted,
            "isOnHold": self.is_on_hold,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Participant:
        return cls(
            identifier=parse_lenient_identifier(data.get("identifier"), "participants[].identifier"),
            is_muted=bool(data.get("isMuted", False)),
            is_on_hold=bool(data.get("isOnHold", False)),
        )


@dataclass(frozen=True)
class Operation:
    """One action the app asked of ACS, keyed by its operationContext."""

    context: str
    kind: OperationKind
    status: OperationStatus
    requested_at: datetime | None = None
    finished_at: datetime | None = None
    result: ResultInfo | None = None
    target: Identifier | None = None
    invitation_id: str | None = None
    # The Repeatability-Request-ID it was sent with (derived from the client's Idempotency-Key):
    # a request carrying the same one again is a retry of this operation, not a new one.
    repeatability_id: str | None = None
    timeout_seconds: int | None = None  # an add's invitation timeout, as asked of ACS
    actor: Actor | None = None  # who asked for it (None: stored before callers were named)

    @property
    def reason(self) -> str:
        if self.result is None:
            return ""
        return f"{self.result.message} (code {self.result.code}, subCode {self.result.sub_code})"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "operationContext": self.context,
            "kind": self.kind,
            "status": self.status.value,
            "requestedAt": _iso(self.requested_at),
            "finishedAt": _iso(self.finished_at),
        }
        if self.result is not None:
            body["result"] = self.result.to_json()
            body["reason"] = self.reason
        if self.target is not None:
            body["target"] = self.target.to_json()
        if self.invitation_id is not None:
            body["invitationId"] = self.invitation_id
        if self.timeout_seconds is not None:
            body["invitationTimeoutSeconds"] = self.timeout_seconds
        if self.actor is not None:
            body["actor"] = self.actor.to_json()
        return body


class InboundAction(StrEnum):
    """What the app did with an inbound call (a rule's action, or the loop guard's reject)."""

    ANSWER = "answer"
    REJECT = "reject"
    REDIRECT = "redirect"


class InboundOutcome(StrEnum):
    """What became of an inbound call once the app decided it."""

    ANSWERED = "answered"
    REJECTED = "rejected"
    REDIRECTED = "redirected"
    MISSED = "missed"  # ACS said the call was gone (context expired, caller hung up)
    FAILED = "failed"  # ACS refused the action for good (a 4xx other than "gone")


@dataclass(frozen=True)
class InboundDecision:
    """How the app decided an inbound call: the rule, the action taken and how it ended.

    `action` is what was done ("answer", "reject", "redirect"); the loop guard turns a rule's
    redirect into a reject, so `loop_guard` says when that happened. `redirect_hops` counts the
    redirects of the same original call before this one.
    """

    rule_id: str | None
    action: InboundAction
    outcome: InboundOutcome
    detail: str = ""
    latency_ms: float | None = None
    reject_reason: str | None = None
    target: Identifier | None = None
    redirect_hops: int | None = None
    loop_guard: bool = False
    decided_at: datetime | None = None
    rule_set_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ruleId": self.rule_id,
            "action": str(self.action),
            "outcome": str(self.outcome),
            "detail": self.detail,
            "latencyMs": self.latency_ms,
            "rejectReason": self.reject_reason,
            "target": self.target.to_json() if self.target else None,
            "redirectHops": self.redirect_hops,
            "loopGuard": self.loop_guard,
            "decidedAt": _iso(self.decided_at),
            "ruleSetVersion": self.rule_set_version,
        }


@dataclass(frozen=True)
class CallRecord:
    """Durable state of one call connection, built from actions and callbacks."""

    call_connection_id: str
    state: CallState = CallState.UNKNOWN
    direction: Direction = Direction.UNKNOWN
    server_call_id: str | None = None
    correlation_id: str | None = None
    source: Identifier | None = None
    targets: tuple[Identifier, ...] = ()
    participants: tuple[Participant, ...] = ()
    participants_sequence: int = 0
    operations: tuple[Operation, ...] = ()
    transferred: bool = False
    end_reason: ResultInfo | None = None
    inbound: InboundDecision | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    event_count: int = 0
    # What checks its callbacks (secret digest, token ids): stored, never shown by the API.
    callback_binding: CallbackBinding = field(default_factory=CallbackBinding)
    # The call flow a rule started on this call, moved in the same write as the record.
    flow_run: FlowRun | None = None

    def with_changes(self, **changes: Any) -> CallRecord:
        return replace(self, **changes)

    def operation(self, context: str) -> Operation | None:
        return next((op for op in self.operations if op.context == context), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "callConnectionId": self.call_connection_id,
            "state": self.state.value,
            "direction": self.direction.value,
            "serverCallId": self.server_call_id,
            "correlationId": self.correlation_id,
            "source": self.source.to_json() if self.source else None,
            "targets": [t.to_json() for t in self.targets],
            "participants": [p.to_json() for p in self.participants],
            "participantsSequence": self.participants_sequence,
            "operations": [op.to_json() for op in self.operations],
            "transferred": self.transferred,
            "endReason": self.end_reason.to_json() if self.end_reason else None,
            "inbound": self.inbound.to_json() if self.inbound else None,
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
            "eventCount": self.event_count,
            "flow": flow_view(self.flow_run) if self.flow_run is not None else None,
        }


def flow_view(run: FlowRun) -> dict[str, Any]:
    """What GET /api/calls/{id} shows of a call's flow: where it is and the path it took."""
    return {
        "flow": run.flow, "runId": run.run_id, "ruleSetVersion": run.version,
        "status": run.status.value, "currentStep": None if run.finished else run.step,
        "waiting": run.waiting.value, "outcome": run.outcome.value if run.outcome else None,
        "deadline": _iso(run.deadline), "stepsTaken": run.steps_taken,
        "path": [{"step": p.step, "visit": p.visit, "attempt": p.attempt, "outcome": p.outcome}
                 for p in run.path],
    }


@dataclass(frozen=True)
class StoredEvent:
    """One callback event as kept in a call's history."""

    event_id: str
    call_connection_id: str
    type: str
    time: datetime | None
    data: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "type": self.type,
            "time": _iso(self.time),
            "receivedAt": _iso(self.received_at),
            "data": self.data,
        }


@dataclass(frozen=True)
class AcsCall:
    """ACS's own view of a call connection (its CallConnectionProperties)."""

    call_connection_id: str
    server_call_id: str | None
    correlation_id: str | None
    state: CallState
    targets: tuple[Identifier, ...]
    source: Identifier | None
    source_caller_id: str | None
    source_display_name: str | None
    answered_by: str | None = None


@dataclass(frozen=True)
class AddParticipantOutcome:
    invitation_id: str | None
    participant: Participant | None
    operation_context: str | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
