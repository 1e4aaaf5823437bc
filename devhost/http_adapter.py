"""HTTP triggers: route the request, check method and key, build `func.HttpRequest`, render the result.

Order of checks, with the host's answers (status only, empty body, no content type): no matching
route -> 404; route matches but not for this method -> 404 as well (the host's routes carry method
constraints; the methods the route allows go to the devhost log instead); wrong or missing key -> 401;
then the function runs. Its exception is a 500 whose body says only that the invocation failed and
under which id (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

from devhost import auth
from devhost.context import InvocationContext
from devhost.indexing import HttpFunction
from devhost.invoker import Invoker
from devhost.routes import decode_segment, split_path
from devhost.settings import HostConfig

logger = logging.getLogger(__name__)

# Set by aiohttp from the body it sends; copying the function's values could only corrupt framing.
_FRAMING_HEADERS: Final = frozenset({"content-length", "transfer-encoding"})


class InvalidResponseError(TypeError):
    """The function returned something the HTTP output binding cannot render."""


class HttpDispatcher:
    def __init__(self, functions: Sequence[HttpFunction], config: HostConfig, invoker: Invoker) -> None:
        # Most specific first; sorted() is stable, so equal precedence keeps registration order.
        self._functions = sorted(functions, key=lambda fn: fn.route.precedence)
        self._prefix = [segment.lower() for segment in split_path(config.route_prefix)]
        self._config = config
        self._invoker = invoker

    async def handle(self, request: web.Request) -> web.StreamResponse:
        segments = split_path(request.rel_url.raw_path)
        head = [decode_segment(segment).lower() for segment in segments[: len(self._prefix)]]
        if head != self._prefix:
            return empty(404)
        candidates = [
            (fn, values)
            for fn in self._functions
            if (values := fn.route.match(segments[len(self._prefix) :])) is not None
        ]
        if not candidates:
            return empty(404)
        chosen = next(((fn, values) for fn, values in candidates if _allows(fn, request.method)), None)
        if chosen is None:
            _log_method_mismatch(request.method, [fn for fn, _ in candidates])
            return empty(404)
        function, route_values = chosen
        key = auth.presented_key(request.headers, request.query)
        if not auth.is_authorized(function.auth_level, key, self._config.keys):
            return empty(401)
        return await self._invoke(function, request, route_values)

    async def _invoke(
        self, function: HttpFunction, request: web.Request, route_values: dict[str, str]
    ) -> web.StreamResponse:
        body = await request.read()
        http_request = build_request(request, body, route_values)
        context = InvocationContext(
            function.name,
            self._config.function_directory,
            request.headers.get("traceparent"),
            request.headers.get("tracestate", ""),
        )
        # The path is left out on purpose: it may hold phone numbers.
        logger.info("Executing %s (%s, invocation %s)", function.name, request.method, context.invocation_id)
        try:
            result = await self._invoker.invoke(function, http_request, context)
            response = render_response(result)
        except Exception:
            logger.exception("Function %s failed (invocation %s)", function.name, context.invocation_id)
            return _plain(500, f"Function {function.name} failed; invocation id {context.invocation_id}")
        logger.info(
            "Executed %s -> %s (invocation %s)", function.name, response.status, context.invocation_id
        )
        return response


def build_request(request: web.Request, body: bytes, route_values: Mapping[str, str]) -> func.HttpRequest:
    """A `func.HttpRequest` as the worker builds it; repeated headers/params are joined with commas."""
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=_joined(request.headers, ", "),
        params=_joined(request.query, ","),
        route_params=dict(route_values),
        body=body,
    )


def render_response(result: Any) -> web.Response:
    """Render what an HTTP function returned, as the worker's HTTP output converter does."""
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(
            status=200, body=result.encode("utf-8"), headers={"Content-Type": "text/plain; charset=utf-8"}
        )
    if not isinstance(result, func.HttpResponse):
        raise InvalidResponseError(
            f"an HTTP function must return func.HttpResponse, str or None, not {type(result).__name__}"
        )
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in result.headers.items():
        if name.lower() not in _FRAMING_HEADERS:
            headers.add(name, value)
    if "Content-Type" not in headers:
        mimetype, charset = result.mimetype, result.charset
        headers["Content-Type"] = (
            f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype
        )
    return web.Response(status=int(result.status_code), body=result.get_body(), headers=headers)


def _allows(function: HttpFunction, method: str) -> bool:
    return function.methods is None or method.upper() in function.methods


def _joined(values: MultiMapping[str], separator: str) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name in values:
        if name not in joined:
            joined[name] = separator.join(values.getall(name))
    return joined


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)


def empty(status: int) -> web.Response:
    """A status with no body and no content type, as the host's NotFound/Unauthorized results."""
    return web.Response(status=status)


def _log_method_mismatch(method: str, functions: Sequence[HttpFunction]) -> None:
    # The request path is left out on purpose (phone numbers); the template says enough.
    allowed = ", ".join(sorted({m for fn in functions for m in fn.methods or ()}))
    templates = " or ".join(sorted({fn.route.text for fn in functions}))
    logger.info("%s matches %s which allows %s; answering 404 like the host", method, templates, allowed)
