"""Typed parsing of the CloudEvents ACS posts to the callback URI (contract §4).

Parsing happens once, at the boundary. Known event types get their fields read; unknown types
are kept as `CallbackEvent` with `kind=EventKind.UNKNOWN` so they are stored and otherwise ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.identifiers import Identifier, parse_lenient_identifier
from callcontrol.domain.models import Participant, ResultInfo
from callcontrol.domain.opaque_ids import check_opaque_id

ACS_TYPE_PREFIX = "Microsoft.Communication."


class EventKind(StrEnum):
    CALL_CONNECTED = "CallConnected"
    CALL_DISCONNECTED = "CallDisconnected"
    CREATE_CALL_FAILED = "CreateCallFailed"
    ANSWER_FAILED = "AnswerFailed"
    CONNECT_FAILED = "ConnectFailed"
    PARTICIPANTS_UPDATED = "ParticipantsUpdated"
    ADD_PARTICIPANT_SUCCEEDED = "AddParticipantSucceeded"
    ADD_PARTICIPANT_FAILED = "AddParticipantFailed"
    REMOVE_PARTICIPANT_SUCCEEDED = "RemoveParticipantSucceeded"
    REMOVE_PARTICIPANT_FAILED = "RemoveParticipantFailed"
    CANCEL_ADD_PARTICIPANT_SUCCEEDED = "CancelAddParticipantSucceeded"
    CANCEL_ADD_PARTICIPANT_FAILED = "CancelAddParticipantFailed"
    CALL_TRANSFER_ACCEPTED = "CallTransferAccepted"
    CALL_TRANSFER_FAILED = "CallTransferFailed"
    MOVE_PARTICIPANT_SUCCEEDED = "MoveParticipantSucceeded"
    MOVE_PARTICIPANT_FAILED = "MoveParticipantFailed"
    PLAY_STARTED = "PlayStarted"
    PLAY_COMPLETED = "PlayCompleted"
    PLAY_FAILED = "PlayFailed"
    PLAY_CANCELED = "PlayCanceled"
    RECOGNIZE_COMPLETED = "RecognizeCompleted"
    RECOGNIZE_FAILED = "RecognizeFailed"
    RECOGNIZE_CANCELED = "RecognizeCanceled"
    UNKNOWN = "Unknown"

    @classmethod
    def from_type(cls, event_type: str) -> EventKind:
        name = event_type.removeprefix(ACS_TYPE_PREFIX)
        try:
            return cls(name)
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class CallbackEvent:
    """One callback event: envelope plus the call-control fields of its `data`."""

    id: str
    type: str
    kind: EventKind
    time: datetime | None
    call_connection_id: str
    server_call_id: str | None
    correlation_id: str | None
    operation_context: str | None
    result: ResultInfo | None
    sequence_number: int | None = None
    participants: tuple[Participant, ...] | None = None
    participant: Identifier | None = None
    invitation_id: str | None = None
    transfer_target: Identifier | None = None
    transferee: Identifier | None = None
    data: dict[str, Any] = field(default_factory=dict)


def parse_callback_events(payload: object) -> list[CallbackEvent]:
    """Parse a callback request's decoded body: a JSON array of CloudEvents. All or nothing: every
    event is read and checked before any is applied, so one bad event refuses the whole batch."""
    if not isinstance(payload, list):
        raise InvalidInput(
            "body must be a JSON array of CloudEvents",
            [FieldProblem("body", "expected an array of CloudEvents")],
        )
    if not payload:
        raise InvalidInput("body holds no events", [FieldProblem("body", "empty array")])
    return [parse_callback_event(item, f"[{index}]") for index, item in enumerate(payload)]


def parse_callback_event(item: object, where: str = "event") -> CallbackEvent:
    if not isinstance(item, dict):
        raise _bad(where, "must be a CloudEvent object")
    # Both ids become storage keys: they are checked here, not found wanting by the store.
    event_id = check_opaque_id(item.get("id"), f"{where}.id")
    event_type = _required_str(item, "type", where)
    data = item.get("data")
    if not isinstance(data, dict):
        raise _bad(f"{where}.data", "must be an object")
    call_id = check_opaque_id(data.get("callConnectionId"), f"{where}.data.callConnectionId")
    kind = EventKind.from_type(event_type)
    participants: tuple[Participant, ...] | None = None
    if kind is EventKind.PARTICIPANTS_UPDATED:
        raw_list = data.get("participants")
        if not isinstance(raw_list, list):
            raise _bad(f"{where}.data.participants", "must be an array")
        participants = tuple(_participant(p, f"{where}.data.participants") for p in raw_list)
    sequence = data.get("sequenceNumber")
    return CallbackEvent(
        id=event_id,
        type=event_type,
        kind=kind,
        time=_time(item.get("time"), f"{where}.time"),
        call_connection_id=call_id,
        server_call_id=_opt_str(data, "serverCallId"),
        correlation_id=_opt_str(data, "correlationId"),
        operation_context=_opt_str(data, "operationContext"),
        result=ResultInfo.from_json(data.get("resultInformation")),
        sequence_number=sequence if isinstance(sequence, int) else None,
        participants=participants,
        participant=_opt_identifier(data, "participant", where),
        invitation_id=_opt_str(data, "invitationId"),
        transfer_target=_opt_identifier(data, "transferTarget", where),
        transferee=_opt_identifier(data, "transferee", where),
        data=data,
    )


def _participant(item: object, where: str) -> Participant:
    if not isinstance(item, dict):
        raise _bad(where, "each participant must be an object")
    return Participant.from_json(item)


def _opt_identifier(data: dict[str, Any], key: str, where: str) -> Identifier | None:
    value = data.get(key)
    if value is None:
        return None
    return parse_lenient_identifier(value, f"{where}.data.{key}")


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(where, "must be an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(where, f"{value!r} is not an RFC 3339 timestamp") from None
    # RFC 3339 requires an offset; one without is read as UTC so that times always compare.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _required_str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"{where}.{key}", "is required and must be a non-empty string")
    return value


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _bad(field_name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field_name} {reason}", [FieldProblem(field_name, reason)])


# Where ACS puts the keys a caller pressed (RecognizeCompleted; ContinuousDtmfRecognitionToneReceived).
_DIGIT_FIELDS = ("dtmfResult", "collectTonesResult")
WITHHELD = "withheld"


def without_digits(data: dict[str, Any]) -> dict[str, Any]:
    """A callback's data as the call's history keeps it: the keys pressed are personal data (an
    account or card number), so only their count is kept; the flow read them before (its path
    records the choice they made)."""
    if not any(key in data for key in (*_DIGIT_FIELDS, "tone")):
        return data
    kept = dict(data)
    for key in _DIGIT_FIELDS:
        if kept.get(key) is not None:
            kept[key] = _withheld(kept[key])
    if "tone" in kept:
        kept["tone"] = WITHHELD
    return kept


def _withheld(result: object) -> object:
    """ACS's `{"tones": [...]}` as its count; any other shape (tones as a string, the result as
    an array, members beside the tones) could hold keys too, so none of it is kept."""
    tones = result.get("tones") if isinstance(result, dict) else None
    if isinstance(tones, list):
        return {"tones": WITHHELD, "toneCount": len(tones)}
    return WITHHELD
