"""What happened on the phone network side of each call, in order (for timelines and tests).

The request log shows what the app asked of ACS and the callback log what ACS told the app;
this journal holds the rest: who dialled, which legs rang, who answered, declined or hung up,
and when a call ended.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from emulator.common.identifiers import Identifier


class NetworkJournal:
    def __init__(self, max_entries: int = 5000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

    def record(
        self,
        kind: str,
        *,
        server_call_id: str,
        correlation_id: str,
        party: Identifier | None = None,
        other: Identifier | None = None,
        **details: Any,
    ) -> None:
        """`party` acted (or was acted upon); `other` is who it dialled or was dialled by."""
        entry: dict[str, Any] = {
            "time": time.time(),
            "kind": kind,
            "serverCallId": server_call_id,
            "correlationId": correlation_id,
            "party": party.to_wire() if party else None,
            "other": other.to_wire() if other else None,
        }
        entry.update({key: value for key, value in details.items() if value is not None})
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()
