"""Turn pydantic validation errors into the app's FieldProblem list, with JSON-path-like names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError

from callcontrol.domain.errors import FieldProblem

# Discriminated unions put the tag into the error location ("action", "redirect", "target");
# the tag is not a field the caller wrote, so it is dropped from the name.
_UNION_FIELDS: Final = frozenset({"action", "defaultAction"})
_UNION_TAGS: Final = frozenset({"answer", "reject", "redirect"})

_FRIENDLY: Final[dict[str, str]] = {
    "extra_forbidden": "is not a known field",
    "missing": "is required",
    "union_tag_not_found": "is required: answer, reject or redirect",
    "union_tag_invalid": "must be answer, reject or redirect",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "tuple_type": "must be a JSON array",
    "list_type": "must be a JSON array",
    "string_type": "must be a string",
    "bool_type": "must be true or false (a JSON boolean)",
}
_WITH_LIMITS: Final[dict[str, str]] = {
    "too_short": "must hold at least {min_length} item(s)",
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} characters long",
}


def field_name(loc: Sequence[int | str], root: str = "") -> str:
    """`("rules", 2, "conditions", "timeWindows", 0)` -> `rules[2].conditions.timeWindows[0]`."""
    name = root
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        elif not (previous in _UNION_FIELDS and part in _UNION_TAGS):
            name += f".{part}" if name else part
        previous = part
    return name or "(body)"


def problems_from(error: ValidationError, root: str = "") -> list[FieldProblem]:
    """One FieldProblem per pydantic error, in the order pydantic found them."""
    details = error.errors(include_url=False)
    item_failures = {
        tuple(d["loc"][:i])
        for d in details
        for i, part in enumerate(d["loc"])
        if isinstance(part, int)
    }
    problems: list[FieldProblem] = []
    for detail in details:
        loc = list(detail["loc"])
        # "too short" on a list whose items failed is an echo of those failures, not news
        if detail["type"] == "too_short" and tuple(loc) in item_failures:
            continue
        if detail["type"] in ("union_tag_not_found", "union_tag_invalid"):
            loc.append("type")
        reason = _reason(detail["type"], detail["msg"], detail.get("ctx") or {})
        problems.append(FieldProblem(field=field_name(loc, root), reason=reason))
    return problems


def _reason(error_type: str, message: str, context: dict[str, Any]) -> str:
    if error_type in _WITH_LIMITS:
        try:
            return _WITH_LIMITS[error_type].format(**context)
        except KeyError:
            return message
    return _FRIENDLY.get(error_type) or message.removeprefix("Value error, ")


def summary(problems: Sequence[FieldProblem], what: str) -> str:
    """A one-line detail for InvalidInput: the first problem plus a count of the rest."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid {what}: {first.field} {first.reason}{more}"
