"""Checking an ask request's signature, re-implemented from the scheme (the emulator imports
nothing of the app): `X-Flow-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`,
the Unix time in `X-Flow-Timestamp`, refused outside a tolerance window."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

SIGNATURE_HEADER: Final = "X-Flow-Signature"
TIMESTAMP_HEADER: Final = "X-Flow-Timestamp"
REQUEST_ID_HEADER: Final = "X-Flow-Request-Id"
_VERSION: Final = "v1="


def expected_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return _VERSION + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def refusal(
    secret: bytes | None, headers: Mapping[str, str], body: bytes, now: float, tolerance_seconds: float
) -> str | None:
    """Why this request is not authentic and fresh, or None when it is."""
    if not secret:
        return "no ask secret is configured (--ask-secret, EMULATOR_ASK_SECRET or PATCH /emulator/ask)"
    timestamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if timestamp is None or given is None:
        return f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required"
    if not timestamp.isascii() or not timestamp.isdigit():
        return f"{TIMESTAMP_HEADER} must be a Unix time in whole seconds"
    if abs(now - int(timestamp)) > tolerance_seconds:
        return f"{TIMESTAMP_HEADER} is outside the {tolerance_seconds:g} s tolerance"
    if not hmac.compare_digest(expected_signature(secret, timestamp, body).encode(), given.encode()):
        return f"{SIGNATURE_HEADER} does not match the body"
    return None
