"""The engine on play and menu steps: answer first, prompt, keys → choice, retries, deadlines."""

from __future__ import annotations

from datetime import timedelta

from callcontrol.domain.flows import (
    AnswerCall,
    CallConnected,
    CallDisconnected,
    CallerHungUp,
    FlowOutcome,
    StepOverdue,
    Waiting,
)
from callcontrol.domain.flows.actions import AddParticipant, CancelMedia, HangUp, PlayMedia, RecognizeDtmf
from callcontrol.domain.flows.media_events import DigitsPressed, PromptFailed, PromptPlayed, RecognizeEnded
from callcontrol.domain.flows.model import MenuStep
from callcontrol.domain.flows.prompts import MenuFailure, PromptKind
from callcontrol.domain.flows.turn import MEDIA_GRACE, PROMPT_ALLOWANCE
from callcontrol.domain.models import CallRecord, CallState, Operation, OperationKind, OperationStatus
from callcontrol.domain.reconciliation import OperationLimits, settle_overdue
from tests.unit.flows._support import FACTS, HANGUP, NOW, Driver, flow_of, kinds, steps
from tests.unit.flows.menu_support import SORRY, WAV, menu, play, targets

IVR = flow_of(steps(
    play(next="main", onFailed="main"), menu(), targets("sales"), targets("support"), targets("operator"),
    HANGUP))
PLAY = "flow:run-1:1:welcome:1:play"


def at_menu() -> tuple[Driver, RecognizeDtmf]:
    driver = Driver(IVR, answered=True)
    driver.start()
    (recognize,) = driver.apply(PromptPlayed(PLAY))
    assert isinstance(recognize, RecognizeDtmf)
    return driver, recognize


def test_an_unanswered_call_is_answered_before_the_prompt_plays() -> None:
    driver = Driver(IVR)
    (answer,) = driver.start()
    assert isinstance(answer, AnswerCall) and driver.run.waiting is Waiting.ANSWER
    (played,) = driver.apply(CallConnected())
    assert isinstance(played, PlayMedia) and played.context == PLAY
    assert played.prompt.kind is PromptKind.FILE and played.prompt.value == WAV
    assert driver.run.waiting is Waiting.PLAY
    assert driver.run.deadline == NOW + PROMPT_ALLOWANCE + MEDIA_GRACE


def test_the_menu_listens_to_the_caller_with_its_prompt_and_timeouts() -> None:
    driver, recognize = at_menu()
    assert recognize.context == "flow:run-1:2:main:1:recognize"
    assert recognize.target == FACTS.caller and recognize.prompt.value == WAV
    assert (recognize.max_tones, recognize.initial_silence_seconds, recognize.inter_tone_seconds) == (1, 5, 3)
    assert driver.run.deadline == NOW + PROMPT_ALLOWANCE + timedelta(seconds=5 + 3) + MEDIA_GRACE


def test_pressing_1_rings_sales_and_the_path_shows_the_choice_not_the_key() -> None:
    driver, recognize = at_menu()
    (add,) = driver.apply(DigitsPressed(recognize.context, "1"))
    assert isinstance(add, AddParticipant) and add.context.startswith("flow:run-1:3:sales:1:add")
    assert [(p.step, p.attempt, p.outcome) for p in driver.run.path] == [
        ("welcome", 1, "played"), ("main", 1, "choice:sales"), ("sales", 1, None)]


def test_a_redelivered_recognize_completed_advances_once() -> None:
    driver, recognize = at_menu()
    driver.apply(DigitsPressed(recognize.context, "2"))
    before = driver.run
    assert driver.apply(DigitsPressed(recognize.context, "2")) == ()
    assert driver.apply(DigitsPressed(recognize.context, "1")) == ()  # nor another key on it
    assert driver.run == before


def test_invalid_key_then_reprompt_then_no_input_then_the_no_input_step() -> None:
    flow = flow_of(steps(menu(retries=1, noInput="operator", invalidInput="support"), targets("sales"),
                         targets("support"), targets("operator"), HANGUP))
    driver = Driver(flow, answered=True)
    (first,) = driver.start()
    assert isinstance(first, RecognizeDtmf)
    (second,) = driver.apply(DigitsPressed(first.context, "7"))
    assert isinstance(second, RecognizeDtmf) and second.context == "flow:run-1:1:main:2:recognize"
    assert second.prompt.value == SORRY  # the reprompt
    assert driver.apply(DigitsPressed(first.context, "1")) == ()  # the first attempt's, late: stale
    (add,) = driver.apply(RecognizeEnded(second.context, MenuFailure.NO_INPUT))
    assert isinstance(add, AddParticipant) and ":operator:" in add.context
    assert [(p.step, p.attempt, p.outcome) for p in driver.run.path] == [
        ("main", 1, "invalid"), ("main", 2, "noInput"), ("operator", 1, None)]


def test_without_a_reprompt_the_prompt_plays_again_and_no_tones_count_as_no_input() -> None:
    flow = flow_of(steps(menu(reprompt=None, retries=1), targets("sales"), targets("support"),
                         targets("operator"), HANGUP))
    assert isinstance(flow.steps[0], MenuStep) and flow.steps[0].reprompt is None
    driver = Driver(flow, answered=True)
    (first,) = driver.start()
    (second,) = driver.apply(DigitsPressed(first.context, ""))
    assert isinstance(second, RecognizeDtmf) and second.prompt.value == WAV
    assert driver.run.path[0].outcome == "noInput"


def test_retries_exhausted_on_invalid_input_take_invalid_input_then_fallback_then_end() -> None:
    no_route = flow_of(steps(menu(retries=0, invalidInput=None, fallback=None, noInput=None),
                             targets("sales"), targets("support"), HANGUP))
    driver = Driver(no_route, answered=True)
    (first,) = driver.start()
    (end,) = driver.apply(RecognizeEnded(first.context, MenuFailure.INVALID))
    assert isinstance(end, HangUp) and end.for_everyone
    assert driver.run.outcome is FlowOutcome.HUNG_UP and driver.run.path[-1].outcome == "invalid"


def test_a_failed_recognize_is_not_retried_it_takes_the_fallback() -> None:
    driver, recognize = at_menu()
    (end,) = driver.apply(RecognizeEnded(recognize.context, MenuFailure.FAILED))
    assert isinstance(end, HangUp)  # fallback "bye" is a hangup step
    assert driver.run.path[-2].outcome == "failed"


def test_a_prompt_that_fails_takes_on_failed() -> None:
    flow = flow_of(steps(play(next="sales", onFailed="bye"), targets("sales"), HANGUP))
    driver = Driver(flow, answered=True)
    (played,) = driver.start()
    (end,) = driver.apply(PromptFailed(played.context))
    assert kinds([end]) == ["HangUp"] and driver.run.path[0].outcome == "failed"


def test_a_play_with_no_next_ends_the_run_after_the_prompt() -> None:
    driver = Driver(flow_of(steps(play())), answered=True)
    (played,) = driver.start()
    (end,) = driver.apply(PromptPlayed(played.context))
    assert isinstance(end, HangUp) and driver.run.outcome is FlowOutcome.HUNG_UP


def test_the_caller_hanging_up_during_the_prompt_ends_the_run() -> None:
    driver, recognize = at_menu()
    (end,) = driver.apply(CallerHungUp())
    assert isinstance(end, HangUp) and driver.run.outcome is FlowOutcome.CALLER_LEFT
    assert driver.apply(DigitsPressed(recognize.context, "1")) == ()
    other, _ = at_menu()
    assert other.apply(CallDisconnected()) == () and other.run.outcome is FlowOutcome.CALL_ENDED


def test_overdue_media_is_cancelled_and_the_run_moves_on() -> None:
    driver = Driver(IVR, answered=True)
    driver.start()
    assert driver.apply(StepOverdue()) == ()  # not due yet
    deadline = driver.run.deadline
    assert deadline is not None
    cancel, recognize = driver.apply(StepOverdue(), deadline)
    assert isinstance(cancel, CancelMedia) and cancel.context == "flow:run-1:1:welcome:1:cancelmedia"
    assert isinstance(recognize, RecognizeDtmf) and driver.run.path[0].outcome == "overdue"
    menu_deadline = driver.run.deadline
    assert menu_deadline is not None
    cancel, end = driver.apply(StepOverdue(), menu_deadline)
    assert isinstance(cancel, CancelMedia) and isinstance(end, HangUp)  # the menu's fallback: bye


def test_contexts_are_the_same_on_every_computation() -> None:
    first, _ = at_menu()
    second, _ = at_menu()
    assert [(a.context, a.repeatability_id) for a in first.sent] == [
        (a.context, a.repeatability_id) for a in second.sent]


def test_a_menu_still_listening_within_its_runs_deadline_is_not_settled_as_failed() -> None:
    # A menu may listen longer than the pending-operation limit (here 300 s): its initial
    # silence alone may be 300 s, after a prompt. The run bounds it (past its deadline the
    # overdue tick cancels the media and moves on); settling it earlier said "no outcome from
    # ACS within 300 s" (call.operation.failed) of a recognize ACS was still running as asked,
    # and the failure stood when its RecognizeCompleted came.
    flow = flow_of(steps(menu(initialSilenceSeconds=300), targets("sales"), targets("support"),
                         targets("operator"), HANGUP))
    driver = Driver(flow, answered=True)
    (recognize,) = driver.start()
    deadline = driver.run.deadline
    assert deadline is not None
    listening = Operation(recognize.context, OperationKind.RECOGNIZE, OperationStatus.PENDING,
                          requested_at=NOW)
    record = CallRecord(call_connection_id="c1", state=CallState.CONNECTED, created_at=NOW,
                        operations=(listening,), flow_run=driver.run)
    limits = OperationLimits(add_margin=timedelta(seconds=60), others=timedelta(seconds=300))
    assert settle_overdue(record, NOW + timedelta(seconds=301), limits) is None
    assert settle_overdue(record, deadline, limits) is not None  # past it, the limit holds again
