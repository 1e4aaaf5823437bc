"""Lookup tables for calls, call connections and IncomingCall offers."""

from __future__ import annotations

import base64
import uuid

from emulator.errors import call_not_found
from emulator.models import CallConnection, IncomingCallOffer, ServerCall


def new_server_call_id() -> str:
    """Live serverCallIds are base64 of a conversation URL; mint one of the same form."""
    url = f"https://emulator.invalid/api/v2/cp/emulator/conv/{uuid.uuid4().hex}?i=1"
    return base64.b64encode(url.encode("ascii")).decode("ascii")


class Registry:
    def __init__(self) -> None:
        self.calls: dict[str, ServerCall] = {}
        self.connections: dict[str, CallConnection] = {}
        self.offers: dict[str, IncomingCallOffer] = {}
        # Group and room calls joined through Connect, by their group/room id.
        self.rooms: dict[str, ServerCall] = {}

    def clear(self) -> None:
        self.rooms.clear()
        self.calls.clear()
        self.connections.clear()
        self.offers.clear()

    def new_call(self, correlation_id: str | None = None) -> ServerCall:
        call = ServerCall(new_server_call_id(), correlation_id or str(uuid.uuid4()))
        self.calls[call.server_call_id] = call
        return call

    def add_connection(self, connection: CallConnection) -> None:
        self.connections[connection.call_connection_id] = connection
        connection.call.connection_ids.append(connection.call_connection_id)

    def live_connection(self, call_connection_id: str, target: str | None = None) -> CallConnection:
        """The connection if the app is still in that call; 404/8522 otherwise (as after hang-up)."""
        connection = self.connections.get(call_connection_id)
        if connection is None or not connection.is_live:
            raise call_not_found(target)
        return connection

    def connections_of(self, call: ServerCall) -> list[CallConnection]:
        return [self.connections[cid] for cid in call.connection_ids if self.connections[cid].is_live]
