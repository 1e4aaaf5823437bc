"""Checks for the opaque ids that come from outside and become storage keys or URL path segments:
callConnectionId, event ids, invitation ids.

ACS ids are short ASCII strings (GUIDs and base64url). Anything else (a lone surrogate, a control
character, a path separator, "..", a few hundred emoji) is refused at the boundary as bad input,
before it can reach a table key or an ACS request path.
"""

from __future__ import annotations

import re

from callcontrol.domain.errors import FieldProblem, InvalidInput

MAX_ID_CHARS = 256
# URL-unreserved characters only (RFC 3986): what GUIDs and base64url ids are made of. Anything
# else means something in a URL path or a table key (/ \ ? # %), or, like ':', in an ACS action
# path (`{callConnectionId}:terminate`), where the SDK and the service may encode it differently.
_OPAQUE_ID = re.compile(r"[A-Za-z0-9._~-]+")
# The same rule as a JSON Schema pattern (dots alone are refused too), for the API's document.
OPAQUE_ID_SCHEMA_PATTERN = r"^(?!\.+$)[A-Za-z0-9._~-]+$"


def opaque_id_problem(value: object) -> str | None:
    """Why `value` is not acceptable as an opaque id, or None when it is."""
    if not isinstance(value, str) or not value:
        return "is required and must be a non-empty string"
    if len(value) > MAX_ID_CHARS:
        return f"must be at most {MAX_ID_CHARS} characters"
    if _OPAQUE_ID.fullmatch(value) is None or value.strip(".") == "":
        return "must be made of letters, digits, '-', '.', '_' or '~'"
    return None


def check_opaque_id(value: object, field: str) -> str:
    """`value` as an id, or InvalidInput naming `field`."""
    problem = opaque_id_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}", [FieldProblem(field, problem)])
    assert isinstance(value, str)
    return value
