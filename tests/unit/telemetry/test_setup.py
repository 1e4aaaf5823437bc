"""Telemetry is configured once per process from the environment: the distro, OTLP, or nothing.

Each case runs in a fresh interpreter: OpenTelemetry's global providers can be set only once,
and "nothing imported" can only be seen in a process that never imported it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from tools.otlp_sink import Received, serve
from tools.processes import ROOT

# Set in every child so that nothing is ever sent past this machine (statsbeat, control plane).
QUIET_AZURE_MONITOR = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}
TELEMETRY_VARIABLES = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "OTEL_EXPORTER_OTLP_ENDPOINT",
                       "APPLICATIONINSIGHTS_AUTHENTICATION_STRING")


def run_child(code: str, **env: str) -> dict[str, object]:
    """Run `code` in a fresh interpreter; it prints one JSON object as its last line."""
    base = {k: v for k, v in os.environ.items() if k not in TELEMETRY_VARIABLES}
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
        env={**base, **QUIET_AZURE_MONITOR, **env}, timeout=90, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.fixture
def sink() -> Iterator[tuple[str, Received]]:
    received = Received()
    server = serve(0, received)
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()


def test_without_settings_nothing_is_configured_and_nothing_imported() -> None:
    seen = run_child("""
        import json, sys
        import function_app
        from callcontrol.adapters.telemetry import configure_telemetry
        from callcontrol.observability import telemetry
        mode = configure_telemetry()
        loaded = sorted(m for m in sys.modules
                        if m.startswith(("opentelemetry", "azure.monitor", "azure.core.tracing.ext")))
        print(json.dumps({"mode": mode.value, "loaded": loaded,
                          "port": type(telemetry()).__name__}))
    """)
    assert seen == {"mode": "off", "loaded": [], "port": "NoTelemetry"}


def test_otlp_endpoint_sends_traces_metrics_and_logs_to_any_collector(
    sink: tuple[str, Received],
) -> None:
    endpoint, received = sink
    seen = run_child("""
        import json, logging
        from opentelemetry import metrics, trace, _logs
        from callcontrol.adapters.telemetry import configure_telemetry
        from callcontrol.observability import ActionOutcome, invocation_scope, note_call, telemetry
        from callcontrol.observability.port import telemetry_enabled
        logging.getLogger().setLevel(logging.INFO)
        mode = configure_telemetry()
        again = configure_telemetry()
        with invocation_scope(), telemetry().span("callbacks"):
            note_call(call_connection_id="conn-otlp")
            logging.getLogger("callcontrol.test").info("applied CallConnected to +14255550123")
            telemetry().metrics.action(kind="transfer", outcome=ActionOutcome.ACCEPTED)
        trace.get_tracer_provider().force_flush()
        metrics.get_meter_provider().force_flush()
        _logs.get_logger_provider().force_flush()
        print(json.dumps({"mode": mode.value, "again": again.value,
                          "dependency_spans": telemetry_enabled()}))
    """, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
    assert seen == {"mode": "otlp", "again": "otlp", "dependency_spans": True}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (received.spans and received.metrics and received.logs):
        time.sleep(0.05)
    span = next(s for s in received.spans if s.name == "callbacks")
    assert span.attributes["callConnectionId"] == "conn-otlp"
    assert "callcontrol.actions" in received.metrics
    assert any("applied CallConnected" in line for line in received.logs)
    assert not any("14255550123" in line for line in received.logs)  # exported logs redacted too


def test_connection_string_configures_the_azure_monitor_distro(sink: tuple[str, Received]) -> None:
    endpoint, _ = sink
    # A loopback ingestion endpoint: nothing leaves the machine even if something were sent.
    connection = (f"InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                  f"IngestionEndpoint={endpoint}/;LiveEndpoint={endpoint}/")
    seen = run_child("""
        import json, logging
        from azure.core.settings import settings
        from opentelemetry import trace
        from callcontrol.adapters.telemetry import configure_telemetry
        from callcontrol.observability import telemetry
        mode = configure_telemetry()
        handlers = [type(h).__name__ for h in logging.getLogger().handlers]
        filters = {type(f).__name__ for h in logging.getLogger().handlers for f in h.filters}
        print(json.dumps({
            "mode": mode.value,
            "provider": type(trace.get_tracer_provider()).__module__,
            # the SDKs' requests are traced by azure-core's policy, not doubled by the plugin
            "azure_sdk_plugin": settings.tracing_implementation() is not None,
            "port": type(telemetry()).__name__,
            "handlers": handlers, "filters": sorted(filters),
            "sdk_level": logging.getLogger("azure").level,
        }))
    """, APPLICATIONINSIGHTS_CONNECTION_STRING=connection)
    assert seen["mode"] == "azure-monitor"
    assert seen["provider"] == "opentelemetry.sdk.trace"
    assert seen["azure_sdk_plugin"] is False
    assert seen["port"] == "OtelTelemetry"
    assert "LoggingHandler" in seen["handlers"]  # the distro's log exporter ...
    assert seen["filters"] == ["CallContextFilter", "RedactionFilter"]  # ... passes our filters
    assert seen["sdk_level"] == 30


def test_entra_ingestion_uses_the_managed_identity_named_by_the_authentication_string() -> None:
    seen = run_child("""
        import json
        from callcontrol.adapters.telemetry.setup import _ingestion_credential
        aad = {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING":
               "ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD"}
        named = _ingestion_credential(aad, None)
        given = _ingestion_credential(aad, lambda: "the app's credential")
        key_only = _ingestion_credential({}, lambda: "never built")
        print(json.dumps({"named": type(named).__name__, "given": given, "key_only": key_only}))
    """)
    assert seen["named"] == "ManagedIdentityCredential"
    assert seen["given"] == "the app's credential"
    assert seen["key_only"] is None
