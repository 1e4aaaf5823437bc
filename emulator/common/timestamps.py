"""Event times as ACS and Event Grid write them (callbacks, IncomingCall, the topic's logs)."""

from __future__ import annotations

from datetime import UTC, datetime


def timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 with 7 fractional digits and ``+00:00``, as ACS writes ``time``."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 10:07d}+00:00"
