"""Dependency spans: one CLIENT span per try of an Azure SDK request, made by our pipeline policy
with azure-core's attributes, the traceparent on the wire, the call's ids, and never a second
span from azure-core's own policy. Driven through a real azure-core pipeline; the transport is a
stub that answers from a script (the Azurite-backed test is in tests/integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline import AsyncPipeline
from azure.core.pipeline.policies import AsyncRetryPolicy, DistributedTracingPolicy, UserAgentPolicy
from azure.core.pipeline.transport import AsyncHttpResponse, AsyncHttpTransport
from azure.core.rest import HttpRequest
from azure.core.settings import settings
from opentelemetry.trace import SpanKind, StatusCode

from callcontrol.adapters.telemetry.dependencies import DependencySpanPolicy, add_after_retry
from callcontrol.adapters.telemetry.request_spans import origin, sanitized_url
from callcontrol.observability.context import invocation_scope, note_call
from callcontrol.observability.port import telemetry
from tests.support.telemetry import Recorded, recording

URL = "http://127.0.0.1:8089/calling/callConnections/c0ffee:answer?api-version=2026-03-12"


class Reply(AsyncHttpResponse):
    def __init__(self, request: Any, status: int, headers: dict[str, str]) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.headers = headers
        self.reason = "scripted"

    def body(self) -> bytes:
        return b"{}"


class ScriptedTransport(AsyncHttpTransport):
    """Answers each send with the next of `script`: a status code, or an exception to raise."""

    def __init__(self, script: list[int | Exception]) -> None:
        self.script = list(script)
        self.sent: list[Any] = []

    async def send(self, request: Any, **kwargs: Any) -> Reply:
        self.sent.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return Reply(request, step, {"x-ms-request-id": f"service-{len(self.sent)}"})

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> ScriptedTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


def pipeline(transport: ScriptedTransport) -> AsyncPipeline[Any, Any]:
    policies: list[Any] = [UserAgentPolicy(sdk_moniker="test/1.0"),
                           AsyncRetryPolicy(retry_total=2, retry_backoff_factor=0),
                           DistributedTracingPolicy()]
    assert add_after_retry(policies)
    return AsyncPipeline(transport, policies)


async def send(transport: ScriptedTransport, url: str = URL, method: str = "POST") -> Any:
    request = HttpRequest(method, url, headers={"x-ms-client-request-id": "client-1"})
    async with pipeline(transport) as running:
        return await running.run(request)


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    with recording() as spans:
        yield spans


def clients(recorded: Recorded) -> list[Any]:
    return [s for s in recorded.spans() if s.kind is SpanKind.CLIENT]


async def test_a_request_is_one_client_span_with_azure_cores_attributes(recorded: Recorded) -> None:
    transport = ScriptedTransport([200])
    await send(transport)

    [span] = clients(recorded)
    assert span.name == "POST"
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "url.full": URL,  # api-version is the one query value kept
        "server.address": "127.0.0.1",
        "server.port": 8089,
        "user_agent.original": transport.sent[0].headers["User-Agent"],
        "az.client_request_id": "client-1",
        "az.service_request_id": "service-1",
        "http.response.status_code": 200,
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_the_request_carries_the_spans_traceparent(recorded: Recorded) -> None:
    transport = ScriptedTransport([200])
    with telemetry().span("invocation"):
        await send(transport)

    [span] = clients(recorded)
    [invocation] = recorded.named("invocation")
    context = span.context
    assert transport.sent[0].headers["traceparent"] == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}")
    assert span.parent is not None and span.parent.span_id == invocation.context.span_id


async def test_the_span_starts_with_the_ids_of_the_call_in_hand(recorded: Recorded) -> None:
    with invocation_scope():
        note_call(call_connection_id="c0ffee", correlation_id="corr-1", server_call_id="srv-1")
        await send(ScriptedTransport([200]))

    attributes = dict(clients(recorded)[0].attributes or {})
    assert attributes["callConnectionId"] == "c0ffee"
    assert attributes["correlationId"] == "corr-1"
    assert attributes["serverCallId"] == "srv-1"


async def test_every_try_is_a_span_and_a_failed_status_is_its_error_type(recorded: Recorded) -> None:
    await send(ScriptedTransport([503, 200]))

    first, second = sorted(clients(recorded), key=lambda s: s.start_time or 0)
    assert dict(first.attributes or {})["error.type"] == "503"
    assert dict(first.attributes or {})["http.response.status_code"] == 503
    assert "http.request.resend_count" not in dict(first.attributes or {})
    assert dict(second.attributes or {})["http.request.resend_count"] == 1
    assert "error.type" not in dict(second.attributes or {})


async def test_a_transport_failure_ends_the_span_as_an_error_without_its_text(recorded: Recorded) -> None:
    failure = ServiceRequestError("cannot reach http://x/participants/4%3A%2B14255550123")
    with pytest.raises(ServiceRequestError):
        await send(ScriptedTransport([failure, failure, failure]), method="GET")  # GET: retried

    spans = clients(recorded)
    assert len(spans) == 3  # the first try and two retries, each ended
    for span in spans:
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "ServiceRequestError"
        assert dict(span.attributes or {})["error.type"] == "azure.core.exceptions.ServiceRequestError"
        assert "http.response.status_code" not in dict(span.attributes or {})


async def test_azure_cores_policy_stays_out_even_with_sdk_tracing_on(recorded: Recorded) -> None:
    settings.tracing_enabled = True
    try:
        await send(ScriptedTransport([200]))
    finally:
        settings.tracing_enabled.unset_value()

    assert len(clients(recorded)) == 1


async def test_no_span_and_no_traceparent_while_telemetry_is_off() -> None:
    with recording() as recorded:
        pass  # installed, then uninstalled: the providers exist, the app's telemetry is off
    transport = ScriptedTransport([200])
    await send(transport)

    assert clients(recorded) == []
    assert "traceparent" not in transport.sent[0].headers


def test_query_values_other_than_api_version_are_replaced() -> None:
    assert sanitized_url("http://h/t()?$filter=PartitionKey%20eq%20'4%3A%2B1425'&api-version=1&$top=5"
                         ) == "http://h/t()?$filter=REDACTED&api-version=1&$top=REDACTED"
    assert sanitized_url("http://h/t?flag&API-Version=2#frag") == "http://h/t?flag&API-Version=2#frag"
    assert sanitized_url("http://h/t") == "http://h/t"


def test_origin_is_scheme_host_and_port() -> None:
    assert origin("https://acct.table.core.windows.net/calls()") == "https://acct.table.core.windows.net"
    assert origin("http://127.0.0.1:10002") == "http://127.0.0.1:10002"


def test_the_policy_goes_after_the_retry_policy_once() -> None:
    retry = AsyncRetryPolicy()
    tracing = DistributedTracingPolicy()
    policies: list[Any] = [UserAgentPolicy(), retry, tracing]
    assert add_after_retry(policies) and add_after_retry(policies)
    assert [type(p) for p in policies] == [UserAgentPolicy, AsyncRetryPolicy, DependencySpanPolicy,
                                           DistributedTracingPolicy]
    without_retry: list[Any] = [UserAgentPolicy()]
    assert not add_after_retry(without_retry) and len(without_retry) == 1


async def test_a_request_cancelled_by_a_deadline_still_ends_its_span(recorded: Recorded) -> None:
    class Stalling(ScriptedTransport):
        async def send(self, request: Any, **kwargs: Any) -> Reply:
            await asyncio.sleep(30)
            raise AssertionError("the deadline should have cancelled the request")

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await send(Stalling([]))

    [span] = clients(recorded)
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "asyncio.exceptions.CancelledError"
