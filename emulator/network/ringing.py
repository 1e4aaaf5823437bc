"""Legs ringing on the phone network, which the control API can answer or decline on demand.

Every network callee that rings gets a leg here while it rings, whatever its script says: a
script only decides what happens if nobody acts first (answer or decline after a delay, or
keep ringing until the ring timeout).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.common.identifiers import Identifier
from emulator.network.outcomes import LegOutcome


@dataclass
class RingingLeg:
    leg_id: str
    server_call_id: str
    correlation_id: str
    caller: Identifier | None
    callee: Identifier
    behavior: str
    timeout_seconds: float
    outcome: asyncio.Future[LegOutcome]
    started_at: float = field(default_factory=time.time)
    # Who settled it: "script" or "control" (the timeout settles nothing: the waiter gives up).
    settled_by: str | None = None

    def settle(self, outcome: LegOutcome, by: str) -> bool:
        """First reaction wins: a script, the control API or the timeout."""
        if self.outcome.done():
            return False
        self.outcome.set_result(outcome)
        self.settled_by = by
        return True

    def to_wire(self) -> dict[str, Any]:
        return {
            "legId": self.leg_id,
            "kind": "network",
            "state": "ringing",
            "serverCallId": self.server_call_id,
            "correlationId": self.correlation_id,
            "caller": self.caller.to_wire() if self.caller else None,
            "callee": self.callee.to_wire(),
            "behavior": self.behavior,
            "startedAt": self.started_at,
            "ringsUntil": self.started_at + self.timeout_seconds,
            "actions": ["answer", "decline", "hangup"],
        }


class RingingLegs:
    def __init__(self) -> None:
        self.legs: dict[str, RingingLeg] = {}

    def open(
        self,
        *,
        server_call_id: str,
        correlation_id: str,
        caller: Identifier | None,
        callee: Identifier,
        behavior: str,
        timeout_seconds: float,
    ) -> RingingLeg:
        leg = RingingLeg(
            leg_id=str(uuid.uuid4()),
            server_call_id=server_call_id,
            correlation_id=correlation_id,
            caller=caller,
            callee=callee,
            behavior=behavior,
            timeout_seconds=timeout_seconds,
            outcome=asyncio.get_running_loop().create_future(),
        )
        self.legs[leg.leg_id] = leg
        return leg

    def close(self, leg: RingingLeg) -> None:
        self.legs.pop(leg.leg_id, None)

    def clear(self) -> None:
        for leg in self.legs.values():
            if not leg.outcome.done():
                leg.outcome.cancel()
        self.legs.clear()
