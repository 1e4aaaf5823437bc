"""Pydantic's validation errors in the words a client needs: the field and a plain reason.

Pydantic's own messages leak its internals ("instance of IdentifierIn", a raw regex), so every
error type a request model can raise has a reason here; an unknown field gets the name the API
expects when one is near (or is ACS's own name for one of ours).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from typing import Any, Final, Union, get_args, get_origin

from pydantic import BaseModel

from callcontrol.domain.identifiers import E164

IDENTIFIER_MODEL: Final = "IdentifierIn"
IDENTIFIER_FORMS: Final = ('a JSON object: {"phoneNumber": "+14255550123"}, '
                           '{"communicationUserId": "8:acs:…"} or {"rawId": "…"}')
E164_REASON: Final = "must be an E.164 phone number like +14255550123 (+, then 7 to 15 digits)"
# Names ACS's REST API uses where ours differ: a client porting an ACS request meets these first.
ACS_NAMES: Final[Mapping[str, str]] = {
    "invitationTimeoutInSeconds": "invitationTimeoutSeconds",
    "participantToAdd": "participant",
    "targetParticipant": "target",
}

_PLAIN: Final[Mapping[str, str]] = {
    "missing": "is required",
    "string_type": "must be a string",
    "bool_type": "must be true or false (a JSON boolean)",
    "int_type": "must be a whole number (a JSON number)",
    "int_from_float": "must be a whole number",
    "list_type": "must be a JSON array",
    "dict_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
}
_WITH_CONTEXT: Final[Mapping[str, str]] = {
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} characters long",
    "too_short": "must hold at least {min_length} item(s)",
    "too_long": "must hold at most {max_length} item(s)",
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "greater_than": "must be greater than {gt}",
}


def reason_for(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """The reason for one pydantic error (`ValidationError.errors()` item) on ``model``."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    loc = tuple(error.get("loc", ()))
    if kind == "extra_forbidden":
        return unknown_field_reason(str(loc[-1]) if loc else "", _known_fields(model, loc[:-1]))
    if kind == "model_type":
        return (f"must be {IDENTIFIER_FORMS}" if context.get("class_name") == IDENTIFIER_MODEL
                else "must be a JSON object")
    if kind == "string_pattern_mismatch":
        return E164_REASON if context.get("pattern") == E164.pattern else "is not in the accepted form"
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in _WITH_CONTEXT:
        try:
            return _WITH_CONTEXT[kind].format(**context)
        except KeyError:
            pass
    # Anything else: pydantic's sentence, in our voice ("Input should be" -> "must be").
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    for prefix in ("Input should", "String should", "List should", "Value should"):
        if message.startswith(prefix):
            return "must" + message.removeprefix(prefix)
    return message


def unknown_field_reason(name: str, known: list[str]) -> str:
    if name in ACS_NAMES and ACS_NAMES[name] in known:
        return f"unknown field: this API calls it {ACS_NAMES[name]} ({name} is ACS's name)"
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if near:
        return f"unknown field; did you mean {near[0]}?"
    return f"unknown field (known: {', '.join(known)})" if known else "unknown field"


def _known_fields(model: type[BaseModel], parent: tuple[Any, ...]) -> list[str]:
    """The wire names of the object at ``parent`` (a pydantic location) inside ``model``."""
    current: type[BaseModel] | None = model
    for part in parent:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = next((f for name, f in current.model_fields.items()
                      if part in (name, f.alias)), None)
        current = _model_in(field.annotation) if field is not None else None
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as `list[IdentifierIn]` or `IdentifierIn | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType) or get_args(annotation):
        for argument in get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None
