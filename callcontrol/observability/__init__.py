"""Observability port: the call's identifiers in context, spans and metrics.

Use cases and handlers record through this package only; the composition root installs the
OpenTelemetry-backed implementation (callcontrol.adapters.telemetry) when telemetry is
configured. Until then every call here is a no-op and nothing outside the standard library is
imported. Anything in the app may import this package; it imports nothing of the app.
"""

from callcontrol.observability.context import (
    CallIds,
    bind_call,
    call_ids,
    invocation_scope,
    note_call,
    use_case,
)
from callcontrol.observability.port import (
    ActionOutcome,
    CallbackResult,
    Metrics,
    Span,
    Telemetry,
    install,
    telemetry,
)

__all__ = [
    "ActionOutcome",
    "CallIds",
    "CallbackResult",
    "Metrics",
    "Span",
    "Telemetry",
    "bind_call",
    "call_ids",
    "install",
    "invocation_scope",
    "note_call",
    "telemetry",
    "use_case",
]
