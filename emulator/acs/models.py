"""In-memory state: server calls, the app's call connections, pending IncomingCall offers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from emulator.acs.mediaqueue import MediaQueue
from emulator.common.identifiers import Identifier


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    TRANSFERRING = "transferring"
    TRANSFER_ACCEPTED = "transferAccepted"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


ACTIVE_STATES = frozenset({ConnectionState.CONNECTED})
LIVE_STATES = frozenset(
    {
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
        ConnectionState.TRANSFERRING,
        ConnectionState.TRANSFER_ACCEPTED,
    }
)


@dataclass
class Participant:
    identifier: Identifier
    is_muted: bool = False
    is_on_hold: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier.to_wire(),
            "isMuted": self.is_muted,
            "isOnHold": self.is_on_hold,
        }


@dataclass
class ServerCall:
    """One call on the (simulated) network; the app may hold several connections to it."""

    server_call_id: str
    correlation_id: str
    participants: dict[str, Participant] = field(default_factory=dict)
    connection_ids: list[str] = field(default_factory=list)
    # incomingCallContexts of the offers raised for this call (forgotten with it).
    offer_contexts: list[str] = field(default_factory=list)
    ended: bool = False

    def add(self, identifier: Identifier) -> Participant:
        participant = self.participants.get(identifier.raw_id)
        if participant is None:
            participant = Participant(identifier)
            self.participants[identifier.raw_id] = participant
        return participant

    def remove(self, identifier: Identifier) -> bool:
        return self.participants.pop(identifier.raw_id, None) is not None

    def roster(self) -> list[dict[str, Any]]:
        return [participant.to_wire() for participant in self.participants.values()]


@dataclass
class Invitation:
    """A pending add-participant operation."""

    invitation_id: str
    target: Identifier
    operation_context: str | None
    callback_uri: str | None
    task: asyncio.Task[None] | None = None
    done: bool = False
    cancelled: bool = False


@dataclass
class CallConnection:
    """The app's leg on a server call, addressed by callConnectionId."""

    call_connection_id: str
    call: ServerCall
    callback_uri: str
    api_version: str
    # The identity through which the app is in the call (answered target or create source).
    app_identity: Identifier
    source: Identifier
    targets: list[Identifier]
    direction: str
    state: ConnectionState = ConnectionState.CONNECTING
    operation_context: str | None = None
    source_caller_id: str | None = None
    source_display_name: str | None = None
    answered_by: Identifier | None = None
    # callIntelligenceOptions.cognitiveServicesEndpoint: the AI resource text prompts need.
    cognitive_services_endpoint: str | None = None
    sequence_number: int = 0
    invitations: dict[str, Invitation] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    # Outbound calls: the task ringing the targets, cancelled when the app hangs up first.
    dialing: asyncio.Task[None] | None = None
    # Play and recognize requests, run one at a time (mediaqueue.py).
    media: MediaQueue = field(default_factory=MediaQueue)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    def next_sequence_number(self) -> int:
        self.sequence_number += 1
        return self.sequence_number


@dataclass
class IncomingCallOffer:
    """An IncomingCall published to Event Grid, answerable once through its context."""

    context: str
    event_id: str
    call: ServerCall
    caller: Identifier
    callee: Identifier
    caller_display_name: str
    custom_context: dict[str, Any]
    expires_at: float
    # Set when the offer is one leg of a call the app itself placed (add/transfer/create to a
    # number of this resource): it learns the outcome of the app's answer/reject/redirect.
    outcome: asyncio.Future[Any] | None = None
    consumed_by: str | None = None
    created_at: float = field(default_factory=time.time)

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) >= self.expires_at
