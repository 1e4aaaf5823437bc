"""A typed view of one IncomingCall, read from the Event Grid event or from just its `data`.

Tolerant of the forms ACS really sends (missing `kind`, `phoneNumber` as {"value": ...},
empty `callerDisplayName`), strict about the shape: a malformed call is InvalidInput.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.identifiers import Identifier, IdentifierKind, parse_lenient_identifier
from callcontrol.domain.validation_problems import problems_from, summary

INCOMING_CALL_EVENT_TYPE: Final = "Microsoft.Communication.IncomingCall"


def _no_headers() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, repr=False)
class IncomingCall:
    """What the rules (and the answer/reject/redirect that follows) need from an IncomingCall."""

    to: Identifier
    from_: Identifier | None
    server_call_id: str | None = None
    incoming_call_context: str | None = None
    caller_display_name: str = ""
    sip_headers: Mapping[str, str] = field(default_factory=_no_headers)
    voip_headers: Mapping[str, str] = field(default_factory=_no_headers)
    correlation_id: str | None = None
    on_behalf_of_callee: Identifier | None = None
    event_id: str | None = None  # the Event Grid event id, when the whole event was given

    @property
    def caller_kind(self) -> IdentifierKind:
        return self.from_.kind if self.from_ is not None else IdentifierKind.UNKNOWN

    @property
    def caller_withheld(self) -> bool:
        """No caller at all, or a PSTN caller showing `4:anonymous`."""
        return self.from_ is None or self.from_.is_withheld

    def sip_header(self, name: str) -> str | None:
        return _header(self.sip_headers, name)

    def voip_header(self, name: str) -> str | None:
        return _header(self.voip_headers, name)

    def __repr__(self) -> str:
        # phone numbers and the call context stay out of logs; header values too
        return (
            f"IncomingCall(to={self.to!r}, from_={self.from_!r}, "
            f"server_call_id={_tail(self.server_call_id)}, "
            f"correlation_id={self.correlation_id!r}, event_id={self.event_id!r}, "
            f"incoming_call_context=<{len(self.incoming_call_context or '')} chars>, "
            f"sip_headers={sorted(self.sip_headers)}, voip_headers={sorted(self.voip_headers)})"
        )

    __str__ = __repr__


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header names compare case-insensitively (SIP and HTTP both say so)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _tail(value: str | None) -> str:
    return "None" if value is None else f"'…{value[-6:]}'"


# --- wire parsing ---------------------------------------------------------------------------

_FILLED: Final = {"type": "string", "minLength": 1}
# What parse_lenient_identifier reads; it needs a non-empty rawId or a typed member to build one.
_ACS_IDENTIFIER_SCHEMA: Final[dict[str, Any]] = {
    "description": "CommunicationIdentifierModel as ACS sends it: kind, rawId, typed member",
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "rawId": {"type": "string"},
        "phoneNumber": {"anyOf": [
            {"type": "string"},
            {"type": "object", "properties": {"value": {"type": "string"},
                                              "isAnonymous": {"type": "boolean"}}},
        ]},
        "communicationUser": {"type": "object", "properties": {"id": {"type": "string"}}},
        "communicationUserId": {"type": "string"},
    },
    "anyOf": [
        {"required": ["rawId"], "properties": {"rawId": _FILLED}},
        {"required": ["phoneNumber"], "properties": {"phoneNumber": {"anyOf": [
            _FILLED,
            {"type": "object", "required": ["value"], "properties": {"value": _FILLED}},
            {"type": "object", "required": ["isAnonymous"], "properties": {"isAnonymous": {"const": True}}},
        ]}}},
        {"required": ["communicationUser"], "properties": {"communicationUser": {
            "type": "object", "required": ["id"], "properties": {"id": _FILLED}}}},
        {"required": ["communicationUserId"], "properties": {"communicationUserId": _FILLED}},
    ],
}
def _read_acs_identifier(value: object) -> Identifier:
    try:
        return parse_lenient_identifier(value, "")
    except InvalidInput as exc:  # pydantic reports ValueErrors at the field's path
        raise ValueError(exc.problems[0].reason) from None


AcsIdentifier = Annotated[
    Identifier,
    PlainValidator(_read_acs_identifier),
    WithJsonSchema(_ACS_IDENTIFIER_SCHEMA, mode="validation"),
]


class _CustomContext(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    sip_headers: dict[str, str] | None = None
    voip_headers: dict[str, str] | None = None


class IncomingCallData(BaseModel):
    """`data` of Microsoft.Communication.IncomingCall (AcsIncomingCallEventData)."""

    # ACS adds fields over time; unknown ones are ignored, known ones are type-checked
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    to: AcsIdentifier
    from_: AcsIdentifier | None = Field(default=None, alias="from")
    server_call_id: str | None = None
    caller_display_name: str | None = None
    incoming_call_context: str | None = None
    custom_context: _CustomContext | None = None
    correlation_id: str | None = None
    on_behalf_of_callee: AcsIdentifier | None = None


def parse_incoming_call(payload: object, *, require_call_context: bool = True) -> IncomingCall:
    """Read an IncomingCall from an Event Grid event (either schema), a one-event delivery
    array, or just the event's `data`.

    `require_call_context=False` suits a dry run, where only the parties and headers matter;
    answering, rejecting or redirecting needs `incomingCallContext`.

    Raises:
        InvalidInput: naming the offending field (`data.to`, `incomingCallContext`, ...).
    """
    data, root, event_id = _unwrap(payload)
    try:
        parsed = IncomingCallData.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        problems = problems_from(exc, root)
        raise InvalidInput(summary(problems, "IncomingCall"), problems) from None
    if require_call_context and not parsed.incoming_call_context:
        where = f"{root}.incomingCallContext" if root else "incomingCallContext"
        problem = FieldProblem(where, "is required to act on the call")
        raise InvalidInput(summary([problem], "IncomingCall"), [problem])
    custom = parsed.custom_context or _CustomContext()
    return IncomingCall(
        to=parsed.to,
        from_=parsed.from_,
        server_call_id=parsed.server_call_id,
        incoming_call_context=parsed.incoming_call_context,
        caller_display_name=parsed.caller_display_name or "",
        sip_headers=MappingProxyType(dict(custom.sip_headers or {})),
        voip_headers=MappingProxyType(dict(custom.voip_headers or {})),
        correlation_id=parsed.correlation_id,
        on_behalf_of_callee=parsed.on_behalf_of_callee,
        event_id=event_id,
    )


def _unwrap(payload: object) -> tuple[object, str, str | None]:
    """Return (data, field-name root for problems, Event Grid event id)."""
    if isinstance(payload, list):
        if len(payload) != 1:
            raise _invalid("(body)", "a delivery array must hold exactly one IncomingCall event")
        return _unwrap_event(payload[0], "[0]")
    return _unwrap_event(payload, "")


def _unwrap_event(payload: object, root: str) -> tuple[object, str, str | None]:
    if not isinstance(payload, Mapping):
        raise _invalid(root or "(body)", "must be an IncomingCall event or its data object")
    if "data" not in payload:
        return payload, root, None
    event_type = payload.get("eventType", payload.get("type"))
    if event_type is not None and event_type != INCOMING_CALL_EVENT_TYPE:
        name = "eventType" if "eventType" in payload else "type"
        raise _invalid(_join(root, name), f"must be {INCOMING_CALL_EVENT_TYPE}")
    event_id = payload.get("id")
    if event_id is not None and not isinstance(event_id, str):
        raise _invalid(_join(root, "id"), "must be a string")
    return payload["data"], _join(root, "data"), event_id


def _join(root: str, name: str) -> str:
    return f"{root}.{name}" if root else name


def _invalid(where: str, reason: str) -> InvalidInput:
    problem = FieldProblem(where, reason)
    return InvalidInput(summary([problem], "IncomingCall"), [problem])


def incoming_call_json_schema(ref_template: str = "#/components/schemas/{model}") -> dict[str, Any]:
    """JSON Schema of IncomingCall `data` (the event envelope around it is also accepted)."""
    return IncomingCallData.model_json_schema(
        by_alias=True, ref_template=ref_template, mode="validation"
    )
