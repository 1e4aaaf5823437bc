"""Span attributes are redacted before export, like log records; the per-span work is cached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from callcontrol.adapters.telemetry.span_redaction import (
    RedactingSpanProcessor,
    is_free_text,
    redacted_value,
)

PARTICIPANT_URL = ("http://127.0.0.1:8089/calling/callConnections/c0ffee/participants/"
                   "4%3A%2B14255550123?api-version=2026-03-12")
TABLE_URL = "http://127.0.0.1:10002/callcontrol/calls(PartitionKey='abc',RowKey='call')"


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider, exporter
    finally:
        provider.shutdown()


def finish(provider: TracerProvider, attributes: dict[str, str | int]) -> None:
    provider.get_tracer("t").start_span("GET", kind=SpanKind.CLIENT, attributes=attributes).end()


def only(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1
    return spans[0]


def test_a_raw_id_in_a_request_url_leaves_redacted_and_the_rest_as_it_was(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    finish(provider, {"url.full": PARTICIPANT_URL, "http.response.status_code": 202,
                      "server.address": "127.0.0.1", "callConnectionId": "14255550123",
                      "operationContext": "call +14255550123 back"})
    attributes = dict(only(exporter).attributes or {})
    assert "14255550123" not in attributes["url.full"] and "0123" in attributes["url.full"]
    assert "api-version=2026-03-12" in attributes["url.full"]
    assert "14255550123" not in attributes["operationContext"]
    assert attributes["callConnectionId"] == "14255550123"  # ACS's id: opaque, kept
    assert attributes["http.response.status_code"] == 202
    assert attributes["server.address"] == "127.0.0.1"


def test_a_url_met_again_is_redacted_again_from_the_cache(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    redacted_value.cache_clear()
    for _ in range(3):
        finish(provider, {"url.full": PARTICIPANT_URL})
    assert all("14255550123" not in str((s.attributes or {})["url.full"])
               for s in exporter.get_finished_spans())
    assert redacted_value.cache_info().hits >= 2  # the work was done once


def test_a_span_with_nothing_to_hide_keeps_its_attributes(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    finish(provider, {"url.full": TABLE_URL, "http.request.method": "GET"})
    span = only(exporter)
    assert dict(span.attributes or {}) == {"url.full": TABLE_URL, "http.request.method": "GET"}


def test_only_free_text_attributes_are_redacted() -> None:
    assert is_free_text("url.full") and is_free_text("operationContext")
    assert not is_free_text("callConnectionId")  # an ACS id, even though it could look numeric
    assert not is_free_text("http.request.method") and not is_free_text("server.address")
