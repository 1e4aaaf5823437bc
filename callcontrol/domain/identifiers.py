"""Communication identifiers: one value type, parsed from every form we meet, rendered one way.

Forms accepted:
- API short forms: {"phoneNumber": "+1…"}, {"communicationUserId": "8:acs:…"},
  {"microsoftTeamsUserId": "…"}, {"rawId": "…"};
- ACS wire form (events, responses): {"kind", "rawId", "phoneNumber": {"value"}} and friends;
- our full form: {"kind", "rawId", "phoneNumber": "+1…"}.
Kinds follow the ACS raw-id prefixes (contract §2).

Two readers: `parse_strict_identifier` validates what a client writes (strict: E.164, ACS user ids);
`parse_lenient_identifier` reads what ACS sends and what this app stored (tolerant: it trusts `kind` and
`rawId`, accepts `4:anonymous` and the spec examples' placeholder ids, never re-validates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from callcontrol.domain.errors import FieldProblem, InvalidInput

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # ASCII digits only: \d would admit other scripts
# What a client may write as a raw id: a numeric prefix, then URL- and key-safe ASCII only. The
# raw id travels in ACS request paths, so "..", "/" or a control character must never pass.
RAW_ID_CHARS = "A-Za-z0-9+._:@=-"  # a regex character class body: what may follow the prefix
RAW_ID_SHAPE = re.compile(rf"[0-9]{{1,3}}:[{RAW_ID_CHARS}]{{1,252}}")
# Members that each name a kind: an identifier carries exactly one of them.
_KIND_MEMBERS = ("phoneNumber", "communicationUserId", "communicationUser", "microsoftTeamsUserId",
                 "microsoftTeamsUser", "microsoftTeamsAppId")
_ACS_USER_PREFIXES = ("8:acs:", "8:spool:", "8:dod-acs:", "8:gcch-acs:")
_TEAMS_USER_PREFIXES = ("8:orgid:", "8:dod:", "8:gcch:", "8:teamsvisitor:")
_TEAMS_APP_PREFIXES = ("28:orgid:", "28:dod:", "28:gcch:")


class IdentifierKind(StrEnum):
    PHONE_NUMBER = "phoneNumber"
    COMMUNICATION_USER = "communicationUser"
    MICROSOFT_TEAMS_USER = "microsoftTeamsUser"
    MICROSOFT_TEAMS_APP = "microsoftTeamsApp"
    TEAMS_EXTENSION_USER = "teamsExtensionUser"  # no raw-id prefix of its own: only from `kind`
    UNKNOWN = "unknown"


# The raw-id prefixes of each kind (a phone's is 4:), public for the wire schemas that state them.
RAW_ID_PREFIXES = {
    IdentifierKind.COMMUNICATION_USER: _ACS_USER_PREFIXES,
    IdentifierKind.MICROSOFT_TEAMS_USER: _TEAMS_USER_PREFIXES,
    IdentifierKind.MICROSOFT_TEAMS_APP: _TEAMS_APP_PREFIXES,
}

# Our API's short-form key per kind (the value is a plain string there).
_API_KEYS = {
    IdentifierKind.PHONE_NUMBER: "phoneNumber",
    IdentifierKind.COMMUNICATION_USER: "communicationUserId",
    IdentifierKind.MICROSOFT_TEAMS_USER: "microsoftTeamsUserId",
    IdentifierKind.MICROSOFT_TEAMS_APP: "microsoftTeamsAppId",
}


@dataclass(frozen=True)
class Identifier:
    """A participant identity. `raw_id` is the canonical key; `value` the kind's own id."""

    kind: IdentifierKind
    raw_id: str

    @property
    def value(self) -> str:
        if self.kind is IdentifierKind.PHONE_NUMBER:
            return self.raw_id[2:].split("_", 1)[0]
        if self.kind is IdentifierKind.MICROSOFT_TEAMS_USER:
            return self.raw_id.split(":", 2)[-1] if self.raw_id.startswith("8:") else self.raw_id
        if self.kind is IdentifierKind.MICROSOFT_TEAMS_APP:
            return self.raw_id.split(":", 2)[-1]
        return self.raw_id

    @property
    def is_phone(self) -> bool:
        return self.kind is IdentifierKind.PHONE_NUMBER

    @property
    def is_withheld(self) -> bool:
        return self.raw_id == "4:anonymous"

    def to_json(self) -> dict[str, str]:
        """Our full form: kind + rawId + the kind's id as a plain string."""
        body = {"kind": self.kind.value, "rawId": self.raw_id}
        key = _API_KEYS.get(self.kind)
        if key is not None:
            body[key] = self.value
        return body

    def redacted(self) -> str:
        """Safe for logs: keeps the kind and the last few characters only."""
        return f"{self.kind.value}:…{self.raw_id[-4:]}"

    def __repr__(self) -> str:
        return f"Identifier({self.redacted()})"


def phone(number: str) -> Identifier:
    return Identifier(IdentifierKind.PHONE_NUMBER, f"4:{number}")


def from_raw_id(raw_id: str) -> Identifier:
    """Classify a raw id by its prefix, as the SDK does."""
    if raw_id.startswith("4:"):
        return Identifier(IdentifierKind.PHONE_NUMBER, raw_id)
    if raw_id.startswith(_ACS_USER_PREFIXES):
        return Identifier(IdentifierKind.COMMUNICATION_USER, raw_id)
    if raw_id.startswith(_TEAMS_USER_PREFIXES):
        return Identifier(IdentifierKind.MICROSOFT_TEAMS_USER, raw_id)
    if raw_id.startswith(_TEAMS_APP_PREFIXES):
        return Identifier(IdentifierKind.MICROSOFT_TEAMS_APP, raw_id)
    return Identifier(IdentifierKind.UNKNOWN, raw_id)


def _problem(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", [FieldProblem(field, reason)])


def is_e164(number: str) -> bool:
    """The whole string is an E.164 number (a full match: no trailing newline slips through)."""
    return E164.fullmatch(number) is not None


def _check_raw(raw_id: str, field: str) -> Identifier:
    if RAW_ID_SHAPE.fullmatch(raw_id) is None:
        raise _problem(field, "must start with a numeric kind prefix and a colon (4:+1…, 8:acs:…), "
                              "then only letters, digits and +._:@=-")
    ident = from_raw_id(raw_id)
    if ident.is_phone and not ident.is_withheld and not is_e164(ident.value):
        raise _problem(field, f"phone number {ident.value!r} is not E.164 (+ and 7-15 digits)")
    return ident


def _check_kind_type(payload: dict[str, Any], field: str) -> None:
    # A list or object `kind` is unhashable: refuse it here, before any lookup by value.
    kind = payload.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise _problem(f"{field}.kind" if field else "kind", "must be a string naming the kind")


def parse_strict_identifier(payload: object, field: str = "identifier") -> Identifier:
    """Strict: an identifier a client sent us (request bodies, paths, rules).

    Accepts every documented form, checks E.164 and ACS user ids, and that the members agree;
    raises InvalidInput naming `field` otherwise. For what ACS sends or we stored, use
    `parse_lenient_identifier`.
    """
    if not isinstance(payload, dict) or not payload:
        raise _problem(field, "must be an identifier object such as {\"phoneNumber\": \"+1…\"}")
    _check_kind_type(payload, field)
    members = [name for name in _KIND_MEMBERS if payload.get(name) is not None]
    if len(members) > 1:
        raise _problem(field, f"names more than one kind ({', '.join(members)}): give one")
    raw = payload.get("rawId")
    phone_value = payload.get("phoneNumber")
    if isinstance(phone_value, dict):  # ACS wire form {"value": "+1…"}
        phone_value = phone_value.get("value")
    user = payload.get("communicationUserId")
    if user is None and isinstance(payload.get("communicationUser"), dict):
        user = payload["communicationUser"].get("id")
    if phone_value is not None:
        if not isinstance(phone_value, str) or not is_e164(phone_value):
            raise _problem(f"{field}.phoneNumber", "must be an E.164 number like +14255550123")
        ident = phone(phone_value)
    elif user is not None:
        if not isinstance(user, str) or not user.startswith(_ACS_USER_PREFIXES):
            raise _problem(f"{field}.communicationUserId", "must be an ACS user id (8:acs:…)")
        ident = Identifier(IdentifierKind.COMMUNICATION_USER, user)
    elif "microsoftTeamsUserId" in payload or isinstance(payload.get("microsoftTeamsUser"), dict):
        teams = payload.get("microsoftTeamsUserId") or _dig(payload, "microsoftTeamsUser", "userId")
        if not isinstance(teams, str) or not teams:
            raise _problem(f"{field}.microsoftTeamsUserId", "must be a Teams user id")
        ident = from_raw_id(raw) if isinstance(raw, str) and raw else Identifier(
            IdentifierKind.MICROSOFT_TEAMS_USER, f"8:orgid:{teams}"
        )
    elif "microsoftTeamsAppId" in payload:
        app_id = payload.get("microsoftTeamsAppId")
        if not isinstance(app_id, str) or not app_id:
            raise _problem(f"{field}.microsoftTeamsAppId", "must be a Teams app id")
        ident = from_raw_id(raw) if isinstance(raw, str) and raw else Identifier(
            IdentifierKind.MICROSOFT_TEAMS_APP, f"28:orgid:{app_id}"
        )
    elif isinstance(raw, str) and raw:
        ident = _check_raw(raw, f"{field}.rawId")
    else:
        raise _problem(field, "needs one of phoneNumber, communicationUserId or rawId")
    if isinstance(raw, str) and raw and raw.split("_", 1)[0] != ident.raw_id.split("_", 1)[0]:
        raise _problem(f"{field}.rawId", "does not match the identifier it accompanies")
    result = Identifier(ident.kind, raw) if isinstance(raw, str) and raw else ident
    if not result.is_withheld:
        _check_raw(result.raw_id, f"{field}.rawId" if isinstance(raw, str) and raw else field)
    kind = payload.get("kind")
    if kind is not None and kind != result.kind.value:
        raise _problem(f"{field}.kind",
                       f"{kind!r} does not agree with the identifier, a {result.kind.value}")
    return result


def _dig(payload: dict[str, Any], *keys: str) -> Any:
    value: Any = payload
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def parse_lenient_identifier(payload: object, field: str = "identifier") -> Identifier:
    """Lenient: an identifier as ACS sends it (events, responses) or as this app stored it.

    Accepts a missing `kind`, `phoneNumber` as a string or as {"value", "isAnonymous"},
    `communicationUser: {"id"}`, our short forms, and any raw id. The kind comes from `kind`
    when it is a known value, else from the typed member, else from the raw-id prefix.

    Raises:
        InvalidInput: naming `field`, when it is not an object or has neither a raw id nor a
            typed member to build one from.
    """
    if not isinstance(payload, dict):
        raise _problem(field, "must be an identifier object")
    _check_kind_type(payload, field)
    raw = _text(payload, "rawId", field)
    phone_value = _acs_phone(payload.get("phoneNumber"), f"{field}.phoneNumber")
    user = payload.get("communicationUser")
    user_id = _text(user, "id", f"{field}.communicationUser") if isinstance(user, dict) else None
    user_id = user_id or _text(payload, "communicationUserId", field)
    if raw is None:
        if phone_value is not None:
            raw = f"4:{phone_value}"
        elif user_id is not None:
            raw = user_id
        else:
            raise _problem(field, "needs a rawId or a typed member such as phoneNumber")
    kind_value = payload.get("kind")
    if kind_value in _KIND_VALUES:
        kind = IdentifierKind(kind_value)
    elif phone_value is not None:
        kind = IdentifierKind.PHONE_NUMBER
    elif user_id is not None:
        kind = IdentifierKind.COMMUNICATION_USER
    else:
        kind = from_raw_id(raw).kind
    return Identifier(kind, raw)


_KIND_VALUES = frozenset(kind.value for kind in IdentifierKind)


def _text(container: dict[str, Any], key: str, field: str) -> str | None:
    value = container.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _problem(f"{field}.{key}" if field else key, f"{key} must be a string")
    return value


def _acs_phone(member: object, field: str) -> str | None:
    """A string in our forms, {"value": ..., "isAnonymous": ...} in ACS's."""
    if member is None or isinstance(member, str):
        return member or None
    if isinstance(member, dict):
        if member.get("isAnonymous") is True:
            return "anonymous"
        return _text(member, "value", field)
    raise _problem(field, 'phoneNumber must be a string or {"value": "+1…"}')
