"""The observability port on OpenTelemetry: spans from the global tracer provider, the
instruments of `metrics`, failures described without what must not leave the process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

from callcontrol.adapters.telemetry.metrics import METER_NAME, OtelMetrics
from callcontrol.observability.context import call_ids
from callcontrol.observability.port import Attributes, Metrics
from callcontrol.observability.port import Span as SpanPort
from callcontrol.redaction import redact

TRACER_NAME: Final = "callcontrol"
_MAX_DESCRIPTION: Final = 300


class _Span:
    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self.failed = False

    def set_attributes(self, attributes: Attributes) -> None:
        self._span.set_attributes(dict(attributes))

    def fail(self, description: str, attributes: Attributes | None = None) -> None:
        self.failed = True
        if attributes:
            self._span.set_attributes(dict(attributes))
        self._span.set_status(Status(StatusCode.ERROR, redact(description)[:_MAX_DESCRIPTION]))


class OtelTelemetry:
    """Spans and metrics through whatever providers are global in this process."""

    def __init__(self) -> None:
        self._tracer = trace.get_tracer(TRACER_NAME)
        self._metrics = OtelMetrics(metrics.get_meter(METER_NAME))

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    def span(self, name: str, attributes: Attributes | None = None) -> AbstractContextManager[SpanPort]:
        return self._span(name, attributes)

    @contextmanager
    def _span(self, name: str, attributes: Attributes | None) -> Iterator[SpanPort]:
        # Every span starts with the call's identifiers known so far.
        # Exceptions are described here, redacted: the SDK's own recording would export the
        # message as it is, phone numbers included.
        ids = call_ids()
        known = {**ids.attributes(), **(attributes or {})} if ids is not None else attributes
        with self._tracer.start_as_current_span(
            name, attributes=dict(known or {}), record_exception=False,
            set_status_on_exception=False,
        ) as span:
            wrapped = _Span(span)
            try:
                yield wrapped
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                if not wrapped.failed:
                    wrapped.fail(f"{type(exc).__name__}: {exc}")
                raise

    def annotate(self, attributes: Attributes) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(dict(attributes))
