"""The store's own entity format: how call records, their events and claim outcomes are kept.

Separate from the API JSON on purpose: renaming or reshaping an API field must not rewrite stored
rows, and rows written by an older release must still read. Every encoded value carries no
version of its own; the row does (`FORMAT_PROPERTY`), and a row without one is format 1.

Format 1 is the shape rows had before this codec existed (it was the API JSON of the day,
camelCase); tests/fixtures/stored_rows holds real rows of it, and tests decode them. To change
the format: add a decoder for the new number to `_CALL_DECODERS`, write the new number, and
keep every older decoder for as long as rows of it may exist (calls are kept for their
history; claims expire after 24 h).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from callcontrol.adapters.store.ask_replies import decode_ask_replies, encode_ask_replies
from callcontrol.domain.access import Actor
from callcontrol.domain.callback_binding import CallbackBinding
from callcontrol.domain.claims import ClaimOutcome
from callcontrol.domain.errors import InvalidInput, StoreError
from callcontrol.domain.events.call_events import CallEvent
from callcontrol.domain.flows.state import FlowRun
from callcontrol.domain.identifiers import Identifier, parse_lenient_identifier
from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Direction,
    InboundAction,
    InboundDecision,
    InboundOutcome,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
    ResultInfo,
    StoredEvent,
)

FORMAT_PROPERTY: Final = "Format"  # the row property naming the format of its packed values
CALL_FORMAT: Final = 1  # the format written now for a call without a flow run
FLOW_CALL_FORMAT: Final = 2  # format 1 plus `flowRun`: written only for a call with a run


def call_format(record: CallRecord) -> int:
    """A call without a flow run stays in format 1, so a release without flows still reads it."""
    return FLOW_CALL_FORMAT if record.flow_run is not None else CALL_FORMAT

Json = dict[str, Any]


# --- format 1 ------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _identifier(identifier: Identifier) -> Json:
    return identifier.to_json()  # kind + rawId (+ the kind's id): all a lenient read needs


def _read_identifier(value: object) -> Identifier | None:
    return parse_lenient_identifier(value) if value else None


def _result(result: ResultInfo) -> Json:
    return {"code": result.code, "subCode": result.sub_code, "message": result.message}


def _read_result(value: object) -> ResultInfo | None:
    if not isinstance(value, dict):
        return None
    code, sub = value.get("code"), value.get("subCode")
    return ResultInfo(code=code if isinstance(code, int) else None,
                      sub_code=sub if isinstance(sub, int) else None,
                      message=str(value.get("message") or ""))


def _participant(participant: Participant) -> Json:
    return {"identifier": _identifier(participant.identifier), "isMuted": participant.is_muted,
            "isOnHold": participant.is_on_hold}


def _read_participant(value: Json) -> Participant:
    return Participant(identifier=parse_lenient_identifier(value.get("identifier"),
                                                           "participants[].identifier"),
                       is_muted=bool(value.get("isMuted", False)),
                       is_on_hold=bool(value.get("isOnHold", False)))


def _operation(operation: Operation) -> Json:
    body: Json = {"operationContext": operation.context, "kind": operation.kind.value,
                  "status": operation.status.value, "requestedAt": _iso(operation.requested_at),
                  "finishedAt": _iso(operation.finished_at)}
    if operation.result is not None:
        body["result"] = _result(operation.result)
        body["reason"] = operation.reason  # kept for readers of the raw rows; not read back
    if operation.target is not None:
        body["target"] = _identifier(operation.target)
    if operation.invitation_id is not None:
        body["invitationId"] = operation.invitation_id
    if operation.repeatability_id is not None:
        body["requestId"] = operation.repeatability_id  # the stored key keeps its first name
    if operation.timeout_seconds is not None:  # optional: older rows simply lack it
        body["invitationTimeoutSeconds"] = operation.timeout_seconds
    if operation.actor is not None:  # optional too: rows before issue 25 name no caller
        body["actor"] = operation.actor.to_json()
    return body


def _read_operation(value: Json) -> Operation:
    return Operation(
        context=value["operationContext"],
        kind=OperationKind(value["kind"]),
        status=OperationStatus(value["status"]),
        requested_at=_when(value.get("requestedAt")),
        finished_at=_when(value.get("finishedAt")),
        result=_read_result(value.get("result")),
        target=_read_identifier(value.get("target")),
        invitation_id=value.get("invitationId"),
        repeatability_id=value.get("requestId"),  # absent in rows written before retries matched
        timeout_seconds=value.get("invitationTimeoutSeconds"),
        actor=Actor.from_json(value["actor"]) if value.get("actor") else None,
    )


def encode_decision(decision: InboundDecision) -> Json:
    return {
        "ruleId": decision.rule_id,
        "action": str(decision.action),
        "outcome": str(decision.outcome),
        "detail": decision.detail,
        "latencyMs": decision.latency_ms,
        "rejectReason": decision.reject_reason,
        "target": _identifier(decision.target) if decision.target else None,
        "redirectHops": decision.redirect_hops,
        "loopGuard": decision.loop_guard,
        "decidedAt": _iso(decision.decided_at),
        "ruleSetVersion": decision.rule_set_version,
    }


def decode_decision(value: Json) -> InboundDecision:
    """Older rows lack the later fields (target, hops, loop guard, version): they default."""
    return InboundDecision(
        rule_id=value.get("ruleId"),
        action=InboundAction(value["action"]),
        outcome=InboundOutcome(value["outcome"]),
        detail=value.get("detail", ""),
        latency_ms=value.get("latencyMs"),
        reject_reason=value.get("rejectReason"),
        target=_read_identifier(value.get("target")),
        redirect_hops=value.get("redirectHops"),
        loop_guard=bool(value.get("loopGuard", False)),
        decided_at=_when(value.get("decidedAt")),
        rule_set_version=value.get("ruleSetVersion"),
    )


def encode_call(record: CallRecord) -> Json:
    """The call record as the row's "Record" value, in format CALL_FORMAT."""
    return {
        "callConnectionId": record.call_connection_id,
        "state": record.state.value,
        "direction": record.direction.value,
        "serverCallId": record.server_call_id,
        "correlationId": record.correlation_id,
        "source": _identifier(record.source) if record.source else None,
        "targets": [_identifier(t) for t in record.targets],
        "participants": [_participant(p) for p in record.participants],
        "participantsSequence": record.participants_sequence,
        "operations": [_operation(op) for op in record.operations],
        "transferred": record.transferred,
        "endReason": _result(record.end_reason) if record.end_reason else None,
        "inbound": encode_decision(record.inbound) if record.inbound else None,
        "createdAt": _iso(record.created_at),
        "updatedAt": _iso(record.updated_at),
        "eventCount": record.event_count,
        **_binding(record.callback_binding),
        **({"flowRun": record.flow_run.to_json()} if record.flow_run is not None else {}),
    }


def _decode_call_v1(value: Json) -> CallRecord:
    inbound = value.get("inbound")
    return CallRecord(
        call_connection_id=value["callConnectionId"],
        state=CallState(value.get("state", "unknown")),
        direction=Direction(value.get("direction", "unknown")),
        server_call_id=value.get("serverCallId"),
        correlation_id=value.get("correlationId"),
        source=_read_identifier(value.get("source")),
        targets=tuple(parse_lenient_identifier(t) for t in value.get("targets", [])),
        participants=tuple(_read_participant(p) for p in value.get("participants", [])),
        participants_sequence=int(value.get("participantsSequence", 0)),
        operations=tuple(_read_operation(op) for op in value.get("operations", [])),
        transferred=bool(value.get("transferred", False)),
        end_reason=_read_result(value.get("endReason")),
        inbound=decode_decision(inbound) if inbound else None,
        created_at=_when(value.get("createdAt")),
        updated_at=_when(value.get("updatedAt")),
        event_count=int(value.get("eventCount", 0)),
        callback_binding=_read_binding(value),
    )


def _decode_call_v2(value: Json) -> CallRecord:
    run = value.get("flowRun")
    try:
        flow_run = FlowRun.from_json(run) if run is not None else None
    except InvalidInput as exc:
        raise StoreError(f"call record's flow run is unreadable: {exc.detail}") from None
    return replace(_decode_call_v1(value), flow_run=flow_run)


def _binding(binding: CallbackBinding) -> Json:
    """Optional key: rows without it (older ones, calls from before callback secrets) read as a
    call with no secret."""
    body: Json = {}
    if binding.secret_sha256 is not None:
        body["callbackSecretSha256"] = binding.secret_sha256
    return body


def _read_binding(value: Json) -> CallbackBinding:
    # Rows of earlier releases may also hold `callbackTokens` (token ids remembered per call):
    # ignored, token ids are remembered once per deployment now (adapters/store/callback_tokens).
    digest = value.get("callbackSecretSha256")
    return CallbackBinding(digest if isinstance(digest, str) else None)


_CALL_DECODERS: Final[Mapping[int, Callable[[Json], CallRecord]]] = {
    1: _decode_call_v1, 2: _decode_call_v2,
}


def row_format(entity: Mapping[str, Any]) -> int:
    """The format of a row's packed values; rows from before the codec have none: format 1."""
    return int(entity.get(FORMAT_PROPERTY) or 1)


def decode_call(value: Json, format_version: int = CALL_FORMAT) -> CallRecord:
    decoder = _CALL_DECODERS.get(format_version)
    if decoder is None:  # written by a newer release: refuse rather than misread
        raise StoreError(f"call record format {format_version} is unknown to this version")
    return decoder(value)


def encode_event(event: StoredEvent) -> Json:
    return {
        "id": event.event_id,
        "type": event.type,
        "time": event.time.isoformat() if event.time else "",
        "receivedAt": event.received_at.isoformat() if event.received_at else "",
        "data": event.data,
    }


def decode_event(call_connection_id: str, value: Json) -> StoredEvent:
    return StoredEvent(
        event_id=value["id"],
        call_connection_id=call_connection_id,
        type=value["type"],
        time=_when(value.get("time")),
        data=value.get("data") or {},
        received_at=_when(value.get("receivedAt")),
    )


def encode_claim_outcome(outcome: ClaimOutcome) -> Json:
    """What a decided claim keeps: enough to write the call record again on a redelivery."""
    return {
        "decision": encode_decision(outcome.decision),
        "recordId": outcome.record_id,
        "acsState": outcome.acs_state.value if outcome.acs_state else None,
        "acsServerCallId": outcome.acs_server_call_id,
        "acsCorrelationId": outcome.acs_correlation_id,
        "callbackSecretSha256": outcome.callback_secret_sha256,
        **({"asked": encode_ask_replies(outcome.asked)} if outcome.asked else {}),
    }


def decode_claim_outcome(value: Json) -> ClaimOutcome:
    acs_state = value.get("acsState")
    return ClaimOutcome(
        decision=decode_decision(value["decision"]),
        record_id=str(value["recordId"]),
        acs_state=CallState(acs_state) if acs_state else None,
        acs_server_call_id=value.get("acsServerCallId"),
        acs_correlation_id=value.get("acsCorrelationId"),
        callback_secret_sha256=value.get("callbackSecretSha256"),
        asked=decode_ask_replies(value.get("asked")),
    )


def encode_outbox_event(event: CallEvent) -> Json:
    """A pending CloudEvent in the call row's outbox (property "Outbox")."""
    return {"id": event.id, "type": event.type, "subject": event.subject,
            "time": event.time.isoformat(), "seq": event.sequence, "data": dict(event.data)}


def decode_outbox_event(value: Json) -> CallEvent:
    time = _when(value.get("time"))
    if time is None:
        raise StoreError(f"outbox event {value.get('id')!r} has no time")
    return CallEvent(id=str(value["id"]), type=str(value["type"]), subject=str(value["subject"]),
                     time=time, data=value.get("data") or {}, sequence=int(value.get("seq", 0)))
