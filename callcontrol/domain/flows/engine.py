"""The flow engine: `advance(flow, run, event, now) -> (run, actions)`, a pure function.

The wiring (usecases/flow_runs.py) loads the run with the call, applies one event, stores the
new run in the same guarded write as the call's change, then sends the actions. Everything that
makes that exactly once is here:

- Each action's operationContext and repeatability id derive from (call, run, visit, step,
  attempt, verb) (`actions.py`): a retried send repeats the same request, never a new one.
- An event is matched to the current wait by its context; a redelivery finds the wait already
  moved on, an event of an earlier attempt finds no pending invitation of that context, so
  neither yields an action. The one exception is a late *answer*: a person is in the call, so
  the engine asks once to remove them (remembered in `removed`).
- Every wait has a deadline (the *_WAIT / *_GRACE bounds in turn.py); `StepOverdue` (the
  reconciler's tick) acts only past it, and moves the run on as if the outcome were a failure.

Staying in or leaving the call. A ring adds targets to the app's call (AddParticipant: it is
what rings several at once, times each invitation, and can be cancelled); transfer cannot do
that. Once a target answers, the other invitations are cancelled, and one answered in the race
is removed; when none is pending any more the app leaves: HangUp without forEveryone removes
only its own leg, and ACS keeps the call going between the caller and the target. The flow is
then over (`connected`). A transfer step uses TransferToParticipant: with only the caller left
besides the app (always so in a flow, since a connected ring leaves), no transferee is needed;
on CallTransferAccepted ACS removes the app's leg (`transferred`).

Why leave rather than stay: staying keeps a third leg (the app's) in every connected call for
its whole length, and when the caller hangs up the target would be left alone with the app.
Leaving hands the call to the two people. The cost: once its leg is gone the app receives no
more callbacks for the call, so its record ends there (who answered and when is on the run's
path). Something that must follow the whole call (recording, a later transfer) would be a
reason to add a `stay` option to the ring step, not to change this default.

Ending. A transition with no next step, a run that reaches `max_steps` (the flow's `maxSteps`,
default 25: every step entered counts, gotos included, so no loop outlives it) and a caller who
hangs up end the run with one request: hang up for everyone once answered, reject (reason none)
before. A caller who hangs up also cancels every invitation still ringing; one who hangs up
before the answer needs nothing sent. An invitation ACS ends because the call went away (a
"canceled" / call-gone result on one the run did not cancel, outcomes.ended_by_call) may come
before CallDisconnected: it ends the run as `callEnded` too, not through the ring's fallback
(the use case clears the reading when the call holds a cancel of that invitation, which ACS
answers with the same 487). An answer never confirmed is ended with a hang up for everyone. A
hangup step before the answer is a reject.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from callcontrol.domain.flows.actions import (
    AnswerCall,
    FlowAction,
    HangUp,
    RedirectCall,
    RejectCall,
    Verb,
    same_invitation,
)
from callcontrol.domain.flows.events import (
    AnswerFailed,
    AskAnswer,
    AskAnswered,
    AskFailed,
    AskFailure,
    CallConnected,
    CallDisconnected,
    CallerHungUp,
    FlowEvent,
    FlowStarted,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
    InvitationAnswered,
    InvitationCancelled,
    InvitationFailed,
    ParticipantRemoved,
    StepOverdue,
    TransferAccepted,
    TransferFailed,
)
from callcontrol.domain.flows.media_events import DigitsPressed, PromptFailed, PromptPlayed, RecognizeEnded
from callcontrol.domain.flows.menus import (
    digits_pressed,
    media_overdue,
    prompt_failed,
    prompt_played,
    recognize_ended,
)
from callcontrol.domain.flows.model import AskStep, Flow, RingFailure, RingStep, TransferStep
from callcontrol.domain.flows.state import FlowOutcome, FlowRun, InvitationStatus, RunStatus, Waiting
from callcontrol.domain.flows.turn import SETTLE_WAIT, Turn, enter_current


def advance(
    flow: Flow, run: FlowRun, event: FlowEvent, now: datetime
) -> tuple[FlowRun, tuple[FlowAction, ...]]:
    """Apply one event to a run; return the new run and the requests to make, in order.

    Pure: the same (flow, run, event, now) always gives the same result. A finished run, or an
    event the run's current wait does not expect, gives the run back unchanged and no action.
    """
    if run.finished or (run.status is RunStatus.PENDING and not isinstance(event, FlowStarted)):
        return run, ()
    turn = Turn(flow, run, now)
    if run.step is not None and flow.step(run.step) is None:
        # The flow is not the one the run started in (the caller must pass the run's version):
        # rather than guess where it stands, end it.
        turn.end(FlowOutcome.FAILED)
        return turn.run, tuple(turn.actions)
    _HANDLERS[type(event)](turn, event)
    return turn.run, tuple(turn.actions)


def _started(turn: Turn, event: FlowStarted) -> None:  # noqa: ARG001
    if turn.run.status is RunStatus.PENDING:
        turn.update(status=RunStatus.RUNNING, started_at=turn.now)
        turn.enter(turn.flow.start)


def _connected(turn: Turn, event: CallConnected) -> None:  # noqa: ARG001
    if turn.run.waiting is Waiting.ANSWER:
        turn.update(answered=True)
        enter_current(turn)  # the step that asked for the answer now does its own work


def _answer_failed(turn: Turn, event: AnswerFailed) -> None:  # noqa: ARG001
    if turn.run.waiting is Waiting.ANSWER:
        turn.note("answerFailed")
        turn.finish(FlowOutcome.FAILED)  # nothing to send: the call was never ours


def _invitation_answered(turn: Turn, event: InvitationAnswered) -> None:
    context, run = event.context, turn.run
    item = run.invitation(context)
    if item is not None and item.status is InvitationStatus.RINGING and run.waiting is Waiting.RING:
        turn.update(winner=context)
        turn.set_status(context, None)
        turn.note("answered")
        for other in turn.ringing():
            turn.cancel(other)
        turn.wait(Waiting.SETTLE, SETTLE_WAIT)
        turn.settle_or_leave()
    elif item is not None and item.status is InvitationStatus.CANCELLING:
        target = turn.target_of(context)
        if target is not None:  # answered in the race: it lost, so it leaves
            turn.remove(context, target)
            turn.set_status(context, InvitationStatus.REMOVING)
            turn.update(removed=(*run.removed, context))  # a redelivery after the removal: no second
    elif item is None and context != run.winner and context not in run.removed:
        target = turn.target_of(context)
        if target is not None:  # an invitation the run gave up on (overdue), answered late
            turn.remove(context, target)
            turn.update(removed=(*run.removed, context))


def _invitation_ended(turn: Turn, context: str | None, reason: RingFailure) -> None:
    item = turn.run.invitation(context or "")
    if item is None or item.status is InvitationStatus.REMOVING:
        return  # not ours any more, or a remove's own outcome settles it
    turn.set_status(item.context, None)
    if item.status is InvitationStatus.CANCELLING:
        turn.settle_or_leave()
        return
    step = turn.step
    if isinstance(step, RingStep) and turn.run.waiting is Waiting.RING:
        turn.ring_failed(step, reason)


def _invitation_failed(turn: Turn, event: InvitationFailed) -> None:
    item = turn.run.invitation(event.context)
    if event.call_ended and item is not None and item.status is InvitationStatus.RINGING:
        # ACS may end the invitations with the call before CallDisconnected says so: whichever
        # comes first, the run ends as the call's end, never through the ring's fallback.
        turn.set_status(item.context, None)
        _call_ended_under_ring(turn)
        return
    _invitation_ended(turn, event.context, event.reason)


def _call_ended_under_ring(turn: Turn) -> None:
    """Like the caller leaving, labelled as the call's end: every other invitation still ringing
    is cancelled and the call ended once (if the call is gone already, ACS refuses both
    harmlessly; if it is not, nobody is left waiting in it)."""
    for other in turn.ringing():
        turn.cancel(other)
    turn.note("callEnded")
    if turn.run.answered:
        turn.end(FlowOutcome.CALL_ENDED)
    else:
        turn.finish(FlowOutcome.CALL_ENDED)


def _invitation_cancelled(turn: Turn, event: InvitationCancelled) -> None:
    # Ours are settled by it; one cancelled by someone else (the management API) has failed.
    _invitation_ended(turn, same_invitation(event.context), RingFailure.FAILED)


def _participant_removed(turn: Turn, event: ParticipantRemoved) -> None:
    item = turn.run.invitation(same_invitation(event.context) or "")
    if item is not None and item.status is InvitationStatus.REMOVING and turn.run.waiting is Waiting.SETTLE:
        turn.set_status(item.context, None)
        turn.settle_or_leave()


def _caller_hung_up(turn: Turn, event: CallerHungUp) -> None:  # noqa: ARG001
    for item in turn.ringing():
        turn.cancel(item)
    turn.note("callerLeft")
    if turn.run.answered:
        turn.end(FlowOutcome.CALLER_LEFT)  # ends the app's leg and anyone connected meanwhile
    else:
        turn.finish(FlowOutcome.CALLER_LEFT)  # an offer the caller abandoned: nothing to send


def _disconnected(turn: Turn, event: CallDisconnected) -> None:  # noqa: ARG001
    turn.note("callEnded")
    turn.finish(FlowOutcome.CALL_ENDED)


def _ask_context(turn: Turn) -> str | None:
    if turn.run.waiting is not Waiting.ASK:
        return None
    return turn.context(Verb.ASK).render()


def _ask_answered(turn: Turn, event: AskAnswered) -> None:
    step = turn.step
    if event.context != _ask_context(turn) or not isinstance(step, AskStep):
        return
    answer = event.answer
    if answer.next_step is not None and answer.action is None and answer.next_step in step.choices:
        turn.go(answer.next_step, f"next:{answer.next_step}")
    elif answer.next_step is None and answer.action is not None and not turn.run.answered:
        _inline(turn, answer)
    else:  # valid JSON, but not an answer this step accepts here
        turn.go(step.fallback, AskFailure.INVALID)


def _inline(turn: Turn, answer: AskAnswer) -> None:
    action = answer.action
    turn.note(f"action:{type(action).__name__}")
    if isinstance(action, InlineAnswer):
        turn.emit(AnswerCall, turn.context(Verb.ANSWER))
        turn.finish(FlowOutcome.ANSWERED)
    elif isinstance(action, InlineReject):
        turn.emit(RejectCall, turn.context(Verb.REJECT), reason=action.reason)
        turn.finish(FlowOutcome.REJECTED)
    elif isinstance(action, InlineRedirect):
        turn.emit(RedirectCall, turn.context(Verb.REDIRECT), target=action.target)
        turn.finish(FlowOutcome.REDIRECTED)


def _ask_failed(turn: Turn, event: AskFailed) -> None:
    step = turn.step
    if event.context == _ask_context(turn) and isinstance(step, AskStep):
        turn.go(step.fallback, event.reason)


def _transfer_context(turn: Turn) -> str | None:
    if turn.run.waiting is not Waiting.TRANSFER:
        return None
    return turn.context(Verb.TRANSFER).render()


def _transfer_accepted(turn: Turn, event: TransferAccepted) -> None:
    if event.context == _transfer_context(turn):
        turn.note("accepted")
        turn.finish(FlowOutcome.TRANSFERRED)  # ACS removes the app's leg itself


def _transfer_failed(turn: Turn, event: TransferFailed) -> None:
    step = turn.step
    if event.context == _transfer_context(turn) and isinstance(step, TransferStep):
        turn.go(step.on_failed, "failed")


def _overdue(turn: Turn, event: StepOverdue) -> None:  # noqa: ARG001
    run = turn.run
    if run.deadline is None or turn.now < run.deadline:
        return
    step = turn.step
    if run.waiting is Waiting.ANSWER:
        # The answer was sent: if it took unseen the call is ours to end (the caller would sit in
        # silence); if it did not, this fails harmlessly and the offer lapses by itself.
        turn.note("overdue")
        turn.emit(HangUp, turn.context(Verb.END), for_everyone=True)
        turn.finish(FlowOutcome.FAILED)
    elif run.waiting is Waiting.RING and isinstance(step, RingStep):
        # ACS ended these invitations at their timeout; a lost callback left them here. The
        # cancel is for safety (it fails harmlessly); a sequential ring tries its next target.
        for item in turn.ringing():
            turn.cancel(item)
            turn.set_status(item.context, None)
        turn.ring_failed(step, RingFailure.NO_ANSWER, "overdue")
    elif run.waiting is Waiting.SETTLE:
        turn.update(pending=())
        turn.settle_or_leave()
    elif run.waiting is Waiting.ASK and isinstance(step, AskStep):
        turn.go(step.fallback, "overdue")
    elif run.waiting is Waiting.TRANSFER and isinstance(step, TransferStep):
        turn.go(step.on_failed, "overdue")
    else:
        media_overdue(turn)


_HANDLERS: Final[dict[type, Callable[[Turn, Any], None]]] = {
    FlowStarted: _started,
    CallConnected: _connected,
    AnswerFailed: _answer_failed,
    InvitationAnswered: _invitation_answered,
    InvitationFailed: _invitation_failed,
    InvitationCancelled: _invitation_cancelled,
    ParticipantRemoved: _participant_removed,
    CallerHungUp: _caller_hung_up,
    CallDisconnected: _disconnected,
    AskAnswered: _ask_answered,
    AskFailed: _ask_failed,
    TransferAccepted: _transfer_accepted,
    TransferFailed: _transfer_failed,
    StepOverdue: _overdue,
    PromptPlayed: prompt_played,
    PromptFailed: prompt_failed,
    DigitsPressed: digits_pressed,
    RecognizeEnded: recognize_ended,
}
