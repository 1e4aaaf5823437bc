"""How play and menu steps move (engine.py routes their events here; turn.py enters them).

A play step waits for its PlayCompleted (→ `next`) or PlayFailed / PlayCanceled (→ `onFailed`,
else `next`). A menu attempt waits for its Recognize: tones matching a choice go to that
choice's step and the path records `choice:<step>`, never the tones; no tones, or tones matching
nothing, are `noInput` / `invalid`, retried with the reprompt while `retries` last, then routed
(MenuStep.next_for). A recognize that failed otherwise (the prompt could not play, a cancel
by someone else) is not retried: it takes the fallback.

Every event names its request's context; only the current attempt's moves the run, so a
redelivered RecognizeCompleted, or one of an attempt already retried, asks for nothing.
"""

from __future__ import annotations

from callcontrol.domain.flows.actions import Verb
from callcontrol.domain.flows.media_events import DigitsPressed, PromptFailed, PromptPlayed, RecognizeEnded
from callcontrol.domain.flows.model import CollectStep, Listening, MenuStep, PlayStep
from callcontrol.domain.flows.prompts import DIGITS, MenuFailure
from callcontrol.domain.flows.state import Waiting
from callcontrol.domain.flows.turn import Turn

OVERDUE = "overdue"


def _current_play(turn: Turn, context: str) -> PlayStep | None:
    step = turn.step if turn.run.step is not None else None
    if (turn.run.waiting is Waiting.PLAY and isinstance(step, PlayStep)
            and context == turn.context(Verb.PLAY).render()):
        return step
    return None


def _current_menu(turn: Turn, context: str) -> Listening | None:
    step = turn.step if turn.run.step is not None else None
    if (turn.run.waiting is Waiting.MENU and isinstance(step, MenuStep | CollectStep)
            and context == turn.context(Verb.RECOGNIZE).render()):
        return step
    return None


def prompt_played(turn: Turn, event: PromptPlayed) -> None:
    step = _current_play(turn, event.context)
    if step is not None:
        turn.go(step.next_after(failed=False), "played")


def prompt_failed(turn: Turn, event: PromptFailed) -> None:
    step = _current_play(turn, event.context)
    if step is not None:
        turn.go(step.next_after(failed=True), "failed")


def digits_pressed(turn: Turn, event: DigitsPressed) -> None:
    step = _current_menu(turn, event.context)
    if step is None:
        return
    # A collect's entry ends at a stop key: a lone one is no entry at all, as ACS reports it.
    keys = step.entry(event.digits) if isinstance(step, CollectStep) else event.digits
    if not keys:
        missed(turn, step, MenuFailure.NO_INPUT)
        return
    if isinstance(step, CollectStep):
        _collected(turn, step, keys)
        return
    choice = step.choice(keys)
    if choice is None:
        missed(turn, step, MenuFailure.INVALID)
    else:
        turn.go(choice.next, f"choice:{choice.next}")


def _collected(turn: Turn, step: CollectStep, digits: str) -> None:
    if len(digits) < step.min_digits or not set(digits) <= DIGITS:
        missed(turn, step, MenuFailure.INVALID)
        return
    kept = tuple(pair for pair in turn.run.collected if pair[0] != step.id)
    turn.update(collected=(*kept, (step.id, digits)))
    turn.go(step.next, "collected")  # the path says that keys were kept, never which


def recognize_ended(turn: Turn, event: RecognizeEnded) -> None:
    step = _current_menu(turn, event.context)
    if step is not None:
        missed(turn, step, event.failure)


def missed(turn: Turn, step: Listening, failure: MenuFailure) -> None:
    """An attempt without a choice: reprompt while retries last, then route by the failure."""
    if failure is not MenuFailure.FAILED and turn.run.attempt <= step.retries:
        turn.note(failure.value)
        turn.retry_menu(step)
    else:
        turn.go(step.next_for(failure), failure.value)


def media_overdue(turn: Turn) -> bool:
    """The reconciler's tick past a play's or a menu's deadline (a callback was lost): stop the
    media, move on as a failure. False if the run waits for no media."""
    step = turn.step if turn.run.step is not None else None
    if turn.run.waiting is Waiting.PLAY and isinstance(step, PlayStep):
        turn.cancel_media()
        turn.go(step.next_after(failed=True), OVERDUE)
        return True
    if turn.run.waiting is Waiting.MENU and isinstance(step, MenuStep | CollectStep):
        turn.cancel_media()
        turn.go(step.fallback, OVERDUE)
        return True
    return False
