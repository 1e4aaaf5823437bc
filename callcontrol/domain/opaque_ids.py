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
# Printable ASCII without whitespace and without the characters that mean something in a URL
# path or a table key: / \ ? # %.
_OPAQUE_ID = re.compile(r"[!\"$&'()*+,\-.0-9:;<=>@A-Z\[\]^_`a-z{|}~]+")


def opaque_id_problem(value: object) -> str | None:
    """Why `value` is not acceptable as an opaque id, or None when it is."""
    if not isinstance(value, str) or not value:
        return "is required and must be a non-empty string"
    if len(value) > MAX_ID_CHARS:
        return f"must be at most {MAX_ID_CHARS} characters"
    if _OPAQUE_ID.fullmatch(value) is None or value.strip(".") == "":
        return "must be printable ASCII without spaces, '/', '\\', '?', '#' or '%'"
    return None


def check_opaque_id(value: object, field: str) -> str:
    """`value` as an id, or InvalidInput naming `field`."""
    problem = opaque_id_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}", [FieldProblem(field, problem)])
    assert isinstance(value, str)
    return value
