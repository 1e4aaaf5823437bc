"""The callback request body: JSON bytes in, typed callback events out."""

from __future__ import annotations

from callcontrol.domain.events.callbacks import CallbackEvent, parse_callback_events
from handlers.wire.json_body import decode_json


def parse_callback_body(body: bytes) -> list[CallbackEvent]:
    """A JSON array of CloudEvents, all or nothing (InvalidInput names the bad field)."""
    return parse_callback_events(decode_json(body))
