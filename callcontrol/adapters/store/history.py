"""A call's event history: the newest events inline in the record's row, older ones spilled.

A callback's event joins the row's `Inline` events in the record's own write, and its id joins
`Seen`, by which a redelivery is recognised before anything is written. When the inline events
grow past `SPILL_AT` (or their budget), they move to rows "event|<id>" in one entity-group
transaction with the record (rare: once per 90 events).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from callcontrol.adapters.store.backend import (
    Entity,
    EntityExists,
    TableBackend,
    pack_json,
    safe_key,
    unpack_json,
)
from callcontrol.adapters.store.codec import decode_event, encode_event
from callcontrol.adapters.store.record_rows import CALLS_TABLE, History, is_record_row
from callcontrol.domain.models import StoredEvent

EVENT_PREFIX = "event|"
SPILL_AT = 90  # inline events before they move to rows (a transaction holds at most 100 writes)
INLINE_BUDGET_CHARS = 100_000  # ~200 KB of inline events; large rosters spill sooner
MAX_REMEMBERED_IDS = 2_000  # ~160 KB of ids; an older redelivery is re-applied harmlessly


class DuplicateEvent(EntityExists):
    """The event is already in the call's history."""


def with_event(history: History, event: StoredEvent
               ) -> tuple[History, tuple[dict[str, Any], ...]]:
    """The history once `event` joins it, and the inline events to spill to rows with this
    write (none, usually).

    Raises:
        DuplicateEvent: the event was applied before.
    """
    if event.event_id in history.seen:
        raise DuplicateEvent(f"event {event.event_id} already recorded")
    seen = (*history.seen, event.event_id)[-MAX_REMEMBERED_IDS:]
    stored = encode_event(event)
    inline = (*history.inline, stored)
    chars = history.inline_chars + _size(stored)
    if len(inline) < SPILL_AT and chars <= INLINE_BUDGET_CHARS:
        return History(inline, seen, chars), ()
    return History((), seen), inline


def event_row(call_connection_id: str, stored: dict[str, Any]) -> Entity:
    """The row a spilled event is kept in, in the call's partition."""
    return {
        "PartitionKey": safe_key(call_connection_id),
        "RowKey": EVENT_PREFIX + safe_key(str(stored["id"])),
        **pack_json("Event", stored),
    }


async def read_history(backend: TableBackend, call_connection_id: str) -> list[StoredEvent]:
    """The whole history, oldest first: the spilled rows and the record's inline events."""
    partition = safe_key(call_connection_id)
    entities = await backend.query(CALLS_TABLE, partition=partition)
    by_id: dict[str, StoredEvent] = {}
    for entity in entities:
        if is_record_row(str(entity["RowKey"])):
            for stored in unpack_json(entity, "Inline") or ():
                event = decode_event(call_connection_id, stored)
                by_id[event.event_id] = event
        elif str(entity["RowKey"]).startswith(EVENT_PREFIX):
            event = decode_event(call_connection_id, unpack_json(entity, "Event"))
            by_id.setdefault(event.event_id, event)
    return sorted(by_id.values(), key=_event_order)


def _size(stored: dict[str, Any]) -> int:
    return len(json.dumps(stored, separators=(",", ":")))


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _event_order(event: StoredEvent) -> tuple[str, int, str]:
    # Oldest first by the time ACS stamped; ParticipantsUpdated ties break by sequence.
    sequence = event.data.get("sequenceNumber")
    return (
        _iso(event.time or event.received_at),
        sequence if isinstance(sequence, int) else 0,
        event.event_id,
    )
