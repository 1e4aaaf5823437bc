"""Adapters: the ACS gateway (official SDK), the Table Storage stores,
callback authentication (JWT), telemetry setup (OpenTelemetry, the logging layer). The only
code that imports Azure SDKs, aiohttp, jwt or OpenTelemetry.

Imported only by the composition root (callcontrol/composition/), tests, tools and
benchmarks; never by the domain, the use cases or the handlers (checked by import-linter).
"""
