"""The engine on ask, transfer, redirect, reject, hangup and goto steps, and the step budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcontrol.domain.flows import (
    AnswerFailed,
    AskAnswer,
    AskAnswered,
    AskFailed,
    AskFailure,
    AskRequest,
    CallConnected,
    FlowOutcome,
    HangUp,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
    InvitationFailed,
    RedirectCall,
    RejectCall,
    RingFailure,
    StepOverdue,
    TransferAccepted,
    TransferCall,
    TransferFailed,
)
from callcontrol.domain.identifiers import phone
from tests.unit.flows._support import ALICE, BOB, HANGUP, NOW, Driver, ask, flow_of, kinds, ring, steps

ASK_FIRST = flow_of(steps(
    ask("ask", choices=["ring", "desk"], fallback="closed"),
    ring("ring", BOB, fallback="bye"),
    {"id": "desk", "type": "transfer", "target": {"communicationUserId": "8:acs:desk"}, "onFailed": "bye"},
    {"id": "closed", "type": "reject", "reason": "busy"},
    HANGUP,
))
ASK = "flow:run-1:1:ask:1:ask"


def asking() -> Driver:
    driver = Driver(ASK_FIRST)
    (request,) = driver.start()
    assert isinstance(request, AskRequest) and request.context == ASK
    return driver


def test_the_ask_request_describes_the_call_and_the_path() -> None:
    flow = flow_of(steps(ring("ring", BOB, fallback="ask"), ask("ask", timeoutSeconds=2), HANGUP))
    driver = Driver(flow, answered=True)
    (add,) = driver.start()
    (request,) = driver.apply(InvitationFailed(add.context, RingFailure.DECLINED))
    assert isinstance(request, AskRequest)
    assert (request.url, request.timeout_seconds) == ("https://crm.example.com/route", 2)
    assert request.body == {
        "flow": "sales", "runId": "run-1", "step": "ask", "answered": True,
        "call": {"serverCallId": "server-1", "correlationId": "corr-1",
                 "from": phone("+12065550123").to_json(), "to": phone("+18005550100").to_json(),
                 "headers": {"X-MS-Custom-Tier": "gold"}},
        "path": [{"step": "ring", "attempt": 1, "outcome": "declined"}],
        "collected": {},
    }
    assert driver.run.deadline == NOW + timedelta(seconds=2 + 5)


def test_an_answer_naming_a_choice_moves_there() -> None:
    driver = asking()
    actions = driver.apply(AskAnswered(ASK, AskAnswer(next_step="ring")))
    assert kinds(actions) == ["AnswerCall"]  # the ring step answers first
    assert [(p.step, p.outcome) for p in driver.run.path] == [("ask", "next:ring"), ("ring", None)]


@pytest.mark.parametrize(
    "answer",
    [AskAnswer(next_step="bye"),  # a step, but not one of the choices
     AskAnswer(next_step="nowhere"),
     AskAnswer(next_step="ring", action=InlineAnswer()),
     AskAnswer()],
)
def test_an_answer_the_step_does_not_accept_takes_the_fallback(answer: AskAnswer) -> None:
    driver = asking()
    actions = driver.apply(AskAnswered(ASK, answer))
    assert kinds(actions) == ["RejectCall"] and isinstance(actions[0], RejectCall)
    assert actions[0].reason == "busy"
    assert driver.run.path[0].outcome == "invalid"


@pytest.mark.parametrize("failure", [AskFailure.TIMEOUT, AskFailure.ERROR, AskFailure.INVALID])
def test_a_failed_ask_takes_the_fallback(failure: str) -> None:
    driver = asking()
    assert kinds(driver.apply(AskFailed(ASK, failure))) == ["RejectCall"]
    assert (driver.run.path[0].outcome, driver.run.outcome) == (failure, FlowOutcome.REJECTED)


def test_an_ask_nobody_reports_on_is_overdue() -> None:
    driver = asking()
    assert driver.apply(StepOverdue(), NOW + timedelta(seconds=7)) == ()  # 3 s deadline + 5 s grace
    assert kinds(driver.apply(StepOverdue(), NOW + timedelta(seconds=8))) == ["RejectCall"]
    assert driver.run.path[0].outcome == "overdue"


def test_inline_actions_before_the_answer() -> None:
    answer = asking()
    assert kinds(answer.apply(AskAnswered(ASK, AskAnswer(action=InlineAnswer())))) == ["AnswerCall"]
    assert answer.run.outcome is FlowOutcome.ANSWERED
    reject = asking()
    (sent,) = reject.apply(AskAnswered(ASK, AskAnswer(action=InlineReject("forbidden"))))
    assert isinstance(sent, RejectCall) and sent.reason == "forbidden"
    redirect = asking()
    (moved,) = redirect.apply(AskAnswered(ASK, AskAnswer(action=InlineRedirect(phone("+14255550101")))))
    assert isinstance(moved, RedirectCall) and moved.target == phone("+14255550101")
    assert redirect.run.outcome is FlowOutcome.REDIRECTED


def test_inline_actions_after_the_answer_are_invalid() -> None:
    flow = flow_of(steps(ask("ask", fallback="bye"), HANGUP))
    driver = Driver(flow, answered=True)
    driver.start()
    actions = driver.apply(AskAnswered(ASK, AskAnswer(action=InlineReject())))
    assert kinds(actions) == ["HangUp"] and driver.run.path[0].outcome == "invalid"


def test_a_stale_or_repeated_ask_reply_does_nothing() -> None:
    driver = asking()
    assert driver.apply(AskAnswered("flow:run-1:9:ask:1:ask", AskAnswer(next_step="ring"))) == ()
    assert driver.apply(AskFailed("flow:other:1:ask:1:ask", AskFailure.TIMEOUT)) == ()
    driver.apply(AskAnswered(ASK, AskAnswer(next_step="ring")))
    assert driver.apply(AskAnswered(ASK, AskAnswer(next_step="desk"))) == ()
    assert driver.apply(AskFailed(ASK, AskFailure.TIMEOUT)) == ()


def test_transfer_answers_first_then_transfers_and_is_done_when_accepted() -> None:
    driver = asking()
    driver.apply(AskAnswered(ASK, AskAnswer(next_step="desk")))
    (transfer,) = driver.apply(CallConnected())
    assert isinstance(transfer, TransferCall)
    assert (transfer.target.raw_id, transfer.transferee, transfer.caller_id) == ("8:acs:desk", None, None)
    assert driver.apply(TransferAccepted(transfer.context)) == ()
    assert driver.run.outcome is FlowOutcome.TRANSFERRED
    assert driver.apply(TransferFailed(transfer.context)) == ()


def test_a_failed_transfer_goes_on_failed() -> None:
    flow = flow_of(steps({"id": "desk", "type": "transfer", "target": ALICE, "callerId": "+18005550100",
                          "onFailed": "bye"}, HANGUP))
    driver = Driver(flow, answered=True)
    (transfer,) = driver.start()
    assert isinstance(transfer, TransferCall) and transfer.caller_id == "+18005550100"
    assert driver.apply(TransferFailed("flow:run-1:1:desk:1:other")) == ()
    assert kinds(driver.apply(TransferFailed(transfer.context))) == ["HangUp"]
    assert driver.run.outcome is FlowOutcome.HUNG_UP


def test_an_overdue_transfer_counts_as_failed() -> None:
    flow = flow_of(steps({"id": "desk", "type": "transfer", "target": BOB}))
    driver = Driver(flow, answered=True)
    driver.start()
    assert kinds(driver.apply(StepOverdue(), NOW + timedelta(seconds=60))) == ["HangUp"]
    assert driver.run.path[0].outcome == "overdue"


def test_redirect_reject_and_hangup_before_the_answer() -> None:
    redirect = Driver(flow_of(steps({"id": "r", "type": "redirect", "target": ALICE})))
    (sent,) = redirect.start()
    assert isinstance(sent, RedirectCall) and sent.context == "flow:run-1:1:r:1:redirect"
    reject = Driver(flow_of(steps({"id": "n", "type": "reject", "reason": "forbidden"})))
    (refused,) = reject.start()
    assert isinstance(refused, RejectCall) and refused.reason == "forbidden"
    hangup = Driver(flow_of(steps(HANGUP)))
    (ended,) = hangup.start()
    assert isinstance(ended, RejectCall) and ended.reason == "none"
    assert hangup.run.outcome is FlowOutcome.REJECTED


def test_hangup_after_the_answer_ends_the_call_for_everyone() -> None:
    driver = Driver(flow_of(steps(HANGUP)), answered=True)
    (ended,) = driver.start()
    assert isinstance(ended, HangUp) and ended.for_everyone


def test_a_failed_answer_ends_the_run_quietly() -> None:
    driver = Driver(flow_of(steps(ring("ring", BOB))))
    driver.start()
    assert driver.apply(AnswerFailed()) == ()
    assert driver.run.outcome is FlowOutcome.FAILED


def test_goto_loops_are_cut_by_max_steps() -> None:
    flow = flow_of(steps(ask("ask", fallback="again"), {"id": "again", "type": "goto", "next": "ask"},
                         max_steps=5))
    driver = Driver(flow, answered=True)
    driver.start()
    contexts = []
    while not driver.run.finished:
        contexts.append(f"flow:run-1:{driver.run.visit}:ask:1:ask")
        driver.apply(AskFailed(contexts[-1], AskFailure.ERROR))
    assert driver.run.steps_taken == 5 and driver.run.outcome is FlowOutcome.MAX_STEPS
    assert [p.step for p in driver.run.path] == ["ask", "again", "ask", "again", "ask"]
    assert kinds(driver.sent) == ["AskRequest"] * 3 + ["HangUp"]
    assert driver.sent[-1].context == "flow:run-1:5:ask:1:end"
    assert len({a.context for a in driver.sent}) == len(driver.sent)


def test_max_steps_before_the_answer_rejects() -> None:
    flow = flow_of(steps(ask("ask", fallback="ask2"), ask("ask2", fallback="ask"), max_steps=2))
    driver = Driver(flow)
    driver.start()
    driver.apply(AskFailed(ASK, AskFailure.TIMEOUT))
    (end,) = driver.apply(AskFailed("flow:run-1:2:ask2:1:ask", AskFailure.TIMEOUT))
    assert isinstance(end, RejectCall) and driver.run.outcome is FlowOutcome.MAX_STEPS


def test_redirect_or_reject_on_a_run_started_answered_ends_the_call_instead() -> None:
    for step in ({"id": "r", "type": "redirect", "target": ALICE}, {"id": "n", "type": "reject"}):
        driver = Driver(flow_of(steps(step)), answered=True)
        (ended,) = driver.start()
        assert isinstance(ended, HangUp) and ended.for_everyone
        assert driver.run.path[0].outcome == "afterAnswer"


def test_a_run_meeting_a_flow_without_its_step_ends_rather_than_guesses() -> None:
    driver = asking()
    other = flow_of(steps(HANGUP))
    driver.flow = other
    (ended,) = driver.apply(AskFailed(ASK, AskFailure.TIMEOUT))
    assert isinstance(ended, RejectCall) and driver.run.outcome is FlowOutcome.FAILED
