"""The call row's outbox: the events a change announced, kept in the row until published.

Three properties of the record's row (record_rows.py writes them with the record, in the same
guarded write): "Outbox" (packed JSON, one entry per event in the codec's outbox format),
"OutboxNext" (the sequence number the call's next event gets) and "OutboxState" ("pending"
while events wait: what the timer's scan looks for; absent otherwise).

`OutboxLedger` decides what each write puts there: the events the change announces (asked of
the `CallEventsOutbox` the store is given), minus what the topic already accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Final

from callcontrol.adapters.store.codec import encode_outbox_event
from callcontrol.domain.events.call_events import CallEvent, Cause
from callcontrol.domain.models import CallRecord
from callcontrol.usecases.ports import CallEventsOutbox

OUTBOX_BUDGET_CHARS: Final = 120_000  # past it, the oldest pending events shed their snapshot
PENDING: Final = "pending"  # the row's OutboxState while events wait to be published


@dataclass(frozen=True)
class Outbox:
    """The call's events not yet known to be published, oldest first."""

    events: tuple[CallEvent, ...] = ()
    next_sequence: int = 1


class OutboxLedger:
    """What this process knows of the calls' outboxes beyond their rows: the events the topic
    accepted (they leave the row with the call's next write), and where changes are announced
    (no `CallEventsOutbox`: no events, and the rows' outboxes only shrink)."""

    def __init__(self, outbox: CallEventsOutbox | None) -> None:
        self._outbox = outbox
        self._published: dict[str, set[str]] = {}  # per call: published, still in the row

    def next_outbox(self, before: CallRecord | None, after: CallRecord, old: Outbox,
                    cause: Cause) -> Outbox:
        """The outbox to write with `after`: `old` minus what was published, plus the events
        of this change, numbered on from the old sequence."""
        published = self._published.get(after.call_connection_id, set())
        kept = tuple(e for e in old.events if e.id not in published)
        if self._outbox is None:
            return Outbox(kept, old.next_sequence)
        pending = {e.id for e in kept}
        new = [e for e in self._outbox.announce(before, after, cause) if e.id not in pending]
        numbered = tuple(replace(e, sequence=old.next_sequence + i) for i, e in enumerate(new))
        return Outbox(kept + numbered, old.next_sequence + len(numbered))

    def written(self, call_connection_id: str, outbox: Outbox) -> None:
        """After a write: forget published ids the row no longer holds; say what is pending."""
        published = self._published.get(call_connection_id)
        if published is not None:
            published.intersection_update(e.id for e in outbox.events)
            if not published:
                del self._published[call_connection_id]
        if self._outbox is not None and len(outbox.events) > len(published or ()):
            self._outbox.pending(call_connection_id)

    def mark_published(self, call_connection_id: str, event_ids: set[str]) -> None:
        self._published.setdefault(call_connection_id, set()).update(event_ids)

    def unpublished(self, call_connection_id: str, outbox: Outbox) -> list[CallEvent]:
        """The outbox's events not yet published, in sequence order."""
        published = self._published.get(call_connection_id, set())
        return sorted((e for e in outbox.events if e.id not in published), key=lambda e: e.sequence)

    def holds_published(self, call_connection_id: str, outbox: Outbox) -> bool:
        """Whether the row still carries events the topic accepted (a settle write drops them)."""
        published = self._published.get(call_connection_id, set())
        return any(e.id in published for e in outbox.events)


def stored_outbox(events: tuple[CallEvent, ...]) -> list[dict[str, Any]]:
    """The outbox as stored: every pending event kept, however long the topic is down; past
    OUTBOX_BUDGET_CHARS the oldest give up their state snapshot ("call") and change details,
    so the row stays within its size (type, ids and cause always remain)."""
    encoded = [encode_outbox_event(e) for e in events]
    total = sum(_size(e) for e in encoded)
    for entry in encoded:
        if total <= OUTBOX_BUDGET_CHARS:
            break
        data = entry["data"]
        if data.get("truncated"):
            continue
        before = _size(entry)
        change = data.get("change") or {}
        entry["data"] = {**data, "call": None, "change": {"type": change.get("type")},
                         "truncated": True}
        total += _size(entry) - before
    return encoded


def _size(entry: dict[str, Any]) -> int:
    return len(json.dumps(entry, separators=(",", ":")))
