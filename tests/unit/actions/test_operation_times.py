"""`requestedAt` is when the app asked, never after the operation's `finishedAt` (issue 24: on a
fast callback, noting ACS's acceptance moved `requestedAt` past the callback's time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from callcontrol.domain.identifiers import Identifier, parse_strict_identifier
from callcontrol.domain.models import (
    AcsCall,
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
)
from callcontrol.domain.state_machine import record_pending
from callcontrol.usecases.calls import CreateCall
from tests.unit.actions.support import ACTIONS, NOW, FakeAcs, Rig

TARGET = parse_strict_identifier({"communicationUserId": "8:acs:times_target"}, "test")


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock one second later at each reading."""
    ticks = iter(range(1_000))
    return lambda: start + timedelta(seconds=next(ticks))


async def test_an_outcome_that_overtakes_the_answer_keeps_the_request_time() -> None:
    rig = Rig()
    await rig.put()
    rig.participants._clock = ticking(NOW)  # the reservation reads it first, the note after
    [add] = [action for action in ACTIONS if action.kind is OperationKind.ADD_PARTICIPANT]

    async def callback_first() -> None:  # the outcome arrives while ACS's answer is in flight
        [op] = await rig.operations()
        await rig.settle(op.context)

    rig.acs.during = callback_first
    await add.run(rig, None, None)
    [op] = await rig.operations()
    assert op.status is OperationStatus.SUCCEEDED
    assert op.requested_at == NOW  # the reservation's, not the note's (NOW + 1 s)


def test_noting_keeps_the_first_request_time() -> None:
    reserved = record_pending(CallRecord("c"), Operation("op", OperationKind.MUTE,
                                                         OperationStatus.PENDING, requested_at=NOW))
    [first] = reserved.operations
    noted = record_pending(reserved, replace(first, requested_at=NOW + timedelta(seconds=1)))
    assert [op.requested_at for op in noted.operations] == [NOW]


class CreatingAcs(FakeAcs):
    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.clock = clock

    async def create_call(
        self, targets: list[Identifier], *, caller_id: str | None, display_name: str | None,
        operation_context: str | None, repeatability_id: str | None = None,
        callback_secret: str | None = None,
    ) -> AcsCall:
        self.clock()  # time passes while ACS answers
        return AcsCall("created-1", "server-1", "correlation-1", CallState.CONNECTING,
                       tuple(targets), None, None, None)


async def test_a_created_calls_connect_is_requested_before_acs_answers() -> None:
    rig = Rig()
    clock = ticking(NOW)
    gateway = CreatingAcs(clock)
    rig.calls._gateway = lambda: gateway
    rig.calls._clock = clock
    record = await rig.calls.create_call(CreateCall((TARGET,)))
    [connect] = record.operations
    assert connect.requested_at == NOW  # read before the request, not after ACS's answer
