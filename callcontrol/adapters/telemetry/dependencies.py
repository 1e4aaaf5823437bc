"""Dependency spans for the Azure SDK clients: one per HTTP request, by azure-core itself.

azure-core's DistributedTracingPolicy (native OpenTelemetry, azure-core 1.33+) makes a CLIENT
span per request, with the method, URL, status and ACS's / Storage's request ids. Switched on
globally (`settings.tracing_enabled`) it also wraps every SDK method in a second, INTERNAL span
that repeats the first; on a busy worker those doubled spans cost more than the 10% this app
allows telemetry (bench/telemetry_bench.py). So the clients are built with this request hook,
which asks the policy for the request's span whenever telemetry is installed, and nothing else.
"""

from __future__ import annotations

from typing import Any

from callcontrol.observability.port import telemetry_enabled


def request_dependency_span(request: Any) -> None:
    """`raw_request_hook` of the SDK clients (runs before the tracing policy, on every try)."""
    if telemetry_enabled():
        request.context.options["tracing_options"] = {"enabled": True}


def client_options() -> dict[str, Any]:
    """Keyword arguments for an Azure SDK client's constructor."""
    return {"raw_request_hook": request_dependency_span}
