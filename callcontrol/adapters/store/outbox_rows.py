"""The outbox side of the call store, as the relay sees it (usecases/outbox.PendingEvents).

The relay publishes what the writes left in the rows' outboxes and says so (`mark_published`);
published events leave the row with the call's next write, or with a `settle` write when the
call goes quiet. What is never marked stays pending, and the timer re-publishes it
(`calls_with_pending_events`).
"""

from __future__ import annotations

from callcontrol.adapters.store.backend import TableBackend, packed_names, unpack_json
from callcontrol.adapters.store.codec import decode_outbox_event
from callcontrol.adapters.store.outbox import PENDING, OutboxLedger
from callcontrol.adapters.store.record_rows import CALLS_TABLE, VersionedCall
from callcontrol.adapters.store.versions import CallVersions
from callcontrol.domain.events.call_events import CallEvent


class OutboxRows:
    def __init__(self, backend: TableBackend, versions: CallVersions, ledger: OutboxLedger
                 ) -> None:
        self._backend = backend
        self._versions = versions
        self._ledger = ledger

    def mark_published(self, call_connection_id: str, event_ids: set[str]) -> None:
        """The topic accepted these events: drop them from the outbox with the next write."""
        self._ledger.mark_published(call_connection_id, event_ids)

    async def pending_events(self, call_connection_id: str, *, fresh: bool = False
                             ) -> list[CallEvent]:
        """The call's events not yet published, in sequence order; `fresh` reads the row."""
        version = await (self._versions.get(call_connection_id) if fresh
                         else self._versions.get_for_update(call_connection_id))
        if version is None:
            return []
        return self._ledger.unpublished(call_connection_id, version.outbox)

    async def settle(self, call_connection_id: str) -> bool:
        """Write the row without its published events (when no other write did it first).

        Returns whether a write was needed."""

        async def write(current: VersionedCall | None) -> bool:
            if current is None or not self._ledger.holds_published(call_connection_id,
                                                                   current.outbox):
                return False
            await self._versions.save(current.record, current)
            return True

        return await self._versions.guarded(call_connection_id, write, start_from_cache=True)

    async def calls_with_pending_events(self) -> list[str]:
        """Ids of the calls whose rows hold unpublished events (a scan: the timer's path)."""
        entities = await self._backend.query(CALLS_TABLE, equals={"OutboxState": PENDING},
                                             select=packed_names("Outbox"))
        found: list[str] = []
        for entity in entities:
            events = [decode_outbox_event(e) for e in unpack_json(entity, "Outbox") or ()]
            if events and events[0].call_connection_id not in found:
                found.append(events[0].call_connection_id)
        return found
