"""`Idempotency-Key` on mutating routes: the first response is kept for 24 h and replayed.

An action's 202 (AcceptedOut) is replayed with its operation's status as it stands now: the
first answer's `pending` would be stale once the operation settled (docs/calls.md#idempotency).

The first of three layers: the key also becomes the request's repeatability id, which the use
case recognises retries by and ACS receives as its `Repeatability-Request-ID`; all three are
described in callcontrol/domain/repeatability.py.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps
from urllib.parse import urlsplit

import azure.functions as func

from callcontrol.domain.clock import utc_now
from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.idempotency import StoredResponse
from callcontrol.domain.repeatability import for_idempotency_key
from callcontrol.usecases.calls import GetOperationStatus
from handlers._http import Handler
from handlers._services import services

HEADER = "Idempotency-Key"
# For the document: printable ASCII, no space at either end (HTTP trims it), 1-255 characters.
# The check below also takes other printable characters; no client needs the document to say so.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255,
                          "pattern": "^[!-~](?:[ -~]*[!-~])?$"}


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


async def _current(stored: StoredResponse) -> str:
    """The stored 202 body of an action, its `status` re-read from the call's operation."""
    try:
        body = json.loads(stored.body)
    except ValueError:
        return stored.body
    if not isinstance(body, dict) or not isinstance(body.get("status"), str):
        return stored.body
    call_id, context = body.get("callConnectionId"), body.get("operationContext")
    if not isinstance(call_id, str) or not isinstance(context, str):
        return stored.body
    status = await services().calls.operation_status(GetOperationStatus(call_id, context))
    if status is None or status.value == body["status"]:
        return stored.body  # the call is gone (retention) or nothing changed: the first answer
    return json.dumps({**body, "status": status.value})


def idempotent(handler: Handler, *, refresh_status: bool = False) -> Handler:
    """`refresh_status`: the route answers an action's 202, replayed with the current status."""

    @wraps(handler)
    async def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        key = idempotency_key(req)
        if key is None:
            return await handler(req)
        store = services().idempotency
        fingerprint = _fingerprint(req)
        reservation = await store.begin(key, fingerprint, utc_now())
        if isinstance(reservation, StoredResponse):
            body = await _current(reservation) if refresh_status else reservation.body
            return func.HttpResponse(body, status_code=reservation.status,
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
