"""Redaction of what must not reach logs: phone numbers, raw ids that embed them, and tokens."""

from __future__ import annotations

import re

_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_TOKEN = re.compile(r"\beyJ[\w-]+\.[\w-]*\.?[\w-]*")  # JWT-shaped (incomingCallContext, bearer)
_LONG_SECRET = re.compile(r"\b[A-Za-z0-9+/]{40,}={0,2}")  # base64 keys and opaque contexts


def redact(text: str) -> str:
    """Keep the shape of a message, hide the values: `+14255550123` → `+…0123`."""
    text = _TOKEN.sub("<token>", text)
    text = _LONG_SECRET.sub("<redacted>", text)
    return _PHONE.sub(lambda m: f"+…{re.sub(r'[^0-9]', '', m.group())[-4:]}", text)
