"""Call flows as data: a named graph of steps with explicit transitions.

A flow is declared in the rule-set document (`flows.<name>`), parsed by `parsing.parse_flows`.
Steps are frozen dataclasses, one per type; `Step` is their union. A new step
is one more dataclass here, one more parser in `parsing._STEP_PARSERS` and one more entry in
`turn._ENTER`: nothing else branches on the step type (`play` and `menu`: prompts.py, menus.py).

Bounds (all checked by the parser): a ring's invitation timeout is 1-180 s (ACS accepts 0-180;
0 would ring nobody), an ask's deadline is at most 10 s (the caller is waiting), a run takes at
most `max_steps` steps (default 25, at most 100), which is what bounds every loop a `goto` or a
transition can make.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from callcontrol.domain.flows.prompts import (
    DEFAULT_INITIAL_SILENCE_SECONDS,
    DEFAULT_INTER_DIGIT_SECONDS,
    DEFAULT_MAX_DIGITS,
    DEFAULT_RETRIES,
    MenuChoice,
    MenuFailure,
    Prompt,
)
from callcontrol.domain.identifiers import Identifier

DEFAULT_MAX_STEPS: Final = 25
MAX_STEPS_LIMIT: Final = 100
DEFAULT_RING_TIMEOUT_SECONDS: Final = 30
MIN_RING_TIMEOUT_SECONDS: Final = 1
MAX_RING_TIMEOUT_SECONDS: Final = 180  # ACS's invitationTimeoutInSeconds maximum
MAX_RING_TARGETS: Final = 10
DEFAULT_ASK_TIMEOUT_SECONDS: Final = 3.0
MIN_ASK_TIMEOUT_SECONDS: Final = 0.1
MAX_ASK_TIMEOUT_SECONDS: Final = 10.0


class StepType(StrEnum):
    RING = "ring"
    ASK = "ask"
    TRANSFER = "transfer"
    REDIRECT = "redirect"
    REJECT = "reject"
    HANGUP = "hangup"
    GOTO = "goto"
    PLAY = "play"
    MENU = "menu"
    COLLECT = "collect"


class RingMode(StrEnum):
    SIMULTANEOUS = "simultaneous"  # every target at once; the first to answer is connected
    SEQUENTIAL = "sequential"  # one target at a time, each with its own timeout


class RingFailure(StrEnum):
    """Why an invitation ended without the target joining (read from AddParticipantFailed)."""

    NO_ANSWER = "noAnswer"
    BUSY = "busy"
    DECLINED = "declined"
    FAILED = "failed"


RejectReason = str  # "none", "busy" or "forbidden": the values ACS RejectCall takes
REJECT_REASONS: Final = ("none", "busy", "forbidden")


@dataclass(frozen=True)
class RingTarget:
    """One party a ring step invites; a phone target always carries the caller id to show."""

    identifier: Identifier
    caller_id: str | None = None  # E.164; required for a phone number
    timeout_seconds: int | None = None  # overrides the step's, for this target only


@dataclass(frozen=True)
class RingStep:
    id: str
    targets: tuple[RingTarget, ...]
    mode: RingMode = RingMode.SIMULTANEOUS
    timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS
    # Where each way of not being answered leads; a missing one falls back to `fallback`, and
    # with neither the flow ends (hang up for everyone).
    on_failure: tuple[tuple[RingFailure, str], ...] = ()
    fallback: str | None = None
    type: StepType = StepType.RING

    def timeout_for(self, index: int) -> int:
        own = self.targets[index].timeout_seconds
        return own if own is not None else self.timeout_seconds

    def next_for(self, failure: RingFailure) -> str | None:
        chosen = dict(self.on_failure).get(failure)
        return chosen if chosen is not None else self.fallback


@dataclass(frozen=True)
class AskStep:
    """POST the call's description to `url` (signed); the answer names the next step.

    `choices` are the step ids an answer may name (so the graph stays checkable); before the
    call is answered the answer may instead be an inline answer / reject / redirect.
    """

    id: str
    url: str
    fallback: str
    timeout_seconds: float = DEFAULT_ASK_TIMEOUT_SECONDS
    choices: tuple[str, ...] = ()
    type: StepType = StepType.ASK


@dataclass(frozen=True)
class TransferStep:
    id: str
    target: Identifier
    caller_id: str | None = None
    on_failed: str | None = None  # with none, a failed transfer ends the flow (hang up)
    type: StepType = StepType.TRANSFER


@dataclass(frozen=True)
class RedirectStep:
    """Only before the call is answered (ACS RedirectCall); the parser refuses it after."""

    id: str
    target: Identifier
    type: StepType = StepType.REDIRECT


@dataclass(frozen=True)
class RejectStep:
    """Only before the call is answered (ACS RejectCall); the parser refuses it after."""

    id: str
    reason: RejectReason = "none"
    type: StepType = StepType.REJECT


@dataclass(frozen=True)
class HangUpStep:
    """End the call for everyone (before the answer: reject it, reason none)."""

    id: str
    type: StepType = StepType.HANGUP


@dataclass(frozen=True)
class GotoStep:
    id: str
    next: str
    type: StepType = StepType.GOTO


@dataclass(frozen=True)
class PlayStep:
    """Play `prompt` to the call (answered first if needed), then `next` (none: the run ends).
    A prompt ACS cannot play takes `onFailed`, else `next`: a lost greeting is no reason to drop
    the caller."""

    id: str
    prompt: Prompt
    next: str | None = None
    on_failed: str | None = None
    type: StepType = StepType.PLAY

    def next_after(self, failed: bool) -> str | None:
        return (self.on_failed or self.next) if failed else self.next


class _Listens:
    """What a menu and a collect step share: the reprompt after the first attempt, and where
    each failure goes (the dataclasses below declare the fields)."""

    prompt: Prompt
    reprompt: Prompt | None
    no_input: str | None
    invalid_input: str | None
    fallback: str | None

    def prompt_for(self, attempt: int) -> Prompt:
        return self.prompt if attempt <= 1 or self.reprompt is None else self.reprompt

    def next_for(self, failure: MenuFailure) -> str | None:
        chosen = {MenuFailure.NO_INPUT: self.no_input, MenuFailure.INVALID: self.invalid_input}.get(failure)
        return chosen if chosen is not None else self.fallback


@dataclass(frozen=True)
class MenuStep(_Listens):
    """Prompt, gather DTMF tones, go to the step of the choice pressed (prompts.py: the rules)."""

    id: str
    prompt: Prompt
    choices: tuple[MenuChoice, ...]
    max_digits: int = DEFAULT_MAX_DIGITS
    initial_silence_seconds: int = DEFAULT_INITIAL_SILENCE_SECONDS
    inter_digit_seconds: int = DEFAULT_INTER_DIGIT_SECONDS
    retries: int = DEFAULT_RETRIES
    reprompt: Prompt | None = None
    no_input: str | None = None
    invalid_input: str | None = None
    fallback: str | None = None
    type: StepType = StepType.MENU

    def choice(self, digits: str) -> MenuChoice | None:
        return next((choice for choice in self.choices if choice.digits == digits), None)


@dataclass(frozen=True)
class CollectStep(_Listens):
    """Prompt, gather `minDigits` to `maxDigits` keys (an account number, a PIN), keep them on the
    run for a later ask step, go to `next`. Fewer keys than `minDigits` are invalid input; no
    keys, no input; both retried like a menu's. `stop_tones` end the entry early (not kept)."""

    id: str
    prompt: Prompt
    next: str
    max_digits: int
    min_digits: int = 1
    stop_tones: str = ""
    initial_silence_seconds: int = DEFAULT_INITIAL_SILENCE_SECONDS
    inter_digit_seconds: int = DEFAULT_INTER_DIGIT_SECONDS
    retries: int = DEFAULT_RETRIES
    reprompt: Prompt | None = None
    no_input: str | None = None
    invalid_input: str | None = None
    fallback: str | None = None
    type: StepType = StepType.COLLECT

    def entry(self, digits: str) -> str:
        """The keys before the first stop tone: ACS ends the entry there, so a stop key (and
        anything after it) is neither counted against minDigits nor kept, whether or not a
        RecognizeCompleted (or a dry run's script) reports it."""
        ends = [digits.index(key) for key in self.stop_tones if key in digits]
        return digits[:min(ends)] if ends else digits


Listening = MenuStep | CollectStep  # the steps that gather keys (one ACS Recognize an attempt)
Step = (RingStep | AskStep | TransferStep | RedirectStep | RejectStep | HangUpStep | GotoStep | PlayStep
        | MenuStep | CollectStep)


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    start: str
    max_steps: int = DEFAULT_MAX_STEPS

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)


def answers_call(step: Step) -> bool:
    """Steps that need the call answered first (ACS adds, transfers and plays on a connected call)."""
    return isinstance(step, RingStep | TransferStep | PlayStep | MenuStep | CollectStep)
