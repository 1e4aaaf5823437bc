"""The dependency span of one HTTP request of an Azure SDK client (dependencies.py sends here).

The attributes are those azure-core's DistributedTracingPolicy sets, under the same names:
http.request.method, url.full (query values other than api-version replaced by REDACTED),
server.address, server.port (when the URL names one), user_agent.original,
http.response.status_code, error.type (the status from 400 on, or the exception's type),
http.request.resend_count (from the second try on), az.client_request_id and
az.service_request_id. Like azure-core, a failed status does not set the span's status; an
exception does, described without its text, which can hold a URL with a phone number in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

TRACER_NAME: Final = "callcontrol.azure_sdk"
ALLOWED_QUERY_PARAMETERS: Final = frozenset({"api-version"})
REDACTED: Final = "REDACTED"

_tracer = trace.get_tracer(TRACER_NAME)  # follows the global provider, whenever it is set


def start(http_request: Any, call_attributes: Mapping[str, str] | None) -> Span:
    """Starts the span (under the current one) and puts its traceparent on the request."""
    span = _tracer.start_span(http_request.method, kind=SpanKind.CLIENT,
                              attributes=call_attributes, record_exception=False,
                              set_status_on_exception=False)
    propagate.inject(http_request.headers, context=trace.set_span_in_context(span))
    return span


def end(span: Span, http_request: Any, http_response: Any, retry_count: int | None,
        error: BaseException | None = None) -> None:
    url: str = http_request.url
    attributes: dict[str, Any] = {"http.request.method": http_request.method,
                                  "url.full": sanitized_url(url)}
    address, port = server(origin(url))
    if address:
        attributes["server.address"] = address
    if port:
        attributes["server.port"] = port
    headers = http_request.headers
    if user_agent := headers.get("User-Agent"):
        attributes["user_agent.original"] = user_agent
    if client_request_id := headers.get("x-ms-client-request-id"):
        attributes["az.client_request_id"] = client_request_id
    if retry_count:
        attributes["http.request.resend_count"] = retry_count
    if http_response is not None:
        status = http_response.status_code
        attributes["http.response.status_code"] = status
        if status >= 400:
            attributes["error.type"] = str(status)
        if service_request_id := http_response.headers.get("x-ms-request-id"):
            attributes["az.service_request_id"] = service_request_id
    if error is not None:
        kind = type(error)
        module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
        attributes["error.type"] = f"{module}{kind.__qualname__}"
        span.set_status(Status(StatusCode.ERROR, kind.__name__))
    span.set_attributes(attributes)
    span.end()


def sanitized_url(url: str) -> str:
    """The URL with the values of query parameters other than api-version replaced."""
    base, has_query, rest = url.partition("?")
    if not has_query:
        return url
    query, has_fragment, fragment = rest.partition("#")
    kept = []
    for parameter in query.split("&"):
        name, has_value, _ = parameter.partition("=")
        kept.append(parameter if not has_value or name.lower() in ALLOWED_QUERY_PARAMETERS
                    else f"{name}={REDACTED}")
    return f"{base}?{'&'.join(kept)}{has_fragment}{fragment}"


def origin(url: str) -> str:
    """scheme://host[:port] of an absolute URL (the URL itself when it has no path)."""
    after_scheme = url.find("//")
    path_at = url.find("/", after_scheme + 2) if after_scheme >= 0 else -1
    return url if path_at < 0 else url[:path_at]


@lru_cache(maxsize=64)  # a worker talks to a couple of endpoints
def server(origin_url: str) -> tuple[str | None, int | None]:
    parts = urlsplit(origin_url)
    return parts.hostname, parts.port
