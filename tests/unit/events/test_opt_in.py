"""Opt-in: without EVENTGRID_TOPIC_ENDPOINT nothing is published, no outbox is kept and azure.eventgrid
is never imported (checked in a fresh interpreter, where no other test imported it first)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import asyncio, json, sys
from tests.support.memory_tables import MemoryTableBackend
from callcontrol.composition import Services, services, use_services
from callcontrol.settings import load_settings
from callcontrol.usecases.callbacks import IngestCallbacks
from tests.unit.events.support import fixture_event
from tests.support.app import http_request, invoke

settings = json.loads(sys.argv[1])
backend = MemoryTableBackend()

async def main():
    with use_services(lambda: Services(load_settings(settings), backend=backend)):
        deps = services()
        await deps.callbacks.ingest(IngestCallbacks((fixture_event("call_connected.json"),)))
        await invoke("run_job", http_request("POST", "jobs/outbox",
                                             route_params={"job": "outbox"}))  # no topic: no-op
        relay = deps.outbox
        if relay is not None:
            await relay.idle()
        [row] = await backend.query("calls")
        print(json.dumps({"eventgrid": "azure.eventgrid" in sys.modules,
                          "relay": relay is not None,
                          "outbox": sorted(k for k in row if k.startswith("Outbox"))}))

asyncio.run(main())
"""


def run(settings: dict[str, str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(settings)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_without_a_topic_nothing_is_imported_kept_or_published() -> None:
    assert run({}) == {"eventgrid": False, "relay": False, "outbox": []}


def test_with_a_topic_the_publisher_is_loaded_and_the_outbox_kept() -> None:
    # The same script tells the difference: an unreachable loopback topic, the event stays pending.
    found = run({"EVENTGRID_TOPIC_ENDPOINT": "http://127.0.0.1:9/api/events",
                 "EVENTGRID_TOPIC_KEY": "local-test-key", "EVENTGRID_PUBLISH_TIMEOUT_SECONDS": "1"})
    assert found == {"eventgrid": True, "relay": True, "outbox": ["Outbox", "OutboxNext", "OutboxState"]}
