"""`Idempotency-Key` on mutating routes: the first response is kept for 24 h and replayed.

The first of three layers: the key also becomes the request's repeatability id, which the use
case recognises retries by and ACS receives as its `Repeatability-Request-ID`; all three are
described in callcontrol/domain/repeatability.py.
"""

from __future__ import annotations

import hashlib
from functools import wraps
from urllib.parse import urlsplit

import azure.functions as func

from callcontrol.domain.clock import utc_now
from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.idempotency import StoredResponse
from callcontrol.domain.repeatability import for_idempotency_key
from handlers._http import Handler
from handlers._services import services

HEADER = "Idempotency-Key"


def idempotency_key(req: func.HttpRequest) -> str | None:
    key = req.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidInput("bad Idempotency-Key",
                           [FieldProblem(HEADER, "must be 1-255 printable characters")])
    return key


def repeatability_id(req: func.HttpRequest) -> str | None:
    """The ACS Repeatability-Request-ID for this request (None without an Idempotency-Key)."""
    key = idempotency_key(req)
    return for_idempotency_key(key) if key is not None else None


def _fingerprint(req: func.HttpRequest) -> str:
    """Method, path and body: what the request asks. Scheme, host and port only say how it
    reached us (127.0.0.1 or localhost, a proxy), so a retry through another name still
    matches."""
    digest = hashlib.sha256()
    path = urlsplit(req.url).path
    for part in (req.method.upper().encode(), path.encode(), req.get_body()):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def idempotent(handler: Handler) -> Handler:
    @wraps(handler)
    async def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        key = idempotency_key(req)
        if key is None:
            return await handler(req)
        store = services().idempotency
        fingerprint = _fingerprint(req)
        reservation = await store.begin(key, fingerprint, utc_now())
        if isinstance(reservation, StoredResponse):
            return func.HttpResponse(reservation.body, status_code=reservation.status,
                                     headers={**reservation.headers, "Idempotent-Replayed": "true"})
        try:
            response = await handler(req)
        except BaseException:
            await store.release(reservation)
            raise
        if 200 <= response.status_code < 300:
            await store.complete(reservation, fingerprint, utc_now(), StoredResponse(
                response.status_code, response.get_body().decode(), _replayable(response)))
        else:
            await store.release(reservation)
        return response

    return wrapper


def _replayable(response: func.HttpResponse) -> dict[str, str]:
    headers = {name: value for name, value in response.headers.items()
               if name.lower() in ("location", "etag", "content-type")}
    if not any(name.lower() == "content-type" for name in headers):
        mimetype = response.mimetype or "application/json"
        headers["Content-Type"] = f"{mimetype}; charset={response.charset or 'utf-8'}"
    return headers
