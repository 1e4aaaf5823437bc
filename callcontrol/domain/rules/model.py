"""Inbound call rules as data: the wire model of a rule set, validated field by field.

Wire names are camelCase (`defaultAction`, `timeWindows`), Python attributes snake_case.
Conditions of a rule are ANDed; the entries of one condition list are ORed, except
`fromNotIn`, which holds when the caller matches none of its patterns (a block list).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from callcontrol.domain.flows.fields import NAME as FLOW_NAME
from callcontrol.domain.flows.schema import FLOW_SCHEMA
from callcontrol.domain.identifiers import E164, IdentifierKind
from callcontrol.domain.rules.targets import TargetIdentifier
from callcontrol.domain.rules.time_windows import TimeWindow
from callcontrol.domain.rules.wire_model import WireModel

WILDCARD: Final = "*"
PHONE_PREFIX: Final = "4:"
ANONYMOUS_PHONE: Final = "anonymous"
SIP_CUSTOM_PREFIX: Final = "x-ms-custom-"
_RULE_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEADER_NAME: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$")
_RAW_ID: Final = re.compile(r"^\d+:\S*$")
_PHONE_PREFIX_PATTERN: Final = re.compile(r"^\+\d{0,15}$")


# --- party patterns -------------------------------------------------------------------------


def check_party_pattern(pattern: str) -> str:
    """Accept `+14255550123`, `+1425*`, `4:+1425*`, `4:anonymous`, `8:acs:<resource>_*`, ..."""
    body = pattern.removesuffix(WILDCARD)
    exact = body == pattern
    if WILDCARD in body:
        raise ValueError("a wildcard * may only end the pattern")
    if body.startswith("+"):
        _check_phone_pattern(body, exact=exact)
    elif body.startswith(PHONE_PREFIX):
        number = body.removeprefix(PHONE_PREFIX)
        # 4:anonymous (withheld) and 4:* (any phone raw id) are the two non-number forms
        if number != (ANONYMOUS_PHONE if exact else ""):
            _check_phone_pattern(number, exact=exact)
    elif not _RAW_ID.fullmatch(body):
        raise ValueError(
            "must be an E.164 number (+14255550123), a raw id (4:+1..., 8:acs:..., 8:orgid:...) "
            "or a prefix of one ending in *"
        )
    return pattern


def _check_phone_pattern(number: str, *, exact: bool) -> None:
    if exact and not E164.fullmatch(number):
        raise ValueError("must be E.164: + and 7 to 15 digits (or a prefix ending in *)")
    if not exact and not _PHONE_PREFIX_PATTERN.fullmatch(number):
        raise ValueError("a phone prefix must be + and up to 15 digits before the *")


_NUMBER = E164.pattern.removeprefix("^").removesuffix("$")
_STAR = re.escape(WILDCARD)
# Python's \s (the check's) also holds these, the document's (ECMA-262) does not: name them.
_PY_ONLY_SPACE = "\\x1c-\\x1f\\x85"
# check_party_pattern as one regex, for the JSON schema (ASCII digits: the document's dialect).
PARTY_PATTERN_REGEX: Final = (
    f"^(?:{_NUMBER}|\\+[0-9]{{0,15}}{_STAR}"
    f"|{PHONE_PREFIX}(?:{_NUMBER}|{ANONYMOUS_PHONE})|{PHONE_PREFIX}(?:\\+[0-9]{{0,15}})?{_STAR}"
    f"|(?!{PHONE_PREFIX})[0-9]+:[^\\s{_STAR}{_PY_ONLY_SPACE}]*{_STAR}?)$"
)

PartyPattern = Annotated[
    str,
    AfterValidator(check_party_pattern),
    Field(
        description="E.164 number or raw id; a trailing * matches any suffix",
        examples=["+1425*", "8:acs:00000000-0000-0000-0000-000000000000_*"],
        json_schema_extra={"pattern": PARTY_PATTERN_REGEX},
    ),
]
PartyPatterns = Annotated[tuple[PartyPattern, ...], Field(min_length=1)]


# --- headers --------------------------------------------------------------------------------


def _check_header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError("must be a header name: 1 to 256 letters, digits or -_.!#$%&'*+^`|~")
    return name


HeaderName = Annotated[
    str,
    AfterValidator(_check_header_name),
    Field(json_schema_extra={"pattern": _HEADER_NAME.pattern}),
]


def _one_test_schema(schema: dict[str, Any]) -> None:
    # Exactly one of equals (a string) or exists (a boolean): what `_one_test` enforces.
    properties = schema["properties"]
    properties["equals"] = {"type": "string", "title": "Equals"}
    properties["exists"] = {"type": "boolean", "title": "Exists"}
    schema["oneOf"] = [{"required": ["equals"]}, {"required": ["exists"]}]


class VoipHeaderCondition(WireModel):
    """A header test: `{name, equals}` compares the value exactly, `{name, exists}` presence.

    Names compare case-insensitively.
    """

    model_config = ConfigDict(json_schema_extra=_one_test_schema)

    name: HeaderName
    equals: str | None = None
    exists: StrictBool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        if (self.equals is None) == (self.exists is None):
            raise ValueError("give exactly one of equals or exists")
        return self

    def describe(self) -> str:
        if self.equals is not None:
            return f"{self.name} equals {self.equals!r}"
        return f"{self.name} {'exists' if self.exists else 'is absent'}"


def _custom_header_schema(schema: dict[str, Any]) -> None:
    _one_test_schema(schema)
    # X-MS-Custom- in any case, then at least one header-name character (256 in all at most).
    prefix = "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in SIP_CUSTOM_PREFIX)
    schema["properties"]["name"] = {
        "type": "string", "title": "Name",
        "pattern": f"^{prefix}[A-Za-z0-9!#$%&'*+.^_`|~-]{{1,{256 - len(SIP_CUSTOM_PREFIX)}}}$"}


class SipHeaderCondition(VoipHeaderCondition):
    """Only the custom SIP headers ACS passes through (`X-MS-Custom-*`) can be tested."""

    model_config = ConfigDict(json_schema_extra=_custom_header_schema)

    @field_validator("name")
    @classmethod
    def _custom_header(cls, name: str) -> str:
        if not name.lower().startswith(SIP_CUSTOM_PREFIX) or len(name) == len(SIP_CUSTOM_PREFIX):
            raise ValueError("a SIP header condition must name an X-MS-Custom-* header")
        return name


# --- conditions -----------------------------------------------------------------------------

CallerKind = IdentifierKind


class Conditions(WireModel):
    """All given conditions must hold; an empty Conditions matches every call."""

    to: PartyPatterns | None = None
    from_: PartyPatterns | None = Field(default=None, alias="from")
    from_not_in: PartyPatterns | None = None
    caller_kinds: Annotated[tuple[CallerKind, ...], Field(min_length=1)] | None = None
    caller_withheld: StrictBool | None = None
    sip_headers: Annotated[tuple[SipHeaderCondition, ...], Field(min_length=1)] | None = None
    voip_headers: Annotated[tuple[VoipHeaderCondition, ...], Field(min_length=1)] | None = None
    time_windows: Annotated[tuple[TimeWindow, ...], Field(min_length=1)] | None = None


# --- actions --------------------------------------------------------------------------------

RejectReason = Literal["none", "busy", "forbidden"]


def _type_required(schema: dict[str, Any]) -> None:
    # `type` has a Python default for code that builds actions, but on the wire it picks the
    # action (the union's discriminator), so a body without it is refused: the schema says so.
    schema["required"] = ["type", *(name for name in schema.get("required", ()) if name != "type")]


class AnswerAction(WireModel):
    """Answer the call; operationContext is passed to ACS and echoed on its callbacks."""

    model_config = ConfigDict(json_schema_extra=_type_required)

    type: Literal["answer"] = "answer"
    # The same cap as the management API (and ACS): an operationContext is echoed on every
    # callback of the call.
    operation_context: Annotated[str, Field(min_length=1, max_length=512)] | None = None


class RejectAction(WireModel):
    """Reject the call with the SIP-like reason ACS offers (default none)."""

    model_config = ConfigDict(json_schema_extra=_type_required)

    type: Literal["reject"] = "reject"
    reason: RejectReason = "none"


class RedirectAction(WireModel):
    """Redirect the unanswered call to another party.

    ACS RedirectCall takes only the incoming call context and a target: it has no caller-id
    field, so unlike transfer or add-participant no sourceCallerIdNumber can be given here.
    """

    model_config = ConfigDict(json_schema_extra=_type_required)

    type: Literal["redirect"] = "redirect"
    target: TargetIdentifier

    @model_validator(mode="before")
    @classmethod
    def _no_caller_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sourceCallerIdNumber" in data:
            raise ValueError(
                "sourceCallerIdNumber is not supported: ACS RedirectCall has no caller-id field"
            )
        return data


class FlowStartAction(WireModel):
    """Start the named flow of this rule set's `flows` (docs/flows.md): it answers, rings,
    transfers, rejects or redirects the call step by step."""

    model_config = ConfigDict(json_schema_extra=_type_required)

    type: Literal["flow"] = "flow"
    flow: Annotated[str, Field(min_length=1, max_length=64)]


Action = Annotated[
    AnswerAction | RejectAction | RedirectAction | FlowStartAction, Field(discriminator="type")
]


# --- rules ----------------------------------------------------------------------------------


def _check_rule_id(rule_id: str) -> str:
    if not _RULE_ID.fullmatch(rule_id):
        raise ValueError(
            "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return rule_id


RuleId = Annotated[
    str, AfterValidator(_check_rule_id), Field(json_schema_extra={"pattern": _RULE_ID.pattern})
]


class Rule(WireModel):
    """One entry of the ordered rule set: when its conditions all hold, its action is taken."""

    id: RuleId
    description: Annotated[str, Field(max_length=500)] | None = None
    conditions: Conditions = Field(default_factory=Conditions)
    action: Action


def _unique_rule_ids(value: Any, handler: ValidatorFunctionWrapHandler) -> tuple[Rule, ...]:
    """Validate the rules, then report every repeated id next to the other problems."""
    problems: list[InitErrorDetails] = []
    rules: tuple[Rule, ...] = ()
    try:
        rules = handler(value)
    except ValidationError as exc:
        problems.extend(
            InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
            for e in exc.errors()
        )
    if isinstance(value, list | tuple):
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            rule_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
            if not isinstance(rule_id, str):
                continue
            if rule_id in seen:
                problems.append(_duplicate(index, rule_id, seen[rule_id]))
            else:
                seen[rule_id] = index
    if problems:
        raise ValidationError.from_exception_data("rules", problems)
    return rules


def _duplicate(index: int, rule_id: str, first: int) -> InitErrorDetails:
    error = PydanticCustomError(
        "duplicate_rule_id",
        "repeats the id '{rule_id}' of rules[{first}]; rule ids must be unique",
        {"rule_id": rule_id, "first": first},
    )
    return InitErrorDetails(type=error, loc=(index, "id"), input=rule_id)


class RuleSet(WireModel):
    """The ordered inbound rules; the first rule whose conditions hold decides the call."""

    rules: Annotated[tuple[Rule, ...], WrapValidator(_unique_rule_ids)]
    default_action: Action
    # The named call flows a `flow` action starts, as sent; validated by domain/flows/parsing
    # (parse_rule_set), read back with `rules.flows.flow_of`; documented by flows/schema.py.
    flows: Annotated[dict[str, Any] | None, Field(json_schema_extra={
        "propertyNames": {"pattern": f"^{FLOW_NAME.pattern}$"},
        "additionalProperties": FLOW_SCHEMA})] = None

    def to_json(self) -> dict[str, Any]:
        """The canonical wire form (what GET /api/rules returns and the store keeps)."""
        return self.model_dump(mode="json", exclude_none=True)
