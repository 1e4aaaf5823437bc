"""Properties of the engine under any order of events: duplicates, disorder, stale attempts.

Each example drives a run with events drawn against what it has sent so far (current and
earlier contexts, replays of earlier events, foreign contexts, clock jumps) and checks:
no operationContext is ever asked for twice, the step budget holds, an event applied twice in
a row yields nothing the second time, and the state survives its JSON round trip at every step.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcontrol.domain.flows import (
    AnswerFailed,
    AskAnswer,
    AskAnswered,
    AskFailed,
    AskFailure,
    CallConnected,
    CallDisconnected,
    CallerHungUp,
    Flow,
    FlowEvent,
    FlowOutcome,
    FlowRun,
    FlowStarted,
    InlineAnswer,
    InlineReject,
    InvitationAnswered,
    InvitationCancelled,
    InvitationFailed,
    ParticipantRemoved,
    RemoveParticipant,
    RingFailure,
    StepOverdue,
    TransferAccepted,
    TransferFailed,
    advance,
)
from tests.unit.flows._support import ALICE, BOB, CAROL, HANGUP, NOW, Driver, ask, flow_of, ring, steps

FLOWS = [
    flow_of(steps(
        ring("team", ALICE, BOB, CAROL, timeoutSeconds=10, onBusy="ask", fallback="again"),
        ask("ask", choices=["team", "seq", "desk"], fallback="again"),
        {"id": "again", "type": "goto", "next": "seq"},
        ring("seq", ALICE, BOB, mode="sequential", timeoutSeconds=5, fallback="desk"),
        {"id": "desk", "type": "transfer", "target": BOB, "onFailed": "team"},
        max_steps=9,
    )),
    flow_of(steps(
        ask("ask", choices=["team", "bye"], fallback="away"),
        ring("team", ALICE, BOB, fallback="ask2"),
        ask("ask2", choices=["team"], fallback="bye"),
        {"id": "away", "type": "redirect", "target": ALICE},
        HANGUP,
        max_steps=6,
    )),
]
FOREIGN = ["flow:run-1:99:team:1:add:0", "flow:other:1:team:1:add:0", "not-a-flow", "flow:run-1:1:ask:1:ask"]


def candidates(driver: Driver, history: list[FlowEvent]) -> list[FlowEvent]:
    """Every event that could arrive at all, including ones that should be ignored: about any
    context sent so far or a foreign one, and replays of anything seen before."""
    contexts = [a.context for a in driver.sent] + FOREIGN
    events: list[FlowEvent] = [FlowStarted(), CallConnected(), StepOverdue()]
    for context in contexts:
        events += about(driver, context)
    return events + history


def about(driver: Driver, context: str) -> list[FlowEvent]:
    """The events ACS or the ask service may report about one request."""
    if ":add:" in context or ":cancel:" in context or ":remove:" in context:
        return [InvitationAnswered(context), InvitationCancelled(context), ParticipantRemoved(context),
                *(InvitationFailed(context, reason) for reason in RingFailure)]
    if context.endswith(":ask"):
        return [AskFailed(context, AskFailure.TIMEOUT),
                AskAnswered(context, AskAnswer(action=InlineAnswer())),
                AskAnswered(context, AskAnswer(action=InlineReject("busy"))),
                *(AskAnswered(context, AskAnswer(next_step=step.id)) for step in driver.flow.steps)]
    if context.endswith(":transfer"):
        return [TransferAccepted(context), TransferFailed(context)]
    return []


def current(driver: Driver) -> list[FlowEvent]:
    """What the run waits for now: drawn most of the time, so runs get deep into their flow."""
    events: list[FlowEvent] = [CallConnected(), StepOverdue()]
    for item in driver.run.pending:
        events += about(driver, item.context)
    if driver.sent:
        events += about(driver, driver.sent[-1].context)
    return events


ENDS: list[FlowEvent] = [CallerHungUp(), CallDisconnected(), AnswerFailed()]


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_index=st.integers(0, len(FLOWS) - 1), answered=st.booleans(), data=st.data())
def test_any_event_order_never_repeats_a_request_nor_exceeds_max_steps(
    flow_index: int, answered: bool, data: st.DataObject
) -> None:
    flow: Flow = FLOWS[flow_index]
    driver = Driver(flow, answered=answered)
    history: list[FlowEvent] = []
    now = NOW
    driver.start()
    for _ in range(40):
        pool = data.draw(st.sampled_from(["current"] * 14 + ["any"] * 5 + ["end"]), label="pool")
        options = {"current": current(driver), "any": candidates(driver, history), "end": ENDS}[pool]
        event = data.draw(st.sampled_from(options), label="event")
        now += timedelta(seconds=data.draw(st.sampled_from([0, 1, 10, 40]), label="wait"))
        before = driver.run
        driver.apply(event, now)
        history.append(event)
        again, repeated = advance(flow, driver.run, event, now)
        assert repeated == (), f"{event} applied twice asked for {repeated}"
        assert again == driver.run
        assert driver.run.steps_taken <= flow.max_steps
        assert FlowRun.from_json(driver.run.to_json()) == driver.run
        if before.finished:
            assert driver.run == before
    contexts = [action.context for action in driver.sent]
    assert len(contexts) == len(set(contexts)), contexts
    repeatability_ids = [action.repeatability_id for action in driver.sent]
    assert len(repeatability_ids) == len(set(repeatability_ids))


ONE_RING = flow_of(steps(ring("team", ALICE, BOB, CAROL, {"communicationUserId": "8:acs:dave"},
                              fallback="bye"), HANGUP))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_shuffled_delivery_of_one_ring_connects_at_most_one_target(data: st.DataObject) -> None:
    driver = Driver(ONE_RING, answered=True)
    driver.start()
    events: list[FlowEvent] = []
    for context in driver.adds():
        # What ACS may report for one invitation; a cancelled one may or may not also fail.
        # Answers are drawn most often: the race between them is what this is about.
        events += data.draw(st.sampled_from([
            [InvitationAnswered(context)],
            [InvitationAnswered(context)],
            [InvitationFailed(context, RingFailure.NO_ANSWER)],
            [InvitationCancelled(context)],
            [InvitationCancelled(context), InvitationFailed(context, RingFailure.FAILED)],
        ]))
    queue = list(data.draw(st.permutations(events + events)))  # every event twice, in any order
    removals: list[FlowEvent] = []  # a remove completes only once it was asked for
    while queue or removals:
        source = removals if removals and (not queue or data.draw(st.booleans())) else queue
        for action in driver.apply(source.pop(0)):
            if isinstance(action, RemoveParticipant):
                removals += [ParticipantRemoved(action.context)] * 2
    answered = [e.context for e in events if isinstance(e, InvitationAnswered)]
    removed = [a.target.raw_id for a in driver.sent if isinstance(a, RemoveParticipant)]
    assert [a.name for a in driver.sent].count("HangUp") == 1
    if driver.run.outcome is FlowOutcome.CONNECTED:
        assert driver.run.winner in answered
        assert len(removed) == len(set(removed)) <= len(answered) - 1
    else:
        assert removed == []
    contexts = [a.context for a in driver.sent]
    assert len(contexts) == len(set(contexts))
