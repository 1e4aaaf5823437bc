"""The IncomingCall event (contract §5), parsed once into a typed view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcontrol.errors import FieldProblem, InvalidInput
from callcontrol.identifiers import Identifier, parse_identifier

INCOMING_CALL_TYPE = "Microsoft.Communication.IncomingCall"


@dataclass(frozen=True)
class IncomingCall:
    to: Identifier
    caller: Identifier | None
    server_call_id: str
    incoming_call_context: str = field(repr=False)
    correlation_id: str | None = None
    caller_display_name: str = field(default="", repr=False)
    sip_headers: dict[str, str] = field(default_factory=dict, repr=False)
    voip_headers: dict[str, str] = field(default_factory=dict, repr=False)


def parse_incoming_call(payload: object) -> IncomingCall:
    """Accept the whole Event Grid event or just its `data`."""
    if isinstance(payload, dict) and "eventType" in payload:
        if payload["eventType"] != INCOMING_CALL_TYPE:
            raise _bad("eventType", f"expected {INCOMING_CALL_TYPE}")
        payload = payload.get("data")
    if not isinstance(payload, dict):
        raise _bad("data", "must be an IncomingCall data object")
    context = payload.get("incomingCallContext")
    server_call_id = payload.get("serverCallId")
    if not isinstance(context, str) or not context:
        raise _bad("data.incomingCallContext", "is required")
    if not isinstance(server_call_id, str) or not server_call_id:
        raise _bad("data.serverCallId", "is required")
    caller_raw = payload.get("from")
    custom: Any = payload.get("customContext") or {}
    return IncomingCall(
        to=parse_identifier(payload.get("to"), "data.to"),
        caller=parse_identifier(caller_raw, "data.from") if caller_raw else None,
        server_call_id=server_call_id,
        incoming_call_context=context,
        correlation_id=payload.get("correlationId") or None,
        caller_display_name=str(payload.get("callerDisplayName") or ""),
        sip_headers=_headers(custom.get("sipHeaders") if isinstance(custom, dict) else None),
        voip_headers=_headers(custom.get("voipHeaders") if isinstance(custom, dict) else None),
    )


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _bad(field_name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field_name} {reason}", [FieldProblem(field_name, reason)])
