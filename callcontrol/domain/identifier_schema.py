"""JSON Schemas of the identifiers a client writes, stating what `parse_strict_identifier` accepts.

One member at a time (the short forms), each as the parser checks it, so a document built from
these accepts nothing the parser refuses. A redirect target (rule sets) is stricter: it must name
a party a call can reach, so its ids never end in ":" and it may also be written in the full form
the API returns; the full form's members must agree, which JSON Schema cannot say.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final

from callcontrol.domain.identifiers import E164, RAW_ID_CHARS, RAW_ID_PREFIXES, IdentifierKind


def _literal(text: str) -> str:
    # re.escape also escapes "-", which ECMA-262 regexes (the document's dialect) refuse.
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", text)


def _prefixes(kind: IdentifierKind) -> str:
    return "|".join(_literal(prefix) for prefix in RAW_ID_PREFIXES[kind])


_E164_DIGITS: Final = E164.pattern.removeprefix("^").removesuffix("$")
_ANY: Final = f"[{RAW_ID_CHARS}]"
# A redirect target's id never ends in ":" (parse_target refuses "8:acs:", say).
_REACHABLE_END: Final = f"[{RAW_ID_CHARS.replace(':', '')}]"
_TYPED: Final = {
    "phoneNumber": IdentifierKind.PHONE_NUMBER,
    "communicationUserId": IdentifierKind.COMMUNICATION_USER,
    "microsoftTeamsUserId": IdentifierKind.MICROSOFT_TEAMS_USER,
    "microsoftTeamsAppId": IdentifierKind.MICROSOFT_TEAMS_APP,
}


def _raw(kind: IdentifierKind, rest: str, *, suffix: bool = False) -> str:
    """The raw-id regex (unanchored) of one kind. A phone's may carry a suffix after "_" where
    ACS names a participant so (`suffix`); as a target ACS refuses it ("rawId does not match
    its value"), so a body's document leaves it out though the parser takes it."""
    if kind is IdentifierKind.PHONE_NUMBER:
        return f"4:{_E164_DIGITS}(?:_{rest}?)?" if suffix else f"4:{_E164_DIGITS}"
    return f"(?:{_prefixes(kind)}){rest}"


def _rest(redirect: bool) -> str:
    # What follows a prefix: a redirect target's needs a last character that is not ":".
    return f"(?:{_ANY}*{_REACHABLE_END})" if redirect else f"(?:{_ANY}*)"


def member_schemas(
    *, redirect: bool = False, suffix: bool = False, kinds: Collection[IdentifierKind] | None = None
) -> dict[str, dict[str, Any]]:
    """Each member a client may write alone, as the parser checks it (`redirect`: a rule's target;
    `suffix`: a phone raw id as ACS names a participant, in a path; `kinds`: only these kinds)."""
    rest = _rest(redirect)
    teams = f"^{_ANY}{{0,245}}{_REACHABLE_END}$" if redirect else f"^{_ANY}{{1,246}}$"
    allowed = _TYPED.values() if kinds is None else kinds
    members: dict[str, dict[str, Any]] = {
        "phoneNumber": {"type": "string", "pattern": E164.pattern, "examples": ["+14255550123"]},
        "communicationUserId": {
            "type": "string", "maxLength": 254,
            "pattern": f"^{_raw(IdentifierKind.COMMUNICATION_USER, rest)}$",
            "examples": ["8:acs:00000000-0000-0000-0000-000000000000_"
                         "00000000-0000-0000-0000-000000000001"],
        },
        # Teams ids become 8:orgid:<id> / 28:orgid:<id>: the raw-id characters, 246 at most.
        "microsoftTeamsUserId": {"type": "string", "pattern": teams},
        "microsoftTeamsAppId": {"type": "string", "pattern": teams},
        "rawId": {
            "type": "string", "maxLength": 254,
            "pattern": "^(?:" + "|".join(_raw(kind, rest, suffix=suffix)
                                         for kind in _TYPED.values() if kind in allowed) + ")$",
        },
    }
    return {name: schema for name, schema in members.items()
            if name == "rawId" or _TYPED[name] in allowed}


def short_form(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An object holding exactly the one member `name`."""
    return {"type": "object", "properties": {name: schema}, "required": [name],
            "additionalProperties": False}


def full_forms(
    *, redirect: bool = False, kinds: Collection[IdentifierKind] | None = None
) -> list[dict[str, Any]]:
    """The full form per kind (kind, rawId and the typed member), as the API returns it."""
    members = member_schemas(redirect=redirect)
    forms = []
    for name, kind in _TYPED.items():
        if kinds is not None and kind not in kinds:
            continue
        raw = {"type": "string", "maxLength": 254, "pattern": f"^{_raw(kind, _rest(redirect))}$"}
        forms.append({
            "type": "object",
            "properties": {"kind": {"const": kind.value}, "rawId": raw, name: members[name]},
            "required": ["kind", "rawId", name],
            "additionalProperties": False,
        })
    return forms


def target_forms(kinds: Collection[IdentifierKind] | None = None) -> list[dict[str, Any]]:
    """Each form of a target a call can reach (one short form, or the full form of one kind),
    of the given kinds only (all four typed kinds by default)."""
    members = member_schemas(redirect=True, kinds=kinds)
    return [*(short_form(name, schema) for name, schema in members.items()),
            *full_forms(redirect=True, kinds=kinds)]


def redirect_target_schema(description: str) -> dict[str, Any]:
    """A rule's redirect target: one short form, or the full form of one kind."""
    return {"description": description, "oneOf": target_forms()}
