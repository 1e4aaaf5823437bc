"""What the app records, whatever records it: spans and the call metrics.

`telemetry()` is the implementation the composition root installed for this process, or the
no-op one. The no-op one costs a function call and imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from typing import Protocol

AttributeValue = str | int | float | bool
Attributes = Mapping[str, AttributeValue]


class CallbackResult(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REFUSED = "refused"  # unauthenticated or malformed: nothing was applied


class ActionOutcome(StrEnum):
    ACCEPTED = "accepted"  # ACS took the request
    REFUSED = "refused"  # ACS (or the call's state) said no for good
    UNAVAILABLE = "unavailable"  # timeout, throttling or 5xx: ACS may or may not have acted


class Span(Protocol):
    def set_attributes(self, attributes: Attributes) -> None: ...

    def fail(self, description: str, attributes: Attributes | None = None) -> None:
        """Mark the span as failed, with what identifies the failure (e.g. the ACS code)."""


class Metrics(Protocol):
    def inbound_decision(self, *, outcome: str, action: str, rule_id: str | None,
                         latency_ms: float) -> None: ...

    def callback(self, result: CallbackResult, *, event_type: str | None = None,
                 latency_ms: float | None = None) -> None: ...

    def action(self, *, kind: str, outcome: ActionOutcome) -> None: ...

    def acs_error(self, *, action: str, status: int | None, code: str | None) -> None: ...

    def unexpected_error(self, *, function: str) -> None:
        """A request that failed with an unexpected error and was answered 500: the host counts
        the invocation as a success (the function returned), so the failures alert reads this."""

    def readiness(self, *, check: str, ok: bool) -> None:
        """One readiness check's outcome in steady state (the reconciler job runs them)."""

    def outbox_backlog(self, *, calls: int) -> None:
        """Calls the outbox sweep found with call events still unpublished."""


class Telemetry(Protocol):
    @property
    def metrics(self) -> Metrics: ...

    def span(self, name: str, attributes: Attributes | None = None) -> AbstractContextManager[Span]:
        """A span, current within the block; an exception escaping the block fails it. When it
        ends it takes the call's identifiers known then."""

    def current_span(self) -> AbstractContextManager[Span]:
        """The span already current (the invocation's), to record on as if it were a new one."""


class _NoSpan:
    def set_attributes(self, attributes: Attributes) -> None:
        pass

    def fail(self, description: str, attributes: Attributes | None = None) -> None:
        pass


class _NoMetrics:
    def inbound_decision(self, *, outcome: str, action: str, rule_id: str | None,
                         latency_ms: float) -> None:
        pass

    def callback(self, result: CallbackResult, *, event_type: str | None = None,
                 latency_ms: float | None = None) -> None:
        pass

    def action(self, *, kind: str, outcome: ActionOutcome) -> None:
        pass

    def acs_error(self, *, action: str, status: int | None, code: str | None) -> None:
        pass

    def unexpected_error(self, *, function: str) -> None:
        pass

    def readiness(self, *, check: str, ok: bool) -> None:
        pass

    def outbox_backlog(self, *, calls: int) -> None:
        pass


_NO_SPAN = _NoSpan()
_NO_SPAN_BLOCK: AbstractContextManager[Span] = nullcontext(_NO_SPAN)  # stateless: one for all


class NoTelemetry:
    """Telemetry off: nothing is recorded."""

    metrics: Metrics = _NoMetrics()

    def span(self, name: str, attributes: Attributes | None = None  # noqa: ARG002
             ) -> AbstractContextManager[Span]:
        return _NO_SPAN_BLOCK

    def current_span(self) -> AbstractContextManager[Span]:
        return _NO_SPAN_BLOCK


_installed: Telemetry = NoTelemetry()
_enabled = False


def install(implementation: Telemetry | None) -> None:
    """Make `implementation` this process's telemetry (None: back to none)."""
    global _installed, _enabled
    _installed = implementation if implementation is not None else NoTelemetry()
    _enabled = implementation is not None


def telemetry() -> Telemetry:
    return _installed


def telemetry_enabled() -> bool:
    return _enabled
