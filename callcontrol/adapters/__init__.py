"""Adapters: the only code that imports Azure SDKs and OpenTelemetry; built by the composition root."""
