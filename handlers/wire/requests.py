"""Request models of the management API: one source for both the checks and the OpenAPI document.

Wire names are camelCase; unknown fields are refused. Identifiers accept every form of
`callcontrol.domain.identifiers` and are validated by it, so the API and the callbacks agree.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.events.incoming_call import IncomingCallData
from callcontrol.domain.identifier_schema import member_schemas
from callcontrol.domain.identifiers import (
    E164,
    Identifier,
    parse_strict_identifier,
)
from handlers.wire.field_problems import reason_for

E164Number = Annotated[
    str,
    StringConstraints(pattern=E164.pattern),
    Field(description="E.164 phone number", examples=["+14255550123"]),
]


def _whole(value: object) -> object:
    # JSON Schema's integer holds 143.0 (RFC 8259 numbers have no int type): take a whole float
    # as the integer it is. A bool or a string stays refused by the strict int after this.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value

OperationContext = Annotated[
    str, StringConstraints(min_length=1, max_length=512), Field(description="echoed in the callbacks")
]


class ApiModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True
    )


# What parse_strict_identifier accepts and a call can reach, one member at a time. A phone's number
# must be E.164 (4:anonymous, withheld, is never a target); the suffix after "_" ACS gives some
# participants' raw ids is for paths only: as a target ACS refuses it.
SHORT_FORMS: dict[str, dict[str, Any]] = member_schemas()


# Path parameters holding a raw id: any callable party; mute takes ACS users only.
RAW_ID_IN_PATH = (("rawId", member_schemas(suffix=True)["rawId"]),)
USER_RAW_ID_IN_PATH = (("rawId", SHORT_FORMS["communicationUserId"]),)


def _short_forms_schema(schema: dict[str, Any]) -> None:
    """The document states the short forms: exactly one member, checked as the parser checks it.

    The server also takes the full form the API returns (kind, rawId and the typed member), whose
    members must agree; JSON Schema cannot say "agree", so the document leaves that form out.
    """
    schema.clear()
    schema.update({
        "title": "IdentifierIn",
        "description": "A communication identifier: exactly one of the members. The full form the "
                       "API returns (kind, rawId and the typed member) is accepted too when its "
                       "members agree.",
        "type": "object",
        "properties": SHORT_FORMS,
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "examples": [{"phoneNumber": "+14255550123"}, {"rawId": "4:+14255550123"}],
    })


class IdentifierIn(ApiModel):
    """A communication identifier in any accepted form; see `callcontrol.domain.identifiers`."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, json_schema_extra=_short_forms_schema
    )

    kind: str | None = None
    raw_id: str | None = Field(default=None, alias="rawId")
    phone_number: str | None = Field(default=None, alias="phoneNumber")
    communication_user_id: str | None = Field(default=None, alias="communicationUserId")
    microsoft_teams_user_id: str | None = Field(default=None, alias="microsoftTeamsUserId")
    microsoft_teams_app_id: str | None = Field(default=None, alias="microsoftTeamsAppId")

    @model_validator(mode="after")
    def _check(self) -> IdentifierIn:
        try:
            self.parsed  # noqa: B018 - parsing is the check
        except InvalidInput as exc:
            raise _IdentifierProblem(exc.problems[0]) from None
        return self

    @property
    def parsed(self) -> Identifier:
        return parse_strict_identifier(self.model_dump(by_alias=True, exclude_none=True), "identifier")


class _IdentifierProblem(ValueError):
    """Carries the identifier parser's field problem through pydantic (which wraps ValueErrors)."""

    def __init__(self, problem: FieldProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class CreateCallRequest(ApiModel):
    """One target makes a 1:1 call; several make a group call."""

    targets: list[IdentifierIn] = Field(
        min_length=1, max_length=20, json_schema_extra={"uniqueItems": True},
        description="distinct parties (ACS refuses one named twice, in any form)")
    source_caller_id_number: E164Number | None = Field(
        default=None, description="caller id shown to PSTN targets (or DEFAULT_CALLER_ID)"
    )
    source_display_name: Annotated[str, StringConstraints(max_length=256)] | None = None
    operation_context: OperationContext | None = None

    @model_validator(mode="after")
    def _distinct(self) -> CreateCallRequest:
        # Caught here, not by ACS: its refusal would name no target.
        first: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            earlier = first.setdefault(target.parsed.raw_id, index)
            if earlier != index:
                raise _IdentifierProblem(FieldProblem(
                    f"targets[{index}]", f"names the same party as targets[{earlier}]"))
        return self


class HangUpRequest(ApiModel):
    for_everyone: bool = Field(default=False, description="end the call for all, not only the app")


class TransferRequest(ApiModel):
    target: IdentifierIn
    transferee: IdentifierIn | None = Field(
        default=None, description="in a group call, the participant to transfer"
    )
    source_caller_id_number: E164Number | None = None
    operation_context: OperationContext | None = None


class AddParticipantRequest(ApiModel):
    participant: IdentifierIn
    source_caller_id_number: E164Number | None = None
    invitation_timeout_seconds: Annotated[int, Field(ge=0, le=180), BeforeValidator(_whole)] | None = None
    operation_context: OperationContext | None = None


class ParticipantActionRequest(ApiModel):
    """Optional body of remove / mute / cancel: the operationContext to echo."""

    operation_context: OperationContext | None = None


M = TypeVar("M", bound=BaseModel)


def enum_schema(kind: type[Enum]) -> dict[str, Any]:
    """A string parameter that must be one of an enum's values (what `parse_enum` enforces)."""
    return {"type": "string", "enum": [member.value for member in kind]}


def validate_body(model: type[M], payload: Any) -> M:
    """Validate `payload` as `model`, turning every failure into one InvalidInput."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = [_problem(error, model) for error in exc.errors(include_url=False)]
        detail = "; ".join(f"{p.field}: {p.reason}" for p in problems)
        raise InvalidInput(f"invalid request body: {detail}", problems) from None


def _problem(error: Any, model: type[BaseModel]) -> FieldProblem:
    location = ""
    for part in error.get("loc", ()):
        if isinstance(part, int):
            location += f"[{part}]"
        elif part != "__root__":
            location += f".{part}" if location else str(part)
    context = error.get("ctx") or {}
    nested = context.get("error")
    if isinstance(nested, _IdentifierProblem):
        suffix = nested.problem.field.removeprefix("identifier")
        return FieldProblem(f"{location}{suffix}" if location else nested.problem.field,
                            nested.problem.reason)
    return FieldProblem(location or "body", reason_for(error, model))


class EvaluateRulesBody(IncomingCallData):
    """POST /api/rules/evaluate: an IncomingCall's `data` (or its Event Grid event) and, when
    the deciding rule starts a flow, the outcomes its steps meet."""

    script: dict[str, Any] | None = Field(
        None, description="per step id, the outcomes met in order: a ring's 'answered' "
        "(or {outcome, target}), 'busy', 'noAnswer', 'declined', 'failed'; an ask's {next}, "
        "{action} or 'timeout' / 'error' / 'invalid'; a transfer's 'accepted' / 'failed' "
        "(docs/flows.md)")
