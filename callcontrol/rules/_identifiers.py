"""Minimal communication identifiers for the rules package.

Kept in one module on purpose: the app's shared identifier model (callcontrol/identifiers.py)
will replace it. Two entry points with different strictness:

* `parse_identifier` reads what an operator writes (a redirect target): strict, E.164 only.
* `identifier_from_acs` reads what ACS sends (IncomingCall `to`/`from`): tolerant of live forms
  such as `"phoneNumber": {"value": "+1..."}`, missing `kind`, and placeholder raw ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

IdentifierKind = Literal[
    "phoneNumber",
    "communicationUser",
    "microsoftTeamsUser",
    "microsoftTeamsApp",
    "teamsExtensionUser",
    "unknown",
]
IDENTIFIER_KINDS: Final[tuple[IdentifierKind, ...]] = get_args(IdentifierKind)

PHONE_PREFIX: Final = "4:"
ANONYMOUS_PHONE: Final = "anonymous"
ACS_USER_PREFIXES: Final = ("8:acs:", "8:spool:", "8:dod-acs:", "8:gcch-acs:")
TEAMS_USER_PREFIXES: Final = ("8:orgid:", "8:dod:", "8:gcch:", "8:teamsvisitor:")
TEAMS_APP_PREFIXES: Final = ("28:orgid:", "28:dod:", "28:gcch:")

_E164: Final = re.compile(r"^\+[1-9]\d{6,14}$")

# The accepted input forms, for OpenAPI (the validator itself is `parse_identifier`).
IDENTIFIER_INPUT_SCHEMA: Final[dict[str, Any]] = {
    "description": (
        'A communication identifier: {"phoneNumber": "+14255550123"}, '
        '{"communicationUserId": "8:acs:..."}, {"rawId": "4:+14255550123"}, or the full form '
        '{"kind": "phoneNumber", "rawId": "4:+14255550123", "phoneNumber": "+14255550123"}.'
    ),
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(IDENTIFIER_KINDS)},
        "rawId": {"type": "string"},
        "phoneNumber": {"type": "string", "pattern": _E164.pattern},
        "communicationUserId": {"type": "string"},
    },
    "additionalProperties": False,
    "minProperties": 1,
}


def is_e164(value: str) -> bool:
    """True for `+` followed by 7 to 15 digits, not starting with 0."""
    return bool(_E164.match(value))


def kind_of_raw_id(raw_id: str) -> IdentifierKind:
    """The identifier kind a raw id's prefix implies (`unknown` when none does)."""
    if raw_id.startswith(PHONE_PREFIX):
        return "phoneNumber"
    if raw_id.startswith(ACS_USER_PREFIXES):
        return "communicationUser"
    if raw_id.startswith(TEAMS_USER_PREFIXES):
        return "microsoftTeamsUser"
    if raw_id.startswith(TEAMS_APP_PREFIXES):
        return "microsoftTeamsApp"
    return "unknown"


def phone_of_raw_id(raw_id: str) -> str:
    """`4:+14255550123_assertedId` -> `+14255550123` (the asserted-id suffix is dropped)."""
    return raw_id.removeprefix(PHONE_PREFIX).split("_", 1)[0]


def redact_raw_id(raw_id: str) -> str:
    """A raw id fit for logs: phone numbers keep their last two digits, other ids the last four."""
    if raw_id.startswith(PHONE_PREFIX):
        number = raw_id.removeprefix(PHONE_PREFIX)
        if number == ANONYMOUS_PHONE:
            return raw_id
        return f"{PHONE_PREFIX}…{number[-2:]}"
    head, _, tail = raw_id.rpartition(":")
    return f"{head}:…{tail[-4:]}" if head else f"…{raw_id[-4:]}"


class Identifier(BaseModel):
    """A party in full form: kind, raw id, and the phone number or ACS user id when it has one."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    kind: IdentifierKind
    raw_id: str
    phone_number: str | None = None
    communication_user_id: str | None = None

    @property
    def is_withheld_phone(self) -> bool:
        """A PSTN caller that withheld its number (`4:anonymous`)."""
        return self.kind == "phoneNumber" and self.phone_number == ANONYMOUS_PHONE

    def to_json(self) -> dict[str, str]:
        """The full wire form, e.g. {"kind": "phoneNumber", "rawId": ..., "phoneNumber": ...}."""
        return self.model_dump(mode="json", exclude_none=True)

    def __repr__(self) -> str:
        return f"Identifier(kind={self.kind!r}, raw_id={redact_raw_id(self.raw_id)!r})"

    __str__ = __repr__


def phone_identifier(number: str) -> Identifier:
    return Identifier(kind="phoneNumber", raw_id=PHONE_PREFIX + number, phone_number=number)


def _acs_user_identifier(user_id: str) -> Identifier:
    return Identifier(kind="communicationUser", raw_id=user_id, communication_user_id=user_id)


_INPUT_KEYS: Final = frozenset({"kind", "rawId", "phoneNumber", "communicationUserId"})


def parse_identifier(value: object) -> Identifier:
    """Read an operator-supplied identifier in any accepted form.

    Raises:
        ValueError: with a message naming the offending member.
    """
    if isinstance(value, Identifier):
        return value
    if not isinstance(value, Mapping):
        raise ValueError('an identifier must be an object such as {"phoneNumber": "+14255550123"}')
    unknown = sorted(str(key) for key in value if key not in _INPUT_KEYS)
    if unknown:
        raise ValueError(f"unknown identifier member(s): {', '.join(unknown)}")
    members = {key: value[key] for key in _INPUT_KEYS if key in value}
    for key, member in members.items():
        if not isinstance(member, str) or not member:
            raise ValueError(f"{key} must be a non-empty string")
    phone, user_id = members.get("phoneNumber"), members.get("communicationUserId")
    if phone is not None and user_id is not None:
        raise ValueError("give phoneNumber or communicationUserId, not both")
    identifier = _from_members(phone, user_id, members.get("rawId"))
    _check_kind_agrees(members.get("kind"), identifier)
    return identifier


def _from_members(phone: str | None, user_id: str | None, raw_id: str | None) -> Identifier:
    if phone is not None:
        if not is_e164(phone):
            raise ValueError("phoneNumber must be E.164: + and 7 to 15 digits, e.g. +14255550123")
        identifier = phone_identifier(phone)
    elif user_id is not None:
        if not user_id.startswith(ACS_USER_PREFIXES) or user_id.endswith(":"):
            raise ValueError("communicationUserId must be an ACS user id such as 8:acs:...")
        identifier = _acs_user_identifier(user_id)
    elif raw_id is not None:
        return _from_raw_id(raw_id)
    else:
        raise ValueError("an identifier needs phoneNumber, communicationUserId or rawId")
    if raw_id is not None and raw_id != identifier.raw_id:
        raise ValueError(f"rawId does not agree with the identifier (expected {identifier.raw_id})")
    return identifier


def _from_raw_id(raw_id: str) -> Identifier:
    kind = kind_of_raw_id(raw_id)
    if kind == "phoneNumber":
        number = raw_id.removeprefix(PHONE_PREFIX)
        if not is_e164(number):
            raise ValueError("a phone rawId must be 4: and an E.164 number, e.g. 4:+14255550123")
        return phone_identifier(number)
    if kind == "communicationUser":
        return _from_members(None, raw_id, None)
    if kind == "unknown" or raw_id.endswith(":"):
        raise ValueError(
            "rawId must start with 4:+ (phone), 8:acs: (ACS user), 8:orgid: (Teams user) "
            "or 28:orgid: (Teams app), followed by the id"
        )
    return Identifier(kind=kind, raw_id=raw_id)


def _check_kind_agrees(kind: str | None, identifier: Identifier) -> None:
    if kind is not None and kind != identifier.kind:
        raise ValueError(f"kind {kind!r} does not agree with the identifier ({identifier.kind})")


def identifier_from_acs(value: object) -> Identifier:
    """Read an identifier as ACS sends it (requests, events, recorded live data).

    Raises:
        ValueError: when it is not an object, or has neither a raw id nor a typed member.
    """
    if not isinstance(value, Mapping):
        raise ValueError("an identifier must be an object")
    raw_id = _optional_str(value, "rawId")
    kind_member = _optional_str(value, "kind")
    phone = _acs_phone(value.get("phoneNumber"))
    user = value.get("communicationUser")
    user_id = _optional_str(user, "id") if isinstance(user, Mapping) else None
    if raw_id is None:
        if phone is not None:
            raw_id = PHONE_PREFIX + phone
        elif user_id is not None:
            raw_id = user_id
        else:
            raise ValueError("an identifier needs a rawId or a typed member such as phoneNumber")
    kind: IdentifierKind
    if kind_member in IDENTIFIER_KINDS:
        kind = kind_member
    elif phone is not None:
        kind = "phoneNumber"
    elif user_id is not None:
        kind = "communicationUser"
    else:
        kind = kind_of_raw_id(raw_id)
    if kind == "phoneNumber" and phone is None and raw_id.startswith(PHONE_PREFIX):
        phone = phone_of_raw_id(raw_id)
    if kind == "communicationUser" and user_id is None:
        user_id = raw_id
    return Identifier(
        kind=kind,
        raw_id=raw_id,
        phone_number=phone if kind == "phoneNumber" else None,
        communication_user_id=user_id if kind == "communicationUser" else None,
    )


def _acs_phone(member: object) -> str | None:
    """`phoneNumber` is a string in some payloads, {"value": ..., "isAnonymous": ...} in others."""
    if member is None:
        return None
    if isinstance(member, str):
        return member
    if isinstance(member, Mapping):
        if member.get("isAnonymous") is True:
            return ANONYMOUS_PHONE
        value = _optional_str(member, "value")
        if value is not None:
            return value
    raise ValueError('phoneNumber must be a string or {"value": "+..."}')


def _optional_str(container: Mapping[str, object], key: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value
