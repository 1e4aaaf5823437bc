"""The caller id a call or an invitation to a phone number goes out with."""

from __future__ import annotations

from collections.abc import Callable

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.identifiers import Identifier


def caller_id_for(targets: list[Identifier] | tuple[Identifier, ...], given: str | None,
                  default: Callable[[], str | None], field: str) -> str | None:
    """A PSTN target needs a caller id: the request's, else DEFAULT_CALLER_ID, else a 400."""
    if not any(t.is_phone for t in targets):
        return given
    caller_id = given or default()
    if caller_id is None:
        raise InvalidInput(
            "a caller id is required to call a phone number",
            [FieldProblem(field, "required for a PSTN target (or set DEFAULT_CALLER_ID)")],
        )
    return caller_id
