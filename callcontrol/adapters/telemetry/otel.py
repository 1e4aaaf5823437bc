"""The observability port on OpenTelemetry: spans from the global tracer provider, the
instruments of `metrics`, failures described without what must not leave the process."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Final

from opentelemetry import context, metrics, trace
from opentelemetry.trace import Status, StatusCode

from callcontrol.adapters.telemetry.metrics import METER_NAME, OtelMetrics
from callcontrol.domain.redaction import redact
from callcontrol.observability.context import call_ids
from callcontrol.observability.port import Attributes, AttributeValue, Metrics
from callcontrol.observability.port import Span as SpanPort

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


class _SpanBlock:
    """The span current within the block. Exceptions are described here, redacted: the SDK's
    own recording would export the message as it is, phone numbers included."""

    __slots__ = ("_attributes", "_name", "_span", "_token", "_tracer", "_wrapped")

    def __init__(self, tracer: trace.Tracer, name: str, attributes: dict[str, AttributeValue]) -> None:
        self._tracer = tracer
        self._name = name
        self._attributes = attributes

    def __enter__(self) -> SpanPort:
        self._span = self._tracer.start_span(self._name, attributes=self._attributes,
                                             record_exception=False, set_status_on_exception=False)
        self._token = context.attach(trace.set_span_in_context(self._span))
        self._wrapped = _Span(self._span)
        return self._wrapped

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            ids = call_ids()  # all that was learnt about the call meanwhile, in one call
            if ids is not None and (known := ids.attributes()):
                self._span.set_attributes(known)
            if error is not None and kind is not None:
                self._span.set_attribute("error.type", kind.__qualname__)
                if not self._wrapped.failed:
                    self._wrapped.fail(f"{kind.__name__}: {error}")
        finally:
            context.detach(self._token)
            self._span.end()


class OtelTelemetry:
    """Spans and metrics through whatever providers are global in this process."""

    def __init__(self) -> None:
        self._tracer = trace.get_tracer(TRACER_NAME)
        self._metrics = OtelMetrics(metrics.get_meter(METER_NAME))

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    def span(self, name: str, attributes: Attributes | None = None) -> AbstractContextManager[SpanPort]:
        return _SpanBlock(self._tracer, name, dict(attributes or {}))

    def current_span(self) -> AbstractContextManager[SpanPort]:
        return nullcontext(_Span(trace.get_current_span()))

