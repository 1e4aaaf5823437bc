"""Who may publish to the local topic: the topic key (``aeg-sas-key``) or an Entra bearer token.

The emulator has no Entra ID of its own (ACS requests are HMAC-signed only), so a bearer token
is accepted when it is a well-formed JWT: three base64url parts whose header and payload are JSON
objects; when present, ``aud`` must name Event Grid, ``exp`` must be in the future and ``nbf``
in the past. The signature is not checked (there is no key to check it with).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from typing import Any

from emulator.eventgrid.events import TopicError

KEY_HEADER = "aeg-sas-key"
EVENTGRID_AUDIENCES = frozenset({"https://eventgrid.azure.net", "https://eventgrid.azure.net/"})
_CLOCK_SKEW_SECONDS = 300


def unauthorized(reason: str) -> TopicError:
    return TopicError(401, "Unauthorized", f"The request is not authorized for this topic: {reason}")


def authenticate(headers: Any, topic_key: str) -> str:
    """Return how the publisher authenticated ('key' or 'bearer'); raise a 401 otherwise."""
    key = headers.get(KEY_HEADER)
    if key is not None:
        if not hmac.compare_digest(key.encode("utf-8"), topic_key.encode("utf-8")):
            raise unauthorized(f"the {KEY_HEADER} header does not hold the topic key.")
        return "key"
    authorization = headers.get("Authorization")
    if authorization is None:
        raise unauthorized(
            f"send the topic key in {KEY_HEADER} or an Entra token as 'Authorization: Bearer'."
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header is not 'Bearer <token>'.")
    problem = bearer_problem(token.strip(), time.time())
    if problem is not None:
        raise unauthorized(problem)
    return "bearer"


def bearer_problem(token: str, now: float) -> str | None:
    """Why the token is refused, or None when it is well formed and current."""
    parts = token.split(".")
    if len(parts) != 3:
        return "the bearer token is not a JWT (header.payload.signature)."
    header, payload = _json_part(parts[0]), _json_part(parts[1])
    if header is None or payload is None:
        return "the bearer token's header or payload is not base64url JSON."
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience] if audience is not None else []
    if audiences and not EVENTGRID_AUDIENCES.intersection(a for a in audiences if isinstance(a, str)):
        return f"the token's audience {audience!r} is not https://eventgrid.azure.net."
    expires = payload.get("exp")
    if isinstance(expires, int | float) and expires + _CLOCK_SKEW_SECONDS < now:
        return "the bearer token has expired."
    not_before = payload.get("nbf")
    if isinstance(not_before, int | float) and not_before - _CLOCK_SKEW_SECONDS > now:
        return "the bearer token is not valid yet."
    return None


def _json_part(part: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None
