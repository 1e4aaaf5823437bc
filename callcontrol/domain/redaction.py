"""Redaction of what must not reach logs: phone numbers, raw ids that embed them, and tokens."""

from __future__ import annotations

import re

# A run of digits and separators, not touching other digits or dots at either end.
_PHONE = re.compile(r"(?<![\d.])\+?\d[\d\s().-]{6,}\d(?![\d.])")
_TOKEN = re.compile(r"\beyJ[\w-]+\.[\w-]*\.?[\w-]*")  # JWT-shaped (incomingCallContext, bearer)
_LONG_SECRET = re.compile(r"\b[A-Za-z0-9+/]{40,}={0,2}")  # base64 keys and opaque contexts
# Dotted numbers are addresses and versions (127.0.0.1, 12.7.0), never phone numbers.
_DOTTED = re.compile(r"\d+(?:\.\d+)+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # ISO dates in timestamps
_MIN_PHONE_DIGITS = 7


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) < _MIN_PHONE_DIGITS or _DOTTED.fullmatch(text.lstrip("+")) or _DATE.fullmatch(text):
        return text
    return f"+…{digits[-4:]}"


def redact(text: str) -> str:
    """Keep the shape of a message, hide the values: `+14255550123` → `+…0123`."""
    text = _TOKEN.sub("<token>", text)
    text = _LONG_SECRET.sub("<redacted>", text)
    return _PHONE.sub(_phone, text)
