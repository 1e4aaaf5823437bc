"""Configure OpenTelemetry once per worker process, from the environment.

- APPLICATIONINSIGHTS_CONNECTION_STRING set: Microsoft's distro (`configure_azure_monitor`), with
  the app's identity when APPLICATIONINSIGHTS_AUTHENTICATION_STRING (the setting the Functions
  host reads for the same purpose) asks for Entra: ingestion is Entra-only in Azure.
- else OTEL_EXPORTER_OTLP_ENDPOINT set: the OpenTelemetry SDK with the OTLP/HTTP exporters for
  traces, metrics and logs; the standard OTEL_* variables configure them, so any collector works.
- neither: nothing is configured and nothing of OpenTelemetry is imported.

In both cases the app's port gets the OpenTelemetry implementation, and with it every ACS and
Table Storage request becomes a dependency span under the invocation's span (azure-core's
tracing policy, asked per request: see dependencies.py). Log filters are attached afterwards
(`configure_logging`), so the exporting handler passes them too.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Final

from callcontrol.adapters.telemetry.logs import configure_logging
from callcontrol.observability.port import install
from callcontrol.settings import OTEL_EXPORTER_OTLP_ENDPOINT

APPLICATIONINSIGHTS_CONNECTION_STRING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
APPLICATIONINSIGHTS_AUTHENTICATION_STRING: Final = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
DEFAULT_SERVICE_NAME: Final = "call-control"
OTEL_METRICS_EXEMPLAR_FILTER: Final = "OTEL_METRICS_EXEMPLAR_FILTER"

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_configured: TelemetryMode | None = None


class TelemetryMode(StrEnum):
    AZURE_MONITOR = "azure-monitor"
    OTLP = "otlp"
    OFF = "off"


def telemetry_mode(environ: Mapping[str, str]) -> TelemetryMode:
    if (environ.get(APPLICATIONINSIGHTS_CONNECTION_STRING) or "").strip():
        return TelemetryMode.AZURE_MONITOR
    if (environ.get(OTEL_EXPORTER_OTLP_ENDPOINT) or "").strip():
        return TelemetryMode.OTLP
    return TelemetryMode.OFF


def configure_telemetry(
    environ: Mapping[str, str] | None = None, *,
    ingestion_credential: Callable[[], Any] | None = None,
) -> TelemetryMode:
    """Configure this process's telemetry and logging once; later calls return the first mode.

    `ingestion_credential` builds the token credential for Entra-only ingestion (the composition
    root passes the app's identity); it is called only when the distro is configured and
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for Entra (`Authorization=AAD`).
    """
    global _configured
    if _configured is not None:  # every invocation asks: answer without the lock
        return _configured
    with _lock:
        if _configured is not None:
            return _configured
        env = os.environ if environ is None else environ
        mode = telemetry_mode(env)
        if mode is not TelemetryMode.OFF:
            # Exemplars cost every measurement a trace lookup and Azure Monitor drops them;
            # an explicit OTEL_METRICS_EXEMPLAR_FILTER still wins.
            os.environ.setdefault(OTEL_METRICS_EXEMPLAR_FILTER, "always_off")
        if mode is TelemetryMode.AZURE_MONITOR:
            _azure_monitor(env, ingestion_credential)
        elif mode is TelemetryMode.OTLP:
            _otlp(env)
        if mode is not TelemetryMode.OFF:
            from callcontrol.adapters.telemetry.otel import OtelTelemetry

            install(OtelTelemetry())
        configure_logging(env)
        _configured = mode
    logger.info("telemetry: %s", mode.value)
    return mode


def _resource(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.resources import Resource

    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win when set.
    given = {} if environ.get(OTEL_SERVICE_NAME) else {"service.name": DEFAULT_SERVICE_NAME}
    return Resource.create(given)


def _azure_monitor(environ: Mapping[str, str], build_credential: Callable[[], Any] | None) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    from callcontrol.adapters.telemetry.span_redaction import RedactingSpanProcessor

    configure_azure_monitor(
        connection_string=environ[APPLICATIONINSIGHTS_CONNECTION_STRING],
        credential=_ingestion_credential(environ, build_credential),
        resource=_resource(environ),
        span_processors=[RedactingSpanProcessor()],  # before the exporting one
        # Only urllib (the callback signing keys). The Azure SDKs' requests are traced by
        # azure-core's own policy, per request (adapters/telemetry/dependencies.py), not by the
        # distro's azure_sdk plugin, which would double each of them with a method span.
        instrumentation_options={name: {"enabled": False} for name in (
            "azure_sdk", "django", "fastapi", "flask", "psycopg2", "requests", "urllib3", "httpx")},
    )


def _ingestion_credential(environ: Mapping[str, str], build: Callable[[], Any] | None) -> Any:
    """None (instrumentation key only) unless APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for
    Entra (AAD); then the given credential, else the managed identity that string names."""
    raw = environ.get(APPLICATIONINSIGHTS_AUTHENTICATION_STRING) or ""
    parts = dict(p.split("=", 1) for p in raw.split(";") if "=" in p)
    if parts.get("Authorization", "").upper() != "AAD":
        return None
    if build is not None:
        return build()
    from azure.identity import ManagedIdentityCredential

    client_id = parts.get("ClientId") or None
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()


def _otlp(environ: Mapping[str, str]) -> None:
    from opentelemetry import metrics, trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from callcontrol.adapters.telemetry.span_redaction import RedactingSpanProcessor

    resource = _resource(environ)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(RedactingSpanProcessor())  # before the exporting one
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
