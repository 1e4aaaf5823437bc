"""Redaction of what must not reach logs: phone numbers, raw ids that embed them, and tokens.

`redact` is applied once per log record by the logging layer's redaction filter (every record
passes it, the SDKs' included), so call sites log plainly. It keeps the shape of a message and
hides the values: `4:+14255550123` → `4:+…0123`, also percent-encoded (`4%3A%2B1425…`), and
leaves what only looks like a number alone: IP addresses, dates, times, ids glued to letters.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\beyJ[\w-]+\.[\w-]*\.?[\w-]*")  # JWT-shaped (incomingCallContext, bearer)
_LONG_SECRET = re.compile(r"\b[A-Za-z0-9+/]{40,}={0,2}")  # base64 keys and opaque contexts
# name=value pairs whose value is a secret: SAS signatures, function keys (`code=`), account keys.
_SECRET_PARAM = re.compile(
    r"(?i)\b(sig|signature|code|key|accountkey|sharedaccesskey|access_token|token|"
    r"client_secret|password|secret)=([^&\s;,'\"]+)"
)
_SECRET_HEADER = re.compile(
    r"(?i)\b(authorization|x-functions-key|x-ms-hmac-string-to-sign)(['\"]?\s*[:=]\s*['\"]?)"
    r"([^'\",\n]+)"
)
# A plus in any spelling: literal, percent-encoded once or twice, JSON-escaped.
_PLUS = r"(?:\+|%2[Bb]|%252[Bb]|\\u002[Bb])"
_WITH_PLUS = re.compile(_PLUS + r"\d(?:[\d().-]|\s(?=[\d(]))*\d")
# Without a plus: a run of 8+ digits not glued to letters, ids or decimals (UUID parts, hex),
# nor followed by "-" and more of an id (a UUID whose first groups are all digits).
_BARE = re.compile(r"(?<![\w.%-])\(?\d(?:[\d().-]|\s(?=[\d(]))*\d(?![\w%]|-\w)")
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MIN_DIGITS_WITH_PLUS = 7
_MIN_DIGITS_BARE = 8
# What _SECRET_PARAM needs in the text to match at all (a cheap test before the slow pattern);
# on ASCII text only: IGNORECASE also takes long s, dotless i, dotted capital I and the Kelvin
# sign for s, i, i and k.
_SECRET_PARAM_HINTS = ("sig=", "signature=", "code=", "key=", "token=", "secret=", "password=")
_NON_DIGIT = re.compile(r"\D")


def _digits(text: str) -> str:
    return _NON_DIGIT.sub("", text)


def _hide_long_secret(match: re.Match[str]) -> str:
    """Random base64 has digits and few slashes; a URL path made of words has many."""
    text = match.group()
    if not re.search(r"\d", text) or text.count("/") * 12 > len(text):
        return text
    return "<redacted>"


def _hide_with_plus(match: re.Match[str]) -> str:
    text = match.group()
    body = re.sub("^" + _PLUS, "", text)
    digits = _digits(body)
    return f"+…{digits[-4:]}" if len(digits) >= _MIN_DIGITS_WITH_PLUS else text


def _hide_bare(match: re.Match[str]) -> str:
    text = match.group()
    digits = _digits(text)
    if len(digits) < _MIN_DIGITS_BARE or _IP.fullmatch(text) or _DATE.match(text):
        return text
    return f"…{digits[-4:]}"


_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,3}){7}")


def redact(text: str) -> str:
    """Keep the shape of a message, hide the values: `+14255550123` → `+…0123`.

    Every record passes here, so each pattern runs only when a cheap test says it could match.
    """
    if "eyJ" in text:
        text = _TOKEN.sub("<token>", text)
    lowered = text.lower()
    if "authorization" in lowered or "functions-key" in lowered or "hmac-string" in lowered:
        text = _SECRET_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", text)
    if "=" in text and _may_hold_secret_param(text, lowered):
        text = _SECRET_PARAM.sub(_hide_secret_param, text)
    if len(text) >= 40:
        text = _LONG_SECRET.sub(_hide_long_secret, text)
    if _SEVEN_DIGITS.search(text) is None:  # no number of a phone's length at all
        return text
    text = _WITH_PLUS.sub(_hide_with_plus, text)
    return _BARE.sub(_hide_bare, text)


def _may_hold_secret_param(text: str, lowered: str) -> bool:
    return not text.isascii() or any(hint in lowered for hint in _SECRET_PARAM_HINTS)


def _hide_secret_param(match: re.Match[str]) -> str:
    return f"{match.group(1)}=<redacted>"
