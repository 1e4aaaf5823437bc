"""Telemetry setup for one worker process: OpenTelemetry the Azure way, or OTLP, or nothing.

`configure_telemetry` runs once per process from the composition root; `configure_logging`
makes every log record carry the call's identifiers, pass the one redaction filter and keeps
the Azure SDKs quiet. Nothing of OpenTelemetry is imported unless telemetry is configured.
"""

from callcontrol.adapters.telemetry.logs import configure_logging
from callcontrol.adapters.telemetry.setup import TelemetryMode, configure_telemetry

__all__ = ["TelemetryMode", "configure_logging", "configure_telemetry"]
