"""HTTP rendering shared by the handlers: JSON bodies, problem+json, and the one error map.

Every domain error class maps to a status here and nowhere else. Anything unexpected is logged
with its stack trace and answered with a generic 500 problem: no trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from functools import wraps
from types import MappingProxyType
from typing import Any, TypeVar

import azure.functions as func

from callcontrol.domain import errors
from callcontrol.domain.opaque_ids import check_opaque_id
from callcontrol.domain.redaction import redact
from callcontrol.observability import invocation_scope, note_call, telemetry
from handlers._services import observe
from handlers.wire.json_body import decode_json

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024

# One status per error class, looked up along the exception's MRO: the most specific class
# listed wins, whatever the order here (ConcurrencyConflict is a StoreError, yet a 409).
STATUS_BY_ERROR: Mapping[type[errors.CallControlError], int] = MappingProxyType({
    errors.CallControlError: 500,
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PreconditionRequired: 428,
    errors.PayloadTooLarge: 413,
    errors.AcsUnavailable: 503,
    errors.SettingError: 500,
    errors.StoreError: 503,
    errors.ConcurrencyConflict: 409,
})


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def problem(
    status: int, title: str, detail: str, *, extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    body.update(extra or {})
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype=PROBLEM, charset="utf-8", headers=headers
    )


# ACS refusing the app's own credentials is the app's failure, never the client's 401/403.
_ACS_CREDENTIAL_STATUSES = (401, 403)


def _acs_refused_credentials(error: errors.CallControlError) -> bool:
    return (isinstance(error, errors.AcsRejected)
            and error.info.status in _ACS_CREDENTIAL_STATUSES)


def status_for(error: errors.CallControlError) -> int:
    if isinstance(error, errors.AcsRejected):
        if _acs_refused_credentials(error) or not 400 <= error.info.status < 500:
            return 502
        return error.info.status
    for cls in type(error).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


def error_response(error: errors.CallControlError) -> func.HttpResponse:
    status = status_for(error)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    # A 400's detail restates the client's own input, as errors[] does, so it is not redacted
    # (that turned the example "+14255550123" into "+…0123"); other details may quote ACS.
    detail = (error.public_detail if isinstance(error, errors.InvalidInput)
              else redact(error.public_detail))
    if isinstance(error, errors.InvalidInput) and error.problems:
        extra["errors"] = [{"field": p.field, "reason": p.reason} for p in error.problems]
    if _acs_refused_credentials(error):
        detail = "ACS refused this app's credentials; the operator must check its ACS access"
    elif isinstance(error, errors.AcsRejected):
        extra["acsCode"] = error.info.code
    if isinstance(error, errors.AcsUnavailable | errors.StoreError) and status == 503:
        headers["Retry-After"] = str(error.retry_after_seconds)
    if status >= 500:
        logger.error("request failed: %s", redact(error.detail))
    return problem(status, error.title, detail, extra=extra, headers=headers or None)


Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]


def http_endpoint(handler: Handler) -> Handler:
    """Wrap an HTTP handler: one span per invocation, with the call's ids from the route and
    from the use case; domain errors become problems, the unexpected a bare 500."""
    name = handler.__name__

    @wraps(handler)
    async def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        observe()
        with invocation_scope(), telemetry().span(name) as span:
            note_call(call_connection_id=req.route_params.get("callConnectionId"))
            response = await respond(req)
            span.set_attributes({"http.response.status_code": response.status_code})
            if response.status_code >= 500:
                span.fail(f"HTTP {response.status_code}")
            return response

    async def respond(req: func.HttpRequest) -> func.HttpResponse:
        try:
            check_path_ids(req)
            return await handler(req)
        except errors.CallControlError as error:
            return error_response(error)
        except Exception:
            logger.exception("unhandled error in %s", name)
            telemetry().metrics.unexpected_error(function=name)  # the failures alert reads it
            return problem(500, "Internal error", "the request could not be completed")

    return wrapper


# Route values that are opaque ACS ids; a rawId is checked by the identifier parser.
OPAQUE_ROUTE_PARAMS = ("callConnectionId", "invitationId")


def check_path_ids(req: func.HttpRequest) -> None:
    """Refuse odd ids in the path before anything uses them as a key or an ACS path segment."""
    for name in OPAQUE_ROUTE_PARAMS:
        if name in req.route_params:
            check_opaque_id(req.route_params[name], f"path.{name}")


def read_body(req: func.HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    body = req.get_body()
    if len(body) > limit:
        raise errors.PayloadTooLarge(f"request body exceeds {limit} bytes")
    return body


def read_json(req: func.HttpRequest, *, required: bool = True) -> Any:
    body = read_body(req)
    if not body.strip():
        if required:
            raise errors.InvalidInput(
                "a JSON body is required", [errors.FieldProblem("body", "is empty")]
            )
        return None
    return decode_json(body)


def read_optional_object(req: func.HttpRequest) -> dict[str, Any]:
    """An optional JSON object body: absent is `{}`; present, it must be an object (not null,
    not an array)."""
    body = read_body(req)
    if not body.strip():
        return {}
    payload = decode_json(body)
    if not isinstance(payload, dict):
        raise errors.InvalidInput("the body, when given, must be a JSON object",
                                  [errors.FieldProblem("body", "must be a JSON object")])
    return payload


E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: str | None, name: str) -> E | None:
    """An optional query parameter that must be one of an enum's values."""
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise errors.InvalidInput(
            f"{name} must be one of {allowed}", [errors.FieldProblem(name, f"one of {allowed}")]
        ) from None
