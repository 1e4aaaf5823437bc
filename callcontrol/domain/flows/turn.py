"""One application of one event to a run: the moves the engine is made of (see engine.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from callcontrol.domain.flows.actions import (
    AddParticipant,
    AnswerCall,
    AskRequest,
    CancelAddParticipant,
    CancelMedia,
    FlowAction,
    FlowContext,
    HangUp,
    PlayMedia,
    RecognizeDtmf,
    RedirectCall,
    RejectCall,
    RemoveParticipant,
    TransferCall,
    Verb,
    parse_context,
)
from callcontrol.domain.flows.model import (
    AskStep,
    CollectStep,
    Flow,
    GotoStep,
    HangUpStep,
    Listening,
    MenuStep,
    PlayStep,
    RedirectStep,
    RejectStep,
    RingFailure,
    RingMode,
    RingStep,
    Step,
    TransferStep,
)
from callcontrol.domain.flows.state import (
    FlowOutcome,
    FlowRun,
    Invitation,
    InvitationStatus,
    PathEntry,
    RunStatus,
    Waiting,
)
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.repeatability import for_flow_action

# How long past its own bound a wait may run before the reconciler calls it overdue.
ANSWER_WAIT: Final = timedelta(seconds=30)
RING_GRACE: Final = timedelta(seconds=15)  # past the invitation timeout ACS enforces itself
SETTLE_WAIT: Final = timedelta(seconds=30)
ASK_GRACE: Final = timedelta(seconds=5)
TRANSFER_WAIT: Final = timedelta(seconds=60)
# How long a prompt may take to play: ACS knows, we do not (a file's length, a text's speech),
# so a play or a menu attempt is overdue only past this plus its own timeouts and a grace.
PROMPT_ALLOWANCE: Final = timedelta(seconds=120)
MEDIA_GRACE: Final = timedelta(seconds=15)


@dataclass
class Turn:
    """One application of one event: the run as it moves, and the actions asked for so far."""

    flow: Flow
    run: FlowRun
    now: datetime
    actions: list[FlowAction] = field(default_factory=list)

    # --- identities -----------------------------------------------------------------------

    def context(self, verb: str, target: int | None = None) -> FlowContext:
        run = self.run
        return FlowContext(run.run_id, run.visit, run.step or "-", run.attempt, verb, target)

    def emit(self, make: type[FlowAction], context: FlowContext, **fields: Any) -> None:
        rendered = context.render()
        self.actions.append(make(rendered, for_flow_action(self.run.call_key, rendered), **fields))

    def update(self, **changes: Any) -> None:
        self.run = replace(self.run, **changes)

    @property
    def step(self) -> Step:
        found = self.flow.step(self.run.step or "")
        assert found is not None, "a run only ever points at a step of its flow"
        return found

    # --- moving through the graph ---------------------------------------------------------

    def note(self, outcome: str) -> None:
        """Record how the latest path entry (the current step or attempt) ended."""
        if self.run.path:
            last = self.run.path[-1]
            self.update(path=(*self.run.path[:-1], replace(last, outcome=outcome)))

    def enter(self, step_id: str) -> None:
        if self.run.steps_taken >= self.flow.max_steps:
            self.end(FlowOutcome.MAX_STEPS)
            return
        taken = self.run.steps_taken + 1
        self.update(step=step_id, visit=taken, attempt=1, steps_taken=taken, waiting=Waiting.NOTHING,
                    deadline=None, pending=(), winner=None, last_failure=None,
                    path=(*self.run.path, PathEntry(step_id, taken)))
        enter_current(self)

    def go(self, next_step: str | None, outcome: str) -> None:
        self.note(outcome)
        if next_step is None:
            self.end(FlowOutcome.HUNG_UP)
        else:
            self.enter(next_step)

    def wait(self, waiting: Waiting, bound: timedelta) -> None:
        self.update(waiting=waiting, deadline=self.now + bound)

    def finish(self, outcome: FlowOutcome) -> None:
        self.update(status=RunStatus.FINISHED, waiting=Waiting.NOTHING, deadline=None, outcome=outcome,
                    collected=())  # the keys gathered are kept only while an ask may need them

    def end(self, outcome: FlowOutcome) -> None:
        """End the run with one request: hang up for everyone, or reject before the answer."""
        if self.run.answered:
            self.emit(HangUp, self.context(Verb.END), for_everyone=True)
        else:
            self.emit(RejectCall, self.context(Verb.END), reason="none")
        self.finish(outcome)

    def answer_first(self) -> None:
        self.emit(AnswerCall, self.context(Verb.ANSWER))
        self.wait(Waiting.ANSWER, ANSWER_WAIT)

    # --- play and menu -------------------------------------------------------------------

    def recognize(self, step: Listening) -> None:
        """One menu or collect attempt: Recognize from the caller, the prompt (or reprompt)
        played first."""
        caller = self.run.facts.caller
        if caller is None:  # a run always knows its caller; without one ACS has no one to hear
            self.go(step.fallback, "failed")
            return
        self.emit(RecognizeDtmf, self.context(Verb.RECOGNIZE), target=caller,
                  prompt=step.prompt_for(self.run.attempt), max_tones=step.max_digits,
                  initial_silence_seconds=step.initial_silence_seconds,
                  inter_tone_seconds=step.inter_digit_seconds,
                  stop_tones=step.stop_tones if isinstance(step, CollectStep) else "")
        listening = step.initial_silence_seconds + step.inter_digit_seconds * step.max_digits
        self.wait(Waiting.MENU, PROMPT_ALLOWANCE + timedelta(seconds=listening) + MEDIA_GRACE)

    def retry_menu(self, step: Listening) -> None:
        """The next attempt of the current menu (a path entry of its own, like a hunt's)."""
        attempt = self.run.attempt + 1
        self.update(attempt=attempt, path=(*self.run.path, PathEntry(step.id, self.run.visit, attempt)))
        self.recognize(step)

    def cancel_media(self) -> None:
        self.emit(CancelMedia, self.context(Verb.CANCEL_MEDIA))

    # --- ring -----------------------------------------------------------------------------

    def invite(self, step: RingStep, index: int) -> None:
        target = step.targets[index]
        context = self.context(Verb.ADD, index)
        self.emit(AddParticipant, context, target=target.identifier, caller_id=target.caller_id,
                  invitation_timeout_seconds=step.timeout_for(index))
        item = Invitation(context.render(), index, InvitationStatus.RINGING)
        self.update(pending=(*self.run.pending, item))

    def start_ring(self, step: RingStep) -> None:
        if step.mode is RingMode.SIMULTANEOUS:
            for index in range(len(step.targets)):
                self.invite(step, index)
            longest = max(step.timeout_for(index) for index in range(len(step.targets)))
        else:
            self.invite(step, self.run.attempt - 1)
            longest = step.timeout_for(self.run.attempt - 1)
        self.wait(Waiting.RING, timedelta(seconds=longest) + RING_GRACE)

    def set_status(self, context: str, status: InvitationStatus | None) -> None:
        """Change one pending invitation's status; None drops it."""
        kept = [item for item in self.run.pending if item.context != context or status is not None]
        self.update(pending=tuple(
            replace(item, status=status) if item.context == context and status is not None else item
            for item in kept
        ))

    def cancel(self, item: Invitation) -> None:
        context = _parsed(item.context).with_verb(Verb.CANCEL)
        self.emit(CancelAddParticipant, context, add_context=item.context)
        self.set_status(item.context, InvitationStatus.CANCELLING)

    def remove(self, add_context: str, target: Identifier) -> None:
        self.emit(RemoveParticipant, _parsed(add_context).with_verb(Verb.REMOVE), target=target)

    def ringing(self) -> list[Invitation]:
        return [item for item in self.run.pending if item.status is InvitationStatus.RINGING]

    def settle_or_leave(self) -> None:
        if self.run.pending:
            return
        self.emit(HangUp, self.context(Verb.LEAVE), for_everyone=False)
        self.finish(FlowOutcome.CONNECTED)

    def ring_failed(self, step: RingStep, reason: RingFailure, label: str | None = None) -> None:
        """One invitation of the current ring ended unanswered (already dropped from pending).

        Sequential: the next target is tried; after the last, its reason picks the transition.
        Simultaneous: once none rings any more, the reason of the last one to end picks it.
        `label` is what the path shows (the reason unless said otherwise, e.g. "overdue").
        """
        shown = label or reason.value
        self.update(last_failure=reason)
        if step.mode is RingMode.SEQUENTIAL:
            self.note(shown)
            if self.run.attempt < len(step.targets):
                attempt = self.run.attempt + 1
                entry = PathEntry(step.id, self.run.visit, attempt)
                self.update(attempt=attempt, path=(*self.run.path, entry))
                self.start_ring(step)
                return
            self.go(step.next_for(reason), shown)
        elif not self.ringing():
            self.go(step.next_for(reason), shown)

    def target_of(self, add_context: str) -> Identifier | None:
        """Whom an add of this run invited, or None if the run never sent that add."""
        parsed = parse_context(add_context)
        if parsed is None or parsed.run_id != self.run.run_id or parsed.target is None:
            return None
        step = self.flow.step(parsed.step)
        entered = PathEntry(parsed.step, parsed.visit, parsed.attempt)
        if not isinstance(step, RingStep) or parsed.verb != Verb.ADD or parsed.target >= len(step.targets):
            return None
        if not any(replace(entry, outcome=None) == entered for entry in self.run.path):
            return None
        if step.mode is RingMode.SEQUENTIAL and parsed.target != parsed.attempt - 1:
            return None
        return step.targets[parsed.target].identifier


def enter_current(turn: Turn) -> None:
    """Do the current step's work (on entry, or once the answer it waited for took)."""
    _ENTER[type(turn.step)](turn, turn.step)


def _parsed(context: str) -> FlowContext:
    parsed = parse_context(context)
    assert parsed is not None, "the engine only keeps contexts it rendered"
    return parsed


# --- entering a step ---------------------------------------------------------------------------


def _enter_ring(turn: Turn, step: RingStep) -> None:
    if turn.run.answered:
        turn.start_ring(step)
    else:
        turn.answer_first()


def _enter_transfer(turn: Turn, step: TransferStep) -> None:
    if not turn.run.answered:
        turn.answer_first()
        return
    turn.emit(TransferCall, turn.context(Verb.TRANSFER), target=step.target, caller_id=step.caller_id)
    turn.wait(Waiting.TRANSFER, TRANSFER_WAIT)


def _enter_ask(turn: Turn, step: AskStep) -> None:
    turn.emit(AskRequest, turn.context(Verb.ASK), url=step.url, body=_ask_body(turn),
              timeout_seconds=step.timeout_seconds)
    turn.wait(Waiting.ASK, timedelta(seconds=step.timeout_seconds) + ASK_GRACE)


def _ask_body(turn: Turn) -> dict[str, Any]:
    run, facts = turn.run, turn.run.facts
    return {
        "flow": run.flow, "runId": run.run_id, "step": run.step, "answered": run.answered,
        "call": {
            "serverCallId": facts.server_call_id, "correlationId": facts.correlation_id,
            "from": facts.caller.to_json() if facts.caller else None,
            "to": facts.callee.to_json() if facts.callee else None,
            "headers": dict(facts.headers),
        },
        "path": [{"step": p.step, "attempt": p.attempt, "outcome": p.outcome} for p in run.path[:-1]],
        "collected": dict(run.collected),  # the keys collect steps gathered, by step id
    }


def _enter_redirect(turn: Turn, step: RedirectStep) -> None:
    if turn.run.answered:
        _too_late(turn)
        return
    turn.emit(RedirectCall, turn.context(Verb.REDIRECT), target=step.target)
    turn.finish(FlowOutcome.REDIRECTED)


def _enter_reject(turn: Turn, step: RejectStep) -> None:
    if turn.run.answered:
        _too_late(turn)
        return
    turn.emit(RejectCall, turn.context(Verb.REJECT), reason=step.reason)
    turn.finish(FlowOutcome.REJECTED)


def _too_late(turn: Turn) -> None:
    """Redirect and reject exist only before the answer. The parser refuses them after a ring
    or transfer; a run started on an answered call (not offered yet) ends the call instead."""
    turn.note("afterAnswer")
    turn.end(FlowOutcome.HUNG_UP)


def _enter_hangup(turn: Turn, step: HangUpStep) -> None:  # noqa: ARG001
    if turn.run.answered:
        turn.emit(HangUp, turn.context(Verb.HANGUP), for_everyone=True)
        turn.finish(FlowOutcome.HUNG_UP)
    else:
        turn.emit(RejectCall, turn.context(Verb.HANGUP), reason="none")
        turn.finish(FlowOutcome.REJECTED)


def _enter_goto(turn: Turn, step: GotoStep) -> None:
    turn.go(step.next, "goto")


def _enter_play(turn: Turn, step: PlayStep) -> None:
    if not turn.run.answered:
        turn.answer_first()
        return
    turn.emit(PlayMedia, turn.context(Verb.PLAY), prompt=step.prompt)
    turn.wait(Waiting.PLAY, PROMPT_ALLOWANCE + MEDIA_GRACE)


def _enter_menu(turn: Turn, step: Listening) -> None:
    if not turn.run.answered:
        turn.answer_first()
        return
    turn.recognize(step)


_ENTER: Final[dict[type, Callable[[Turn, Any], None]]] = {
    RingStep: _enter_ring,
    TransferStep: _enter_transfer,
    AskStep: _enter_ask,
    RedirectStep: _enter_redirect,
    RejectStep: _enter_reject,
    HangUpStep: _enter_hangup,
    GotoStep: _enter_goto,
    PlayStep: _enter_play,
    MenuStep: _enter_menu,
    CollectStep: _enter_menu,
}
