"""The call-control core: domain, use cases, adapters, settings and the composition of them.

Imported by the handlers (use cases, domain values, `callcontrol.composition.services`), by
tests, tools and benchmarks; never by the emulator or devhost. docs/architecture.md has the map.
"""
