"""The simulated phone network: how each remote endpoint reacts when it is called."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from emulator.identifiers import Identifier


class Behavior(StrEnum):
    ANSWER = "answer"
    DECLINE = "decline"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class LegOutcome:
    """How an attempt to reach one endpoint ended, with the resultInformation ACS would send."""

    answered: bool
    code: int
    sub_code: int
    message: str

    def result(self) -> dict[str, Any]:
        return {"code": self.code, "subCode": self.sub_code, "message": self.message}


# Call-end codes from the contract §8; which pair ACS uses per scenario is an inference there.
ANSWERED = LegOutcome(True, 200, 0, "Action completed successfully.")
DECLINED = LegOutcome(False, 603, 0, "Call declined by the remote party.")
BUSY = LegOutcome(False, 486, 560486, "The callee is busy.")
NOT_ANSWERED = LegOutcome(False, 487, 10004, "The call was not answered in time.")
UNREACHABLE = LegOutcome(False, 480, 10037, "The callee is not reachable.")
CANCELED = LegOutcome(False, 487, 0, "The call was canceled by the caller.")
FORBIDDEN = LegOutcome(False, 403, 0, "The call was rejected.")

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

    def behavior_for(self, identifier: Identifier) -> EndpointBehavior:
        return self.behaviors.get(identifier.raw_id, EndpointBehavior())

    def is_resource_number(self, identifier: Identifier) -> bool:
        return identifier.is_phone and identifier.phone_number in self.resource_numbers

    async def ring(self, identifier: Identifier, timeout_seconds: float) -> LegOutcome:
        """Ring a remote endpoint and wait for it to react as scripted."""
        rule = self.behavior_for(identifier)
        if rule.behavior is Behavior.NO_ANSWER or rule.delay_seconds >= timeout_seconds:
            await asyncio.sleep(timeout_seconds)
            return NOT_ANSWERED
        await asyncio.sleep(rule.delay_seconds)
        return _FAILURES.get(rule.behavior, ANSWERED)
