"""Dependency spans for the Azure SDK clients: one per HTTP request, by azure-core itself.

azure-core's DistributedTracingPolicy (native OpenTelemetry, azure-core 1.33+) makes a CLIENT
span per request, with the method, URL, status and ACS's / Storage's request ids. Switched on
globally (`settings.tracing_enabled`) it also wraps every SDK method in a second, INTERNAL span
that repeats the first; on a busy worker those doubled spans cost more than the 10% this app
allows telemetry (bench/telemetry_bench.py). So the clients are built with this request hook,
which asks the policy for the request's span whenever telemetry is installed, and nothing else.
The span starts with the identifiers of the call known when the request is sent (the same
mapping for every request until the invocation learns more), so a dependency can be found by
the call's correlationId on its own.
"""

from __future__ import annotations

from typing import Any

from callcontrol.observability.context import call_ids
from callcontrol.observability.port import telemetry_enabled


def request_dependency_span(request: Any) -> None:
    """`raw_request_hook` of the SDK clients (runs before the tracing policy, on every try)."""
    if telemetry_enabled():
        ids = call_ids()
        known = ids.attributes() if ids is not None else None
        request.context.options["tracing_options"] = (
            {"enabled": True, "attributes": known} if known else {"enabled": True})


def client_options() -> dict[str, Any]:
    """Keyword arguments for an Azure SDK client's constructor."""
    return {"raw_request_hook": request_dependency_span}
