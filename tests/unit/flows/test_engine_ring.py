"""The engine on ring steps: simultaneous races, sequential attempts, cancels, hang-ups, overdue."""

from __future__ import annotations

from datetime import timedelta

from callcontrol.domain.flows import (
    AddParticipant,
    CallConnected,
    CallDisconnected,
    CallerHungUp,
    CancelAddParticipant,
    Flow,
    FlowOutcome,
    HangUp,
    InvitationAnswered,
    InvitationCancelled,
    InvitationFailed,
    ParticipantRemoved,
    RemoveParticipant,
    RingFailure,
    StepOverdue,
    Waiting,
)
from callcontrol.domain.repeatability import for_flow_action
from tests.unit.flows._support import ALICE, BOB, CAROL, HANGUP, NOW, Driver, ask, flow_of, kinds, ring, steps

SIMULTANEOUS = flow_of(steps(ring("ring", ALICE, BOB, CAROL, timeoutSeconds=20, fallback="bye"), HANGUP))
SEQUENTIAL = flow_of(steps(
    ring("ring", ALICE, BOB, CAROL, mode="sequential", onBusy="bye", fallback="ask"),
    ask("ask"), HANGUP,
))


def ringing(flow: Flow = SIMULTANEOUS) -> Driver:
    driver = Driver(flow)
    driver.start()
    driver.apply(CallConnected())
    return driver


def test_an_unanswered_call_is_answered_before_anyone_is_invited() -> None:
    driver = Driver(SIMULTANEOUS)
    actions = driver.start()
    assert kinds(actions) == ["AnswerCall"]
    assert actions[0].context == "flow:run-1:1:ring:1:answer"
    assert actions[0].repeatability_id == for_flow_action("call-1", "flow:run-1:1:ring:1:answer")
    assert driver.run.waiting is Waiting.ANSWER
    invites = driver.apply(CallConnected())
    assert kinds(invites) == ["AddParticipant"] * 3
    assert [a.context for a in invites] == [f"flow:run-1:1:ring:1:add:{i}" for i in range(3)]
    assert all(isinstance(a, AddParticipant) and a.invitation_timeout_seconds == 20 for a in invites)
    assert [a.caller_id for a in invites if isinstance(a, AddParticipant)] == [
        "+18005550100", None, "+18005550199"]
    assert driver.run.deadline == NOW + timedelta(seconds=20 + 15)


def test_an_answered_call_rings_at_once() -> None:
    driver = Driver(SIMULTANEOUS, answered=True)
    assert kinds(driver.start()) == ["AddParticipant"] * 3


def test_first_answer_wins_the_others_are_cancelled_then_the_app_leaves() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    actions = driver.apply(InvitationAnswered(bob))
    assert kinds(actions) == ["CancelAddParticipant", "CancelAddParticipant"]
    assert [a.add_context for a in actions if isinstance(a, CancelAddParticipant)] == [alice, carol]
    assert driver.run.waiting is Waiting.SETTLE and driver.run.winner == bob
    assert driver.apply(InvitationCancelled(alice.replace(":add:", ":cancel:"))) == ()
    leave = driver.apply(InvitationCancelled(carol.replace(":add:", ":cancel:")))
    assert kinds(leave) == ["HangUp"]
    assert isinstance(leave[0], HangUp) and leave[0].for_everyone is False
    assert driver.run.outcome is FlowOutcome.CONNECTED and driver.run.finished


def test_a_second_answer_in_the_race_is_removed_before_the_app_leaves() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    driver.apply(InvitationAnswered(alice))
    race = driver.apply(InvitationAnswered(carol))  # answered before our cancel reached it
    assert kinds(race) == ["RemoveParticipant"]
    assert isinstance(race[0], RemoveParticipant) and race[0].target.raw_id == "4:+14255550103"
    assert race[0].context == carol.replace(":add:", ":remove:")
    assert driver.apply(InvitationAnswered(carol)) == ()  # redelivered: removed once only
    assert driver.apply(InvitationFailed(bob, RingFailure.NO_ANSWER)) == ()  # its own failure settles it
    assert not driver.run.finished  # carol's removal still pending
    assert kinds(driver.apply(ParticipantRemoved(carol.replace(":add:", ":remove:")))) == ["HangUp"]
    assert driver.run.outcome is FlowOutcome.CONNECTED


def test_a_race_answer_redelivered_after_its_removal_is_not_removed_again() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    driver.apply(InvitationAnswered(alice))
    driver.apply(InvitationAnswered(bob))
    driver.apply(ParticipantRemoved(bob.replace(":add:", ":remove:")))
    assert driver.apply(InvitationAnswered(bob)) == ()
    assert kinds(driver.apply(InvitationFailed(carol, RingFailure.NO_ANSWER))) == ["HangUp"]


def test_a_cancel_settled_in_either_order_and_twice_leaves_once() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    driver.apply(InvitationAnswered(alice))
    assert driver.apply(InvitationFailed(bob, RingFailure.FAILED)) == ()  # the cancelled invitation fails
    assert driver.apply(InvitationCancelled(bob.replace(":add:", ":cancel:"))) == ()  # then the cancel
    assert kinds(driver.apply(InvitationCancelled(carol))) == ["HangUp"]  # the add's context works too
    assert driver.apply(InvitationFailed(carol, RingFailure.FAILED)) == ()
    assert kinds(driver.sent).count("HangUp") == 1


def test_nobody_answers_the_last_failure_decides_the_fallback() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    assert driver.apply(InvitationFailed(alice, RingFailure.BUSY)) == ()
    assert driver.apply(InvitationFailed(bob, RingFailure.DECLINED)) == ()
    actions = driver.apply(InvitationFailed(carol, RingFailure.NO_ANSWER))
    assert kinds(actions) == ["HangUp"]  # fallback "bye": a hangup step after the answer
    assert isinstance(actions[0], HangUp) and actions[0].for_everyone is True
    assert actions[0].context == "flow:run-1:2:bye:1:hangup"
    assert [(p.step, p.outcome) for p in driver.run.path] == [("ring", "noAnswer"), ("bye", None)]
    assert driver.run.outcome is FlowOutcome.HUNG_UP


def test_sequential_busy_then_answered() -> None:
    flow = flow_of(steps(ring("ring", ALICE, BOB, mode="sequential", timeoutSeconds=15,
                              fallback="bye"), HANGUP))
    driver = Driver(flow, answered=True)
    first = driver.start()
    assert kinds(first) == ["AddParticipant"] and first[0].context == "flow:run-1:1:ring:1:add:0"
    second = driver.apply(InvitationFailed(first[0].context, RingFailure.BUSY))
    assert kinds(second) == ["AddParticipant"] and second[0].context == "flow:run-1:1:ring:2:add:1"
    assert driver.run.deadline == NOW + timedelta(seconds=15 + 15)
    assert driver.apply(InvitationFailed(first[0].context, RingFailure.BUSY)) == ()  # stale attempt
    leave = driver.apply(InvitationAnswered(second[0].context))
    assert kinds(leave) == ["HangUp"] and leave[0].context == "flow:run-1:1:ring:2:leave"
    assert [(p.attempt, p.outcome) for p in driver.run.path] == [(1, "busy"), (2, "answered")]


def test_sequential_targets_keep_their_own_timeouts() -> None:
    flow = flow_of(steps(ring("ring", {**ALICE, "timeoutSeconds": 5}, BOB, mode="sequential",
                              timeoutSeconds=40), start=None))
    driver = Driver(flow, answered=True)
    first = driver.start()
    second = driver.apply(InvitationFailed(first[0].context, RingFailure.NO_ANSWER))
    timeouts = [a.invitation_timeout_seconds for a in (*first, *second) if isinstance(a, AddParticipant)]
    assert timeouts == [5, 40]


def test_sequential_transition_by_the_last_reason() -> None:
    driver = Driver(SEQUENTIAL, answered=True)
    driver.start()
    for attempt in range(3):
        (context,) = driver.adds()
        reason = RingFailure.BUSY if attempt == 2 else RingFailure.NO_ANSWER
        driver.apply(InvitationFailed(context, reason))
    assert driver.run.step == "bye"  # onBusy
    assert [p.outcome for p in driver.run.path] == ["noAnswer", "noAnswer", "busy", None]


def test_no_next_step_ends_the_call_for_everyone() -> None:
    flow = flow_of(steps(ring("ring", BOB)))
    driver = Driver(flow, answered=True)
    driver.start()
    (context,) = driver.adds()
    actions = driver.apply(InvitationFailed(context, RingFailure.DECLINED))
    assert kinds(actions) == ["HangUp"] and actions[0].context == "flow:run-1:1:ring:1:end"
    assert driver.run.outcome is FlowOutcome.HUNG_UP


def test_caller_hanging_up_while_ringing_cancels_every_invitation() -> None:
    driver = ringing()
    alice, bob, carol = driver.adds()
    driver.apply(InvitationFailed(alice, RingFailure.BUSY))
    actions = driver.apply(CallerHungUp())
    assert kinds(actions) == ["CancelAddParticipant", "CancelAddParticipant", "HangUp"]
    assert [a.add_context for a in actions if isinstance(a, CancelAddParticipant)] == [bob, carol]
    assert driver.run.outcome is FlowOutcome.CALLER_LEFT
    assert driver.apply(CallerHungUp()) == ()
    assert driver.apply(InvitationAnswered(bob)) == ()  # the run is over: nothing more is sent


def test_caller_hanging_up_before_the_answer_sends_nothing() -> None:
    driver = Driver(SIMULTANEOUS)
    driver.start()
    assert driver.apply(CallerHungUp()) == ()
    assert driver.run.outcome is FlowOutcome.CALLER_LEFT


def test_the_call_ending_ends_the_run_without_requests() -> None:
    driver = ringing()
    assert driver.apply(CallDisconnected()) == ()
    assert driver.run.outcome is FlowOutcome.CALL_ENDED


def test_an_overdue_ring_cancels_and_moves_on_then_a_late_answer_finds_the_run_over() -> None:
    driver = ringing()
    _, bob, _ = driver.adds()
    assert driver.apply(StepOverdue(), NOW + timedelta(seconds=34)) == ()  # not yet
    actions = driver.apply(StepOverdue(), NOW + timedelta(seconds=35))
    assert kinds(actions) == ["CancelAddParticipant"] * 3 + ["HangUp"]
    assert driver.run.outcome is FlowOutcome.HUNG_UP
    assert driver.apply(InvitationAnswered(bob)) == ()  # the call ended for everyone


def test_a_late_answer_while_the_flow_goes_on_is_removed_once() -> None:
    flow = flow_of(steps(ring("ring", ALICE, BOB, fallback="ask"), ask("ask"), HANGUP))
    driver = Driver(flow, answered=True)
    driver.start()
    alice, _ = driver.adds()
    driver.apply(StepOverdue(), NOW + timedelta(minutes=5))
    assert driver.run.step == "ask"
    late = driver.apply(InvitationAnswered(alice))
    assert kinds(late) == ["RemoveParticipant"] and late[0].context == alice.replace(":add:", ":remove:")
    assert driver.apply(InvitationAnswered(alice)) == ()


def test_an_overdue_settle_leaves_anyway() -> None:
    driver = ringing()
    alice, _, _ = driver.adds()
    driver.apply(InvitationAnswered(alice))
    leave = driver.apply(StepOverdue(), NOW + timedelta(seconds=30))
    assert kinds(leave) == ["HangUp"] and driver.run.outcome is FlowOutcome.CONNECTED


def test_an_answer_never_confirmed_is_ended_for_everyone() -> None:
    driver = Driver(SIMULTANEOUS)
    driver.start()
    actions = driver.apply(StepOverdue(), NOW + timedelta(seconds=30))
    assert kinds(actions) == ["HangUp"]
    assert isinstance(actions[0], HangUp) and actions[0].for_everyone
    assert actions[0].context == "flow:run-1:1:ring:1:end"
    assert driver.run.outcome is FlowOutcome.FAILED


def test_events_before_the_start_do_nothing() -> None:
    driver = Driver(SIMULTANEOUS)
    assert driver.apply(CallConnected()) == ()
    assert driver.apply(StepOverdue(), NOW + timedelta(days=1)) == ()
    assert kinds(driver.start()) == ["AnswerCall"]
    assert driver.start() == ()  # a redelivered start


def test_an_overdue_sequential_attempt_moves_to_the_next_target() -> None:
    flow = flow_of(steps(ring("ring", ALICE, BOB, mode="sequential", timeoutSeconds=10)))
    driver = Driver(flow, answered=True)
    (first,) = driver.start()
    actions = driver.apply(StepOverdue(), NOW + timedelta(seconds=25))
    assert kinds(actions) == ["CancelAddParticipant", "AddParticipant"]
    assert actions[1].context == "flow:run-1:1:ring:2:add:1"
    assert [(p.attempt, p.outcome) for p in driver.run.path] == [(1, "overdue"), (2, None)]
    assert driver.apply(InvitationFailed(first.context, RingFailure.NO_ANSWER)) == ()  # late, stale
