"""Reading JSON field by field, collecting every problem by its path (`flows.sales.steps[2].url`).

The same vocabulary as the rule-set validation (FieldProblem, InvalidInput, the same reasons),
written by hand because this package stays on the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.identifiers import is_e164

# Step ids and flow names travel inside operation contexts (`flow:<run>:<visit>:<step>:…`), so
# no separator characters and a short cap.
NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
DESCRIPTION_LIMIT: Final = 500
NAME_RULE: Final = "must be 1 to 32 letters, digits, '_' or '-', starting with a letter or digit"


@dataclass
class Problems:
    """The problems found so far; `fail` raises them all at once."""

    found: list[FieldProblem] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.found.append(FieldProblem(where, reason))

    def extend(self, problems: Iterable[FieldProblem]) -> None:
        self.found.extend(problems)

    def fail(self, what: str) -> None:
        if self.found:
            first = self.found[0]
            more = f" (and {len(self.found) - 1} more)" if len(self.found) > 1 else ""
            raise InvalidInput(f"invalid {what}: {first.field} {first.reason}{more}", list(self.found))


def child(parent: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else name


def obj(value: object, where: str, problems: Problems, known: Iterable[str]) -> Mapping[str, Any] | None:
    if not isinstance(value, dict):
        problems.add(where, "must be a JSON object")
        return None
    allowed = set(known)
    for key in value:
        if key not in allowed:
            problems.add(child(where, str(key)), "is not a known field")
    return value


def text(
    body: Mapping[str, Any], key: str, where: str, problems: Problems, *, required: bool = True
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            problems.add(child(where, key), "is required")
        return None
    if not isinstance(value, str) or not value:
        problems.add(child(where, key), "must be a non-empty string")
        return None
    return value


def description(body: Mapping[str, Any], where: str, problems: Problems) -> None:
    """An optional note for people (as on a rule): a string of at most 500 characters."""
    value = text(body, "description", where, problems, required=False)
    if value is not None and len(value) > DESCRIPTION_LIMIT:
        problems.add(child(where, "description"), f"must be at most {DESCRIPTION_LIMIT} characters long")


def name(
    body: Mapping[str, Any], key: str, where: str, problems: Problems, *, required: bool = True
) -> str | None:
    value = text(body, key, where, problems, required=required)
    if value is not None and not NAME.fullmatch(value):
        problems.add(child(where, key), NAME_RULE)
        return None
    return value


def number(
    body: Mapping[str, Any], key: str, where: str, problems: Problems, *,
    low: float, high: float, integer: bool,
) -> float | None:
    """A JSON number within [low, high]; None when absent or refused (the problem is noted)."""
    value = body.get(key)
    if value is None:
        return None
    kind = "a whole number" if integer else "a number"
    # 5.0 is a whole number (JSON Schema's integer, the document's word); a huge int is compared
    # exactly, never converted to float (which would overflow).
    if isinstance(value, bool) or not isinstance(value, int | float) or (
        isinstance(value, float) and not (math.isfinite(value) and (value.is_integer() or not integer))
    ):
        problems.add(child(where, key), f"must be {kind}")
        return None
    if not low <= value <= high:
        problems.add(child(where, key), f"must be from {_plain(low)} to {_plain(high)}")
        return None
    return int(value) if integer else value


def caller_id(body: Mapping[str, Any], key: str, where: str, problems: Problems) -> str | None:
    value = text(body, key, where, problems, required=False)
    if value is not None and not is_e164(value):
        problems.add(child(where, key), "must be an E.164 number like +14255550123")
        return None
    return value


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
