"""Communication identifiers: parse any accepted form, always render the full wire form.

Full form (what ACS sends): ``{"kind", "rawId", <typed sub-object>}``. Accepted on input:
the wire form with or without ``kind``/``rawId``, a bare ``rawId``, and the short control-API
forms ``{"phoneNumber": "+1..."}`` and ``{"communicationUserId": "8:acs:..."}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from emulator.common.errors import AcsError, invalid_argument

PHONE_PREFIX = "4:"
ACS_USER_PREFIXES = ("8:acs:", "8:spool:", "8:dod-acs:", "8:gcch-acs:")
TEAMS_USER_PREFIXES = {
    "8:orgid:": "public",
    "8:dod:": "dod",
    "8:gcch:": "gcch",
}
TEAMS_ANONYMOUS_PREFIX = "8:teamsvisitor:"
TEAMS_APP_PREFIXES = {"28:orgid:": "public", "28:dod:": "dod", "28:gcch:": "gcch"}
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
# A withheld caller id: raw id `4:anonymous`, model {"value": "anonymous", "isAnonymous": true}.
ANONYMOUS_PHONE = "anonymous"

COMMUNICATION_USER = "communicationUser"
PHONE_NUMBER = "phoneNumber"
TEAMS_USER = "microsoftTeamsUser"
TEAMS_APP = "microsoftTeamsApp"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Identifier:
    """One participant identity. Equality is by raw id, the key ACS uses everywhere."""

    kind: str
    raw_id: str

    @property
    def is_phone(self) -> bool:
        return self.kind == PHONE_NUMBER

    @property
    def is_acs_user(self) -> bool:
        return self.kind == COMMUNICATION_USER

    @property
    def phone_number(self) -> str:
        """The E.164 number of a phone identifier (without any asserted-id suffix), or `anonymous`."""
        return _split_phone_raw_id(self.raw_id)[0]

    @property
    def asserted_id(self) -> str | None:
        """The `_<assertedId>` suffix ACS adds when one number joins the same call again."""
        return _split_phone_raw_id(self.raw_id)[1] if self.is_phone else None

    @property
    def is_anonymous_phone(self) -> bool:
        return self.is_phone and self.phone_number == ANONYMOUS_PHONE

    def to_wire(self) -> dict[str, Any]:
        """The full form ACS puts in responses and events."""
        wire: dict[str, Any] = {"rawId": self.raw_id, "kind": self.kind}
        if self.kind == PHONE_NUMBER:
            model: dict[str, Any] = {"value": self.phone_number}
            if self.is_anonymous_phone:
                model["isAnonymous"] = True
            if self.asserted_id is not None:
                model["assertedId"] = self.asserted_id
            wire[PHONE_NUMBER] = model
        elif self.kind == COMMUNICATION_USER:
            wire[COMMUNICATION_USER] = {"id": self.raw_id}
        elif self.kind == TEAMS_USER:
            wire[TEAMS_USER] = _teams_user_model(self.raw_id)
        elif self.kind == TEAMS_APP:
            prefix, cloud = _match_prefix(self.raw_id, TEAMS_APP_PREFIXES)
            wire[TEAMS_APP] = {"appId": self.raw_id[len(prefix) :], "cloud": cloud}
        return wire


def _split_phone_raw_id(raw_id: str) -> tuple[str, str | None]:
    """`4:+1425…_x` → (`+1425…`, `x`); like the SDK, the asserted id follows the last `_`."""
    rest = raw_id[len(PHONE_PREFIX) :]
    if rest == ANONYMOUS_PHONE or "_" not in rest:
        return rest, None
    number, _, asserted_id = rest.rpartition("_")
    return number, asserted_id


def is_e164(number: str) -> bool:
    return _E164.fullmatch(number) is not None


def require_dialable(identifier: Identifier, field: str) -> Identifier:
    """A withheld caller id names nobody that can be called."""
    if identifier.is_anonymous_phone:
        raise invalid_argument(f"The field {field} cannot be an anonymous phone number.")
    return identifier


def _match_prefix(raw_id: str, prefixes: dict[str, str]) -> tuple[str, str]:
    for prefix, cloud in prefixes.items():
        if raw_id.startswith(prefix):
            return prefix, cloud
    raise ValueError(raw_id)


def _teams_user_model(raw_id: str) -> dict[str, Any]:
    if raw_id.startswith(TEAMS_ANONYMOUS_PREFIX):
        return {"userId": raw_id[len(TEAMS_ANONYMOUS_PREFIX) :], "isAnonymous": True}
    prefix, cloud = _match_prefix(raw_id, TEAMS_USER_PREFIXES)
    return {"userId": raw_id[len(prefix) :], "cloud": cloud}


def from_raw_id(raw_id: str) -> Identifier:
    """Classify a raw id the way the SDK does (`identifier_from_raw_id`)."""
    if raw_id.startswith(PHONE_PREFIX):
        return Identifier(PHONE_NUMBER, raw_id)
    if raw_id.startswith(ACS_USER_PREFIXES):
        return Identifier(COMMUNICATION_USER, raw_id)
    if raw_id.startswith(TEAMS_ANONYMOUS_PREFIX) or raw_id.startswith(tuple(TEAMS_USER_PREFIXES)):
        return Identifier(TEAMS_USER, raw_id)
    if raw_id.startswith(tuple(TEAMS_APP_PREFIXES)):
        return Identifier(TEAMS_APP, raw_id)
    return Identifier(UNKNOWN, raw_id)


def phone(number: str) -> Identifier:
    return Identifier(PHONE_NUMBER, PHONE_PREFIX + number)


def parse_phone_model(value: Any, field: str) -> str:
    """A `PhoneNumberIdentifierModel` (``{"value": "+1..."}``) → the E.164 string."""
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise invalid_argument(f"The field {field} must be an object with a string 'value'.")
    number: str = value["value"]
    if not _E164.fullmatch(number):
        raise invalid_argument(f"The field {field} is not a valid E.164 phone number.")
    return number


def required_identifier(body: dict[str, Any], field: str) -> Identifier:
    """The identifier in a required body field (400/8523 when it is absent or malformed)."""
    if body.get(field) is None:
        raise invalid_argument(f"The {field} field is required.")
    return parse_identifier(body[field], field)


def parse_identifier(value: Any, field: str) -> Identifier:
    """Parse one identifier in any accepted form; refuse anything else with 400/8523."""
    if not isinstance(value, dict):
        raise invalid_argument(f"The field {field} must be an identifier object.")
    try:
        return _parse_identifier(value)
    except AcsError:
        raise
    except (TypeError, ValueError, KeyError):
        raise invalid_argument(f"The field {field} is not a valid identifier.") from None


def _parse_identifier(value: dict[str, Any]) -> Identifier:
    raw_id = value.get("rawId")
    if raw_id is not None and not isinstance(raw_id, str):
        raise ValueError("rawId")
    phone_value = value.get(PHONE_NUMBER)
    if isinstance(phone_value, str):  # control-API short form
        return _phone_identifier(phone_value)
    if isinstance(phone_value, dict):
        return _phone_model_identifier(phone_value, raw_id)
    user_id = value.get("communicationUserId")
    if user_id is None and isinstance(value.get(COMMUNICATION_USER), dict):
        user_id = value[COMMUNICATION_USER]["id"]
    if user_id is not None:
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("communicationUser.id")
        return Identifier(COMMUNICATION_USER, user_id)
    if isinstance(value.get(TEAMS_USER), dict) or isinstance(value.get(TEAMS_APP), dict):
        if not raw_id:
            raise ValueError("rawId")
        return from_raw_id(raw_id)
    if raw_id:
        ident = from_raw_id(raw_id)
        return _checked_phone_raw_id(raw_id) if ident.is_phone else ident
    raise ValueError("empty identifier")


def _phone_identifier(number: str) -> Identifier:
    if number != ANONYMOUS_PHONE and not is_e164(number):
        raise invalid_argument("The phone number is not a valid E.164 number.")
    return phone(number)


def _checked_phone_raw_id(raw_id: str) -> Identifier:
    number, asserted_id = _split_phone_raw_id(raw_id)
    _phone_identifier(number)
    if asserted_id == "" or (asserted_id is not None and number == ANONYMOUS_PHONE):
        raise invalid_argument("The phone number's asserted id is invalid.")
    return Identifier(PHONE_NUMBER, raw_id)


def _phone_model_identifier(model: dict[str, Any], raw_id: str | None) -> Identifier:
    """`{"value", "isAnonymous"?, "assertedId"?}` plus an optional rawId that must agree with it."""
    number = model["value"]
    anonymous = model.get("isAnonymous", False)
    asserted_id = model.get("assertedId")
    if not isinstance(number, str):
        raise ValueError("phoneNumber.value")
    if not isinstance(anonymous, bool) or (asserted_id is not None and not isinstance(asserted_id, str)):
        raise ValueError("phoneNumber")
    if anonymous and number != ANONYMOUS_PHONE:
        raise invalid_argument("An anonymous phone number has the value 'anonymous'.")
    anonymous = number == ANONYMOUS_PHONE
    if raw_id:
        ident = _checked_phone_raw_id(raw_id) if raw_id.startswith(PHONE_PREFIX) else None
        if ident is None or ident.phone_number != number:
            raise invalid_argument("The phone number's rawId does not match its value.")
        if asserted_id is not None and ident.asserted_id != asserted_id:
            raise invalid_argument("The phone number's rawId does not match its assertedId.")
        return ident
    suffix = f"_{asserted_id}" if asserted_id and not anonymous else ""
    return _checked_phone_raw_id(PHONE_PREFIX + number + suffix)


def parse_user_model(value: Any, field: str) -> Identifier:
    """A `CommunicationUserIdentifierModel` (``{"id": "8:acs:..."}``)."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        raise invalid_argument(f"The field {field} must be an object with a string 'id'.")
    return Identifier(COMMUNICATION_USER, value["id"])
