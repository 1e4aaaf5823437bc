"""Cross-cutting handling of every /calling request, in the order ACS would apply it:
request log → HMAC auth → injected faults → repeatability → the operation → ACS headers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from emulator.acs import auth
from emulator.acs.faults import ResponseFault
from emulator.acs.repeatability import StoredResponse
from emulator.acs.requestlog import LoggedRequest
from emulator.common.errors import AcsError, invalid_argument, unauthorized
from emulator.common.httputil import CORRELATION_KEY, error_response, json_response
from emulator.services import Services

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICES_KEY = web.AppKey("services", Services)
SUPPORTED_VERSIONS = "2023-03-06, 2023-10-15, 2024-04-15, 2024-09-15, 2025-05-15, 2025-06-15, 2026-03-12"
UNSIGNED_PATHS = ("/calling/keys", "/calling/.well-known/")
_UNSTORED_STATUSES = frozenset({408, 429})
CHAIN_ID_HEADER = "X-Microsoft-Skype-Chain-ID"


def operation_of(request: web.Request) -> str:
    route = request.match_info.route
    return route.name or f"{request.method} {request.path}"


@web.middleware
async def calling_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/calling/") or request.path.startswith(UNSIGNED_PATHS):
        return await handler(request)
    services = request.app[SERVICES_KEY]
    operation = operation_of(request)
    entry = LoggedRequest(
        request.method, request.path, request.raw_path, operation, request.query, request.headers
    )
    services.request_log.append(entry)
    fault_note: str | None = None
    response: web.StreamResponse
    try:
        body = await request.read()
        _authenticate(services, request, body)
        entry.body = body
        fault = services.faults.take(operation)
        if fault is not None:
            fault_note = _describe(fault)
            if fault.latency_seconds > 0:
                await asyncio.sleep(fault.latency_seconds)
            if fault.status is not None:
                return _finish(request, _fault_response(fault), entry, fault_note)
        response = await _with_repeatability(services, request, handler)
    except AcsError as error:
        response = error_response(error)
    except web.HTTPException as exc:
        if exc.status == 404:
            response = error_response(AcsError(404, "NotFound", "Resource not found."))
        elif exc.status == 405:
            response = error_response(AcsError(405, "8520", "Method not allowed."))
        else:
            raise
    except Exception:
        # A bug in the emulator, not a client mistake: still answer in ACS's envelope.
        logger.exception("emulator failed on %s %s", request.method, operation_of(request))
        response = error_response(AcsError(500, "InternalServerError", "The emulator failed."))
    return _finish(request, response, entry, fault_note)


def _authenticate(services: Services, request: web.Request, body: bytes) -> None:
    signed = auth.SignedRequest(
        method=request.method,
        path_and_query=request.raw_path,
        host=request.headers.get("Host", ""),
        date=request.headers.get("x-ms-date"),
        content_hash=request.headers.get("x-ms-content-sha256"),
        authorization=request.headers.get("Authorization"),
        body=body,
    )
    reason = auth.verify(
        services.config.access_key,
        signed,
        max_clock_skew_seconds=services.config.max_clock_skew_seconds,
    )
    if reason is not None:
        raise unauthorized(reason)


async def _with_repeatability(
    services: Services, request: web.Request, handler: Handler
) -> web.StreamResponse:
    request_id = request.headers.get("Repeatability-Request-ID")
    if request.method != "POST" or not request_id:
        return await handler(request)
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise invalid_argument("The Repeatability-Request-ID header must be a UUID.") from None
    while True:
        first = services.repeatability.claim(request_id)
        if first is None:
            break
        stored = await asyncio.shield(first)
        if stored is not None:
            replay = web.Response(body=stored.body or None, status=stored.status)
            for name, value in stored.headers:
                replay.headers[name] = value
            return replay
    try:
        response = await handler(request)
    except AcsError as error:
        response = error_response(error)
    except BaseException:
        services.repeatability.complete(request_id, None)
        raise
    response.headers["Repeatability-Result"] = "accepted"
    # A replay answers with the first response's chain id, so store the response with it.
    response.headers.setdefault(CHAIN_ID_HEADER, _chain_id(request))
    storable = response.status < 500 and response.status not in _UNSTORED_STATUSES
    if storable and isinstance(response, web.Response):
        body = response.body if isinstance(response.body, bytes) else b""
        headers = tuple(
            (name, value) for name, value in response.headers.items() if name.lower() != "content-length"
        )
        stored_response = StoredResponse(response.status, body, headers)
        services.repeatability.complete(request_id, stored_response)
    else:
        services.repeatability.complete(request_id, None)
    return response


def _finish(
    request: web.Request,
    response: web.StreamResponse,
    entry: LoggedRequest,
    fault_note: str | None,
) -> web.StreamResponse:
    response.headers.setdefault(CHAIN_ID_HEADER, _chain_id(request))
    response.headers["api-supported-versions"] = SUPPORTED_VERSIONS
    client_request_id = request.headers.get("x-ms-client-request-id")
    if client_request_id:
        response.headers["x-ms-client-request-id"] = client_request_id
    entry.finish(response.status, fault_note, request.get(CORRELATION_KEY))
    return response


def _chain_id(request: web.Request) -> str:
    """The call's correlationId; a random one when the request touched no call."""
    return request.get(CORRELATION_KEY) or str(uuid.uuid4())


def _fault_response(fault: ResponseFault) -> web.Response:
    status = fault.status or 500
    headers: dict[str, str] = {}
    if status == 429:
        headers["Retry-After"] = _format_seconds(fault.retry_after_seconds or 1)
        code, message = fault.error_code or "8516", "Too many requests."
    else:
        code, message = fault.error_code or str(status), "Injected service failure."
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _describe(fault: ResponseFault) -> str:
    if fault.status is not None:
        return f"status {fault.status}"
    return f"latency {fault.latency_seconds}s"
