"""Lookup tables for calls, call connections and IncomingCall offers.

Ended calls (with their connections and offers) and long-expired offers are forgotten after a
retention period, so a long-running emulator does not keep every call it ever saw.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections import deque

from emulator.acs.models import CallConnection, IncomingCallOffer, ServerCall
from emulator.common.errors import call_not_found


def new_server_call_id() -> str:
    """Live serverCallIds are base64 of a conversation URL; mint one of the same form."""
    url = f"https://emulator.invalid/api/v2/cp/emulator/conv/{uuid.uuid4().hex}?i=1"
    return base64.b64encode(url.encode("ascii")).decode("ascii")


class Registry:
    def __init__(self, retention_seconds: float = 300.0) -> None:
        self.calls: dict[str, ServerCall] = {}
        self.connections: dict[str, CallConnection] = {}
        # Insertion order = creation order, which pruning relies on.
        self.offers: dict[str, IncomingCallOffer] = {}
        # Group and room calls joined through Connect, by their group/room id.
        self.rooms: dict[str, ServerCall] = {}
        self.retention_seconds = retention_seconds
        self._ended: deque[tuple[float, ServerCall]] = deque()

    def clear(self) -> None:
        self.rooms.clear()
        self.calls.clear()
        self.connections.clear()
        self.offers.clear()
        self._ended.clear()

    def new_call(self, correlation_id: str | None = None) -> ServerCall:
        self.prune()
        call = ServerCall(new_server_call_id(), correlation_id or str(uuid.uuid4()))
        self.calls[call.server_call_id] = call
        return call

    def add_connection(self, connection: CallConnection) -> None:
        self.connections[connection.call_connection_id] = connection
        connection.call.connection_ids.append(connection.call_connection_id)

    def add_offer(self, offer: IncomingCallOffer) -> None:
        self.prune()
        self.offers[offer.context] = offer
        offer.call.offer_contexts.append(offer.context)

    def mark_ended(self, call: ServerCall) -> None:
        """The call is over; it stays visible (control API, 404s) for the retention period."""
        if not call.ended:
            call.ended = True
            self._ended.append((time.monotonic(), call))

    def prune(self, now: float | None = None) -> None:
        """Forget calls ended, and offers expired, more than the retention period ago."""
        cutoff = (time.monotonic() if now is None else now) - self.retention_seconds
        while self._ended and self._ended[0][0] <= cutoff:
            self._forget(self._ended.popleft()[1])
        while self.offers:
            oldest = next(iter(self.offers.values()))
            if oldest.expires_at > cutoff:
                break
            del self.offers[oldest.context]

    def _forget(self, call: ServerCall) -> None:
        self.calls.pop(call.server_call_id, None)
        for call_connection_id in call.connection_ids:
            self.connections.pop(call_connection_id, None)
        for context in call.offer_contexts:
            self.offers.pop(context, None)
        for room_id in [room_id for room_id, room in self.rooms.items() if room is call]:
            del self.rooms[room_id]

    def live_connection(self, call_connection_id: str, target: str | None = None) -> CallConnection:
        """The connection if the app is still in that call; 404/8522 otherwise (as after hang-up)."""
        connection = self.connections.get(call_connection_id)
        if connection is None or not connection.is_live:
            raise call_not_found(target)
        return connection

    def connections_of(self, call: ServerCall) -> list[CallConnection]:
        found = (self.connections.get(cid) for cid in call.connection_ids)
        return [connection for connection in found if connection is not None and connection.is_live]
