"""The dry run: drive the engine with scripted outcomes and report the path, nothing sent.

`simulate` plays ACS and the ask service: it answers each wait of the run with the script's next
outcome for that step (or the default, `script.py`), feeds it to the same `advance` a live call
uses, and keeps the actions each step would have sent. It stops when the run finishes; the
run's own `maxSteps` bounds it, and a hard cap on events guards the loop besides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from callcontrol.domain.flows.actions import FlowAction, FlowContext, Verb, parse_context
from callcontrol.domain.flows.engine import advance
from callcontrol.domain.flows.events import (
    AskAnswered,
    AskFailed,
    CallConnected,
    FlowEvent,
    FlowStarted,
    InvitationAnswered,
    InvitationCancelled,
    InvitationFailed,
    ParticipantRemoved,
    TransferAccepted,
    TransferFailed,
)
from callcontrol.domain.flows.media_events import DigitsPressed, PromptFailed, PromptPlayed, RecognizeEnded
from callcontrol.domain.flows.model import MAX_RING_TARGETS, Flow
from callcontrol.domain.flows.prompts import MenuFailure
from callcontrol.domain.flows.script import (
    ANSWERED,
    DEFAULT_ASK,
    DEFAULT_MENU,
    DEFAULT_PLAY,
    DEFAULT_RING,
    DEFAULT_TRANSFER,
    AskOutcome,
    MenuOutcome,
    PlayOutcome,
    RingOutcome,
    ScriptedOutcome,
    TransferOutcome,
)
from callcontrol.domain.flows.state import CallFacts, FlowOutcome, FlowRun, InvitationStatus, Waiting

DRY_RUN_ID: Final = "dry-run"
# A fixed clock: a dry run's output depends on the flow and the script only.
DRY_RUN_START: Final = datetime(2000, 1, 1, tzinfo=UTC)
# Each step meets at most a few events per target (add, answer or fail, cancel, remove).
_EVENTS_PER_STEP: Final = 4 * MAX_RING_TARGETS + 4


@dataclass(frozen=True)
class SimulatedStep:
    step: str
    visit: int
    attempt: int
    outcome: str | None
    actions: tuple[FlowAction, ...]

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "visit": self.visit, "attempt": self.attempt, "outcome": self.outcome,
                "actions": [action.to_json() for action in self.actions]}


@dataclass(frozen=True)
class Simulation:
    path: tuple[SimulatedStep, ...]
    outcome: FlowOutcome | None
    steps_taken: int
    defaults: tuple[str, ...]  # "<step>#<n>: <default outcome>" for every outcome not scripted

    def to_json(self) -> dict[str, Any]:
        return {"path": [step.to_json() for step in self.path],
                "outcome": self.outcome.value if self.outcome else None,
                "stepsTaken": self.steps_taken, "defaultsUsed": list(self.defaults)}


@dataclass
class _Player:
    flow: Flow
    script: Mapping[str, Sequence[ScriptedOutcome]]
    used: dict[str, int] = field(default_factory=dict)
    defaults: list[str] = field(default_factory=list)

    def take(self, step: str, default: ScriptedOutcome) -> ScriptedOutcome:
        position = self.used.get(step, 0)
        self.used[step] = position + 1
        given = self.script.get(step, ())
        if position < len(given):
            return given[position]
        self.defaults.append(f"{step}#{position + 1}: {_describe(default)}")
        return default

    def events(self, run: FlowRun) -> list[FlowEvent]:
        """What the outside world does next, given what the run waits for."""
        step = run.step or ""
        if run.waiting is Waiting.ANSWER:
            return [CallConnected()]
        if run.waiting is Waiting.RING:
            return self._ring(run, step)
        if run.waiting is Waiting.SETTLE:
            return [InvitationCancelled(item.context) if item.status is InvitationStatus.CANCELLING
                    else ParticipantRemoved(item.context) for item in run.pending]
        current = FlowContext(run.run_id, run.visit, step, run.attempt, Verb.ASK)
        if run.waiting is Waiting.ASK:
            ask = self.take(step, DEFAULT_ASK)
            assert isinstance(ask, AskOutcome)
            if ask.answer is not None:
                return [AskAnswered(current.render(), ask.answer)]
            return [AskFailed(current.render(), ask.failure or DEFAULT_ASK.failure or "")]
        if run.waiting is Waiting.TRANSFER:
            transfer = self.take(step, DEFAULT_TRANSFER)
            assert isinstance(transfer, TransferOutcome)
            context = current.with_verb(Verb.TRANSFER).render()
            return [TransferAccepted(context) if transfer.accepted else TransferFailed(context)]
        return self._media(run, current)

    def _media(self, run: FlowRun, current: FlowContext) -> list[FlowEvent]:
        if run.waiting is Waiting.PLAY:
            play = self.take(current.step, DEFAULT_PLAY)
            assert isinstance(play, PlayOutcome)
            context = current.with_verb(Verb.PLAY).render()
            return [PromptPlayed(context) if play.played else PromptFailed(context)]
        if run.waiting is Waiting.MENU:
            menu = self.take(current.step, DEFAULT_MENU)
            assert isinstance(menu, MenuOutcome)
            context = current.with_verb(Verb.RECOGNIZE).render()
            if menu.digits is not None:
                return [DigitsPressed(context, menu.digits)]
            return [RecognizeEnded(context, menu.failure or MenuFailure.NO_INPUT)]
        return []

    def _ring(self, run: FlowRun, step: str) -> list[FlowEvent]:
        ring = self.take(step, DEFAULT_RING)
        assert isinstance(ring, RingOutcome)
        ringing = [item for item in run.pending if item.status is InvitationStatus.RINGING]
        if ring.outcome == ANSWERED:
            chosen = next((item for item in ringing if item.target_index == ring.target), ringing[0])
            return [InvitationAnswered(chosen.context)]
        return [InvitationFailed(item.context, ring.outcome) for item in ringing if ring.outcome != ANSWERED]


def simulate(
    flow: Flow,
    facts: CallFacts,
    script: Mapping[str, Sequence[ScriptedOutcome]],
    *,
    answered: bool = False,
    now: datetime = DRY_RUN_START,
) -> Simulation:
    """Run `flow` to its end against `script`; return the path and what each step would send."""
    player = _Player(flow, script)
    run = FlowRun.new(flow.name, DRY_RUN_ID, DRY_RUN_ID, facts, answered=answered)
    sent: list[FlowAction] = []
    queue: list[FlowEvent] = [FlowStarted()]
    for _ in range(flow.max_steps * _EVENTS_PER_STEP):
        if not queue:
            queue = player.events(run)
            if not queue:
                break
        run, actions = advance(flow, run, queue.pop(0), now)
        sent.extend(actions)
        if run.finished:
            break
    return Simulation(_path(run, sent), run.outcome, run.steps_taken, tuple(player.defaults))


def _path(run: FlowRun, sent: Sequence[FlowAction]) -> tuple[SimulatedStep, ...]:
    by_entry: dict[tuple[int, int], list[FlowAction]] = {}
    for action in sent:
        context = parse_context(action.context)
        if context is not None:
            by_entry.setdefault((context.visit, context.attempt), []).append(action)
    return tuple(
        SimulatedStep(entry.step, entry.visit, entry.attempt, entry.outcome,
                      tuple(by_entry.get((entry.visit, entry.attempt), ())))
        for entry in run.path
    )


def _describe(outcome: ScriptedOutcome) -> str:
    if isinstance(outcome, RingOutcome):
        return str(outcome.outcome)
    if isinstance(outcome, PlayOutcome):
        return "played" if outcome.played else "failed"
    if isinstance(outcome, MenuOutcome):
        return str(outcome.failure or "digits")
    if isinstance(outcome, AskOutcome):
        return outcome.failure or "answer"
    return "accepted" if outcome.accepted else "failed"
