"""`import function_app` is the cold start of every instance: it must not load the SDKs the
composition builds on first use (docs/benchmarks.md, bench/cold_start.py). Checked in a fresh
interpreter, where nothing else has imported them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
# Loaded when the first request builds its client: ACS, Table Storage, the callback tokens'
# keys (PyJWT with cryptography, aiohttp), managed identity, Event Grid, OpenTelemetry.
DEFERRED: Final = ("azure.communication", "azure.data.tables", "azure.core", "azure.identity",
                   "azure.eventgrid", "azure.monitor", "aiohttp", "jwt", "cryptography",
                   "opentelemetry", "callcontrol.adapters.acs_gateway",
                   "callcontrol.adapters.callback_auth", "callcontrol.adapters.store.azure_tables",
                   "callcontrol.adapters.credentials")
PROBE: Final = """
import json, sys
{setup}
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after(setup: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={"PATH": ""}).stdout
    return set(json.loads(out))


def deferred_in(modules: set[str]) -> list[str]:
    return sorted(name for name in DEFERRED
                  if any(m == name or m.startswith(f"{name}.") for m in modules))


def test_importing_the_app_loads_none_of_the_deferred_sdks() -> None:
    assert deferred_in(loaded_after("import function_app")) == []


def test_the_check_can_fail() -> None:
    # The adapters the composition builds on first use load them: what the first request does.
    setup = ("import function_app\n"
             "import callcontrol.adapters.acs_gateway, callcontrol.adapters.callback_auth\n"
             "import callcontrol.adapters.store.azure_tables")
    found = deferred_in(loaded_after(setup))
    assert "azure.communication" in found and "jwt" in found and "azure.data.tables" in found
