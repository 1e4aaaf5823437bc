"""In-memory OpenTelemetry for tests: spans and metrics land in lists the test reads.

The global providers can be set once per process, so one pair serves the whole session;
`recording()` clears them and installs the app's OpenTelemetry port for the block (and with it
the Azure SDKs' dependency spans), and puts everything back after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from callcontrol.adapters.telemetry.otel import OtelTelemetry
from callcontrol.adapters.telemetry.span_redaction import RedactingSpanProcessor
from callcontrol.observability import install


@dataclass
class Recorded:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    points: dict[str, list[Any]] = field(default_factory=dict)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, text: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if text in s.name]

    def collect(self) -> None:
        """Add what was counted since the last collection (deltas) to `points`."""
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    self.points.setdefault(metric.name, []).extend(metric.data.data_points)

    def metric_points(self, name: str) -> list[Any]:
        self.collect()
        return list(self.points.get(name, []))


_session: Recorded | None = None


def _providers() -> Recorded:
    global _session
    if _session is None:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(RedactingSpanProcessor())  # as configure_telemetry does
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(tracer_provider)
        # Deltas: each read holds what was counted since the previous one.
        reader = InMemoryMetricReader(preferred_temporality={
            Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA})
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _session = Recorded(exporter, reader)
    return _session


@contextmanager
def recording() -> Iterator[Recorded]:
    recorded = _providers()
    recorded.exporter.clear()
    recorded.collect()  # drain what earlier tests counted
    recorded.points.clear()
    install(OtelTelemetry())
    try:
        yield recorded
    finally:
        install(None)
