"""The call ending while invitations ring: ACS may end them (AddParticipantFailed, a "canceled"
result) before CallDisconnected. Either order ends the run as the call's end, never through the
ring's fallback; our own cancels' 487 keeps settling them as before."""

from __future__ import annotations

import pytest

from callcontrol.domain.events.callbacks import parse_callback_event
from callcontrol.domain.flows import (
    CallDisconnected,
    CancelAddParticipant,
    FlowOutcome,
    HangUp,
    InvitationAnswered,
    InvitationFailed,
    RingFailure,
)
from callcontrol.domain.flows.from_callback import flow_event
from callcontrol.domain.flows.outcomes import ended_by_call
from tests.unit.flows._support import ALICE, BOB, CAROL, HANGUP, Driver, flow_of, kinds, ring, steps
from tests.unit.flows.test_engine_ring import ringing

SEQUENTIAL = flow_of(steps(ring("ring", ALICE, BOB, CAROL, mode="sequential", fallback="bye"), HANGUP))


@pytest.mark.parametrize(("code", "sub_code", "ended"), [
    (487, 0, True), (487, 540487, True), (None, 8542, True), (404, 8543, True),
    (487, 10004, False), (486, 560486, False), (603, 0, False), (480, 10037, False), (None, None, False),
])
def test_which_results_say_the_call_went_away(code: int | None, sub_code: int | None, ended: bool) -> None:
    assert ended_by_call(code, sub_code) is ended


def test_the_callback_carries_the_reading() -> None:
    driver = ringing()
    alice, _, _ = driver.adds()

    def failed(code: int, sub_code: int) -> InvitationFailed:
        event = parse_callback_event({
            "id": "e-1", "type": "Microsoft.Communication.AddParticipantFailed",
            "data": {"callConnectionId": "conn-1", "operationContext": alice,
                     "resultInformation": {"code": code, "subCode": sub_code, "message": "x"}}})
        found = flow_event(event, driver.run)
        assert isinstance(found, InvitationFailed)
        return found

    assert failed(487, 0) == InvitationFailed(alice, RingFailure.FAILED, call_ended=True)
    assert failed(487, 10004) == InvitationFailed(alice, RingFailure.NO_ANSWER, call_ended=False)


def test_an_invitation_ended_with_the_call_ends_the_run_not_the_ring() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    actions = driver.apply(InvitationFailed(alice, RingFailure.FAILED, call_ended=True))
    assert kinds(actions) == ["CancelAddParticipant", "CancelAddParticipant", "HangUp"]
    assert [a.add_context for a in actions if isinstance(a, CancelAddParticipant)] == [bob, carol]
    assert isinstance(actions[-1], HangUp) and actions[-1].for_everyone is True
    assert driver.run.outcome is FlowOutcome.CALL_ENDED
    assert [(p.step, p.outcome) for p in driver.run.path] == [("ring", "callEnded")]  # no "bye"
    # Then the rest, in any order and twice: nothing more.
    for event in (CallDisconnected(), InvitationFailed(bob, RingFailure.FAILED, call_ended=True),
                  InvitationFailed(alice, RingFailure.FAILED, call_ended=True), InvitationAnswered(carol)):
        assert driver.apply(event) == ()
    assert driver.run.outcome is FlowOutcome.CALL_ENDED


def test_either_order_gives_the_same_outcome() -> None:
    first = ringing()
    alice, _, _ = first.adds()
    first.apply(CallDisconnected())
    assert first.apply(InvitationFailed(alice, RingFailure.FAILED, call_ended=True)) == ()
    second = ringing()
    second.apply(InvitationFailed(alice, RingFailure.FAILED, call_ended=True))
    second.apply(CallDisconnected())
    assert first.run.outcome is second.run.outcome is FlowOutcome.CALL_ENDED
    assert [p.step for p in first.run.path] == [p.step for p in second.run.path] == ["ring"]


def test_a_sequential_hunt_does_not_try_the_next_target() -> None:
    driver = Driver(SEQUENTIAL, answered=True)
    (first,) = driver.start()
    actions = driver.apply(InvitationFailed(first.context, RingFailure.FAILED, call_ended=True))
    assert kinds(actions) == ["HangUp"]  # the end, not attempt 2's AddParticipant
    assert driver.run.outcome is FlowOutcome.CALL_ENDED


def test_our_own_cancels_487_still_settles_the_race() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    driver.apply(InvitationAnswered(alice))  # bob and carol are being cancelled
    assert driver.apply(InvitationFailed(bob, RingFailure.FAILED, call_ended=True)) == ()
    leave = driver.apply(InvitationFailed(carol, RingFailure.FAILED, call_ended=True))
    assert kinds(leave) == ["HangUp"] and isinstance(leave[0], HangUp) and leave[0].for_everyone is False
    assert driver.run.outcome is FlowOutcome.CONNECTED
