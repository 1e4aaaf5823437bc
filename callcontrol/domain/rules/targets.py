"""Identifiers an operator writes into a rule set (redirect targets), on the app's one model.

`callcontrol.domain.identifiers.parse_strict_identifier` does the reading; this adds what a rule set needs on
top: no unknown members, the members given must agree with each other, and the target must be a
party a call can be redirected to (not `4:anonymous`, not an unclassifiable raw id). Failures are
ValueErrors, so pydantic reports them at the field's path (`rules[2].action.target`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.identifier_schema import redirect_target_schema
from callcontrol.domain.identifiers import Identifier, IdentifierKind, parse_strict_identifier

# The members of our full form, by kind; `kind` and `rawId` may accompany any of them.
_TYPED_MEMBERS: Final = {
    "phoneNumber": IdentifierKind.PHONE_NUMBER,
    "communicationUserId": IdentifierKind.COMMUNICATION_USER,
    "microsoftTeamsUserId": IdentifierKind.MICROSOFT_TEAMS_USER,
    "microsoftTeamsAppId": IdentifierKind.MICROSOFT_TEAMS_APP,
}
_INPUT_KEYS: Final = frozenset({"kind", "rawId", *_TYPED_MEMBERS})
_REDIRECTABLE: Final = frozenset(
    {
        IdentifierKind.PHONE_NUMBER,
        IdentifierKind.COMMUNICATION_USER,
        IdentifierKind.MICROSOFT_TEAMS_USER,
        IdentifierKind.MICROSOFT_TEAMS_APP,
    }
)

# The accepted input forms, for the JSON schema (the validator itself is `parse_target`): the
# full form's members must also agree, which JSON Schema cannot say (docs/security.md, fuzz tier).
TARGET_INPUT_SCHEMA: Final[dict[str, Any]] = redirect_target_schema(
    'A communication identifier: {"phoneNumber": "+14255550123"}, '
    '{"communicationUserId": "8:acs:..."}, {"rawId": "4:+14255550123"}, or the full form '
    '{"kind": "phoneNumber", "rawId": "4:+14255550123", "phoneNumber": "+14255550123"} '
    "whose members agree."
)


def parse_target(value: object) -> Identifier:
    """Read a redirect target in any accepted form.

    Raises:
        ValueError: with a message naming the offending member.
    """
    if isinstance(value, Identifier):
        return value
    if not isinstance(value, dict):
        raise ValueError('an identifier must be an object such as {"phoneNumber": "+14255550123"}')
    unknown = sorted(str(key) for key in value if key not in _INPUT_KEYS)
    if unknown:
        raise ValueError(f"unknown identifier member(s): {', '.join(unknown)}")
    for key, member in value.items():
        if not isinstance(member, str) or not member:
            raise ValueError(f"{key} must be a non-empty string")
    try:
        identifier = parse_strict_identifier(value, "target")
    except InvalidInput as exc:
        raise ValueError(_reason(exc)) from None
    _check_agreement(value, identifier)
    if identifier.kind not in _REDIRECTABLE or identifier.raw_id.endswith(":"):
        raise ValueError(
            "rawId must start with 4:+ (phone), 8:acs: (ACS user), 8:orgid: (Teams user) "
            "or 28:orgid: (Teams app), followed by the id"
        )
    if identifier.is_withheld:
        raise ValueError("a call cannot be redirected to a withheld number (4:anonymous)")
    return identifier


def _reason(error: InvalidInput) -> str:
    """The shared parser's reason, prefixed with the member it is about (`rawId ...`)."""
    if not error.problems:
        return error.detail
    problem = error.problems[0]
    member = problem.field.removeprefix("target").removeprefix(".")
    return f"{member} {problem.reason}" if member else problem.reason


def _check_agreement(value: dict[str, Any], identifier: Identifier) -> None:
    # `kind` is checked by the shared parser already.
    for key, member_kind in _TYPED_MEMBERS.items():
        given = value.get(key)
        if given is None:
            continue
        if member_kind is not identifier.kind or given != identifier.value:
            raise ValueError(f"{key} does not agree with the identifier ({identifier.raw_id})")


def _serialize(identifier: Identifier) -> dict[str, str]:
    return identifier.to_json()


TargetIdentifier = Annotated[
    Identifier,
    PlainValidator(parse_target),
    PlainSerializer(_serialize, return_type=dict[str, str]),
    WithJsonSchema(TARGET_INPUT_SCHEMA),
]
