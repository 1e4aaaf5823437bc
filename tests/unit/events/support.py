"""A recording publisher, callbacks built from the payload fixtures, a store with an outbox."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.events.call_events import CallEvent
from callcontrol.domain.events.callbacks import CallbackEvent, parse_callback_event
from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks
from callcontrol.usecases.outbox import OutboxRelay, PublishFailed
from tests.conftest import load_event
from tests.support.memory_tables import MemoryTableBackend

CALL_ID = load_event("call_connected.json")[0]["data"]["callConnectionId"]
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class RecordingPublisher:
    """Keeps what it accepted, in order; fails while `failing` is set (or for chosen calls)."""

    def __init__(self) -> None:
        self.accepted: list[CallEvent] = []
        self.attempts = 0
        self.failing = False
        self.delay = 0.0

    async def publish(self, events: Sequence[CallEvent]) -> None:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failing:
            raise PublishFailed("503 from the test topic")
        self.accepted.extend(events)

    def types(self) -> list[str]:
        return [e.type for e in self.accepted]


def fixture_event(name: str, **data: Any) -> CallbackEvent:
    raw = copy.deepcopy(load_event(name)[0])
    raw["data"].update(data)
    return parse_callback_event(raw)


def custom_event(event_id: str, event_type: str, **data: Any) -> CallbackEvent:
    return parse_callback_event({
        "id": event_id, "type": f"Microsoft.Communication.{event_type}",
        "source": f"calling/callConnections/{CALL_ID}", "time": NOW.isoformat(),
        "specversion": "1.0", "data": {"callConnectionId": CALL_ID, **data},
    })


class Rig:
    """The callbacks use case over a store with an outbox and a relay, all in memory."""

    def __init__(self, *, settle_after: float = 0.0, backend: TableBackend | None = None
                 ) -> None:
        self.backend: TableBackend = backend or MemoryTableBackend()
        self.publisher = RecordingPublisher()
        self.relay = OutboxRelay(lambda: self.publisher, clock=lambda: NOW, deadline_seconds=0.5,
                                 settle_after_seconds=settle_after)
        self.store = CallStore(self.backend, outbox=self.relay)
        self.relay.attach(self.store)
        self.callbacks = Callbacks(self.store)

    async def ingest(self, *events: CallbackEvent) -> None:
        await self.callbacks.ingest(IngestCallbacks(events))

    async def stored_outbox(self, call: str = CALL_ID) -> list[dict[str, Any]]:
        """The outbox as the row holds it (read straight from the table)."""
        from callcontrol.adapters.store.backend import unpack_json

        [row] = await self.backend.query("calls", row_prefix="call")
        assert row["PartitionKey"] == call
        return list(unpack_json(row, "Outbox") or [])
