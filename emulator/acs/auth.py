"""HMAC-SHA256 request verification, exactly as the SDK signs (contract §7).

String to sign: ``VERB\\npathAndQuery\\nx-ms-date;host;contentHash``, key = base64-decoded
access key. The path may arrive with a different percent-encoding from the one that was signed
(the aio SDK signs ``4%3A%2B1...`` but aiohttp sends ``4:%2B1...``, contract §11), so every
re-encoding of the received path that only changes how reserved characters are escaped is tried.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

EMPTY_BODY_HASH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
_SCHEME = "HMAC-SHA256"
_MAX_VARIANT_SEGMENTS = 4


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a request the signature covers, as received."""

    method: str
    path_and_query: str
    host: str
    date: str | None
    content_hash: str | None
    authorization: str | None
    body: bytes


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


@lru_cache(maxsize=8)
def _key_bytes(access_key: str) -> bytes:
    # Every request is verified with the same key or two: decode each once.
    return base64.b64decode(access_key)


@lru_cache(maxsize=64)
def _parse_http_date(value: str) -> datetime:
    # Requests sent within the same second carry the same x-ms-date: parse it once.
    return parsedate_to_datetime(value)


def sign(access_key: str, string_to_sign: str) -> str:
    """base64(HMAC-SHA256(base64-decode(key), string_to_sign))."""
    digest = hmac.digest(_key_bytes(access_key), string_to_sign.encode("utf-8"), "sha256")
    return base64.b64encode(digest).decode("ascii")


def string_to_sign(method: str, path_and_query: str, date: str, host: str, body_hash: str) -> str:
    return f"{method.upper()}\n{path_and_query}\n{date};{host};{body_hash}"


def path_variants(path_and_query: str) -> Iterator[str]:
    """The received path first, then each equivalent re-encoding the client may have signed."""
    yield path_and_query
    path, sep, query = path_and_query.partition("?")
    segments = path.split("/")
    encoded = [quote(unquote(segment), safe="") for segment in segments]
    differing = [i for i, (a, b) in enumerate(zip(segments, encoded, strict=True)) if a != b]
    seen = {path_and_query}
    for count in range(1, min(len(differing), _MAX_VARIANT_SEGMENTS) + 1):
        for chosen in itertools.combinations(differing, count):
            variant = list(segments)
            for index in chosen:
                variant[index] = encoded[index]
            candidate = "/".join(variant) + sep + query
            if candidate not in seen:
                seen.add(candidate)
                yield candidate
    decoded = unquote(path) + sep + query  # the SDK's decode_url=True flavour
    if decoded not in seen:
        yield decoded


def parse_signature(authorization: str) -> str | None:
    """Extract the signature from ``HMAC-SHA256 SignedHeaders=...&Signature=<b64>``."""
    scheme, _, params = authorization.partition(" ")
    if scheme != _SCHEME:
        return None
    fields = dict(part.partition("=")[::2] for part in params.strip().split("&"))
    if fields.get("SignedHeaders", "").lower() != "x-ms-date;host;x-ms-content-sha256":
        return None
    return fields.get("Signature") or None


def verify(
    access_key: str,
    request: SignedRequest,
    now: datetime | None = None,
    max_clock_skew_seconds: float = 0,
) -> str | None:
    """Return None when the request is authentic, else the reason it is not."""
    if not request.date:
        return "The x-ms-date header is missing."
    if not request.authorization:
        return "The Authorization header is missing."
    signature = parse_signature(request.authorization)
    if signature is None:
        return "The Authorization header is not a valid HMAC-SHA256 header."
    if request.content_hash is None:
        return "The x-ms-content-sha256 header is missing."
    if not hmac.compare_digest(request.content_hash, content_hash(request.body)):
        return "The x-ms-content-sha256 header does not match the body."
    if max_clock_skew_seconds > 0:
        try:
            sent = _parse_http_date(request.date)
        except (TypeError, ValueError):
            return "The x-ms-date header is not a valid HTTP date."
        current = now or datetime.now(UTC)
        if sent.tzinfo is None or abs((current - sent).total_seconds()) > max_clock_skew_seconds:
            return "The x-ms-date header is outside the allowed clock skew."
    try:
        for candidate in path_variants(request.path_and_query):
            expected = sign(
                access_key,
                string_to_sign(request.method, candidate, request.date, request.host, request.content_hash),
            )
            if hmac.compare_digest(expected, signature):
                return None
    except (binascii.Error, ValueError):
        return "The access key is not valid base64."
    return "The HMAC signature does not match."
