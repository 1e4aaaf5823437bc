"""The simulated phone network: how each remote endpoint reacts when it is called."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from emulator.common.identifiers import Identifier
from emulator.network.journal import NetworkJournal
from emulator.network.outcomes import (
    ANSWERED,
    BUSY,
    DECLINED,
    NOT_ANSWERED,
    UNREACHABLE,
    LegOutcome,
    outcome_name,
)
from emulator.network.ringing import RingingLegs


class CallIds(Protocol):
    """What the network needs of the call a leg belongs to (ACS's ServerCall has it): the ids its
    journal and ringing legs are filed under."""

    @property
    def server_call_id(self) -> str: ...

    @property
    def correlation_id(self) -> str: ...


class Behavior(StrEnum):
    ANSWER = "answer"
    DECLINE = "decline"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    UNREACHABLE = "unreachable"
    # Keep ringing until the control API answers or declines the leg, or the ring times out.
    RING = "ring"


_FAILURES = {
    Behavior.DECLINE: DECLINED,
    Behavior.BUSY: BUSY,
    Behavior.UNREACHABLE: UNREACHABLE,
}


@dataclass(frozen=True)
class EndpointBehavior:
    behavior: Behavior = Behavior.ANSWER
    delay_seconds: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        return {"behavior": self.behavior.value, "delaySeconds": self.delay_seconds}


class PhoneNetwork:
    def __init__(self, resource_numbers: frozenset[str] = frozenset()) -> None:
        self.behaviors: dict[str, EndpointBehavior] = {}
        self.resource_numbers: set[str] = set(resource_numbers)
        # What an endpoint without a script does when it rings.
        self.unscripted = EndpointBehavior()
        self.ringing = RingingLegs()
        self.journal = NetworkJournal()

    def behavior_for(self, identifier: Identifier) -> EndpointBehavior:
        return self.behaviors.get(identifier.raw_id, self.unscripted)

    def is_resource_number(self, identifier: Identifier) -> bool:
        return identifier.is_phone and identifier.phone_number in self.resource_numbers

    async def ring(
        self,
        identifier: Identifier,
        timeout_seconds: float,
        call: CallIds | None = None,
        caller: Identifier | None = None,
    ) -> LegOutcome:
        """Ring a remote endpoint until it reacts: as scripted, on demand, or not in time."""
        rule = self.behavior_for(identifier)
        server_call_id = call.server_call_id if call else ""
        correlation_id = call.correlation_id if call else ""
        leg = self.ringing.open(
            server_call_id=server_call_id,
            correlation_id=correlation_id,
            caller=caller,
            callee=identifier,
            behavior=rule.behavior.value,
            timeout_seconds=timeout_seconds,
        )
        ids = {"server_call_id": server_call_id, "correlation_id": correlation_id}
        self.journal.record("ringing", party=identifier, other=caller, legId=leg.leg_id, **ids)
        scripted = None
        if rule.behavior not in (Behavior.NO_ANSWER, Behavior.RING) and rule.delay_seconds < timeout_seconds:
            reaction = _FAILURES.get(rule.behavior, ANSWERED)
            scripted = asyncio.get_running_loop().call_later(
                rule.delay_seconds, leg.settle, reaction, "script"
            )
        try:
            outcome = await asyncio.wait_for(asyncio.shield(leg.outcome), timeout_seconds)
        except TimeoutError:
            outcome, leg.settled_by = NOT_ANSWERED, "timeout"
        except asyncio.CancelledError:
            self.journal.record("canceled", party=identifier, other=caller, legId=leg.leg_id, **ids)
            raise
        finally:
            if scripted is not None:
                scripted.cancel()
            self.ringing.close(leg)
        self.journal.record(
            outcome_name(outcome),
            party=identifier,
            other=caller,
            legId=leg.leg_id,
            by=leg.settled_by,
            result=outcome.result(),
            **ids,
        )
        return outcome
