"""Reading stored calls in tests, the way the old service did: one place for the helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.errors import NotFound
from callcontrol.domain.events.callbacks import CallbackEvent
from callcontrol.domain.models import CallRecord, StoredEvent
from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks, IngestResult


class StoredCalls:
    """A call store seen through the callbacks use case (one per simulated instance)."""

    def __init__(self, store: CallStore) -> None:
        self.store = store
        self.callbacks = Callbacks(store)

    async def ingest_callbacks(self, events: Sequence[CallbackEvent]) -> IngestResult:
        return await self.callbacks.ingest(IngestCallbacks(tuple(events)))

    async def stored(self, call_connection_id: str) -> CallRecord:
        record = await self.store.find(call_connection_id)
        if record is None:
            raise NotFound(f"no call {call_connection_id} is known")
        return record

    async def list_calls(self, **filters: Any) -> list[CallRecord]:
        return await self.store.list_calls(**filters)

    async def call_events(self, call_connection_id: str) -> list[StoredEvent]:
        await self.stored(call_connection_id)
        return await self.store.events(call_connection_id)
