"""The call row's outbox: the events a change announced, kept in the row until published.

Three properties of the row "call" (callcontrol/adapters/store/calls.py writes them with the
record, in the same guarded write): "Outbox" (packed JSON, one entry per event in the codec's
outbox format), "OutboxNext" (the sequence number the call's next event gets) and
"OutboxState" ("pending" while events wait: what the timer's scan looks for; absent otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from callcontrol.adapters.store.codec import encode_outbox_event
from callcontrol.domain.announcements import CallEvent

OUTBOX_BUDGET_CHARS: Final = 120_000  # past it, the oldest pending events shed their snapshot
PENDING: Final = "pending"  # the row's OutboxState while events wait to be published


@dataclass(frozen=True)
class Outbox:
    """The call's events not yet known to be published, oldest first."""

    events: tuple[CallEvent, ...] = ()
    next_sequence: int = 1



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
