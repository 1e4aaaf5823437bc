"""A dry run's script: the outcome each step meets, in order, and the defaults for the rest.

JSON form (per step id, consumed in order: a sequential ring takes one per attempt, a
simultaneous ring one per visit, an ask or transfer one per visit):

    {"ring-team": ["noAnswer", {"outcome": "answered", "target": 1}],
     "ask-crm": [{"next": "sales"}, "timeout", {"action": {"type": "reject"}}],
     "to-desk": ["failed"],
     "main": ["9", "noInput", "1"], "welcome": ["played"]}

A menu or collect step meets one outcome per attempt: the keys pressed (`"1"`, `{"digits": "12"}`), `noInput`,
`invalid` (an entry cut by the inter-digit timeout, reported as a RecognizeFailed) or `failed`
(the prompt could not play); keys that match no choice are invalid input like on a call. A
play step meets `played` or `failed`.

What the script does not say, the run meets by default: a ring attempt is not answered
(`noAnswer`), an ask times out (`timeout`), a transfer is accepted, a prompt plays, a menu hears
nothing (`noInput`). Each default taken is listed
in the result, so a dry run never hides that it guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import fields as f
from callcontrol.domain.flows.ask import parse_ask_answer
from callcontrol.domain.flows.events import AskAnswer, AskFailure
from callcontrol.domain.flows.fields import Problems, child
from callcontrol.domain.flows.model import (
    AskStep,
    CollectStep,
    Flow,
    MenuStep,
    PlayStep,
    RingFailure,
    RingStep,
    TransferStep,
)
from callcontrol.domain.flows.prompts import DIGITS, MenuFailure

ANSWERED: Final = "answered"


@dataclass(frozen=True)
class RingOutcome:
    """`answered` (by `target`, an index into the step's targets; default the first) or a failure."""

    outcome: Literal["answered"] | RingFailure
    target: int = 0


@dataclass(frozen=True)
class AskOutcome:
    answer: AskAnswer | None = None
    failure: str | None = None  # an AskFailure value, when there is no answer


@dataclass(frozen=True)
class TransferOutcome:
    accepted: bool = True


@dataclass(frozen=True)
class PlayOutcome:
    played: bool = True


@dataclass(frozen=True)
class MenuOutcome:
    """The keys pressed in one attempt, or how it ended without any."""

    digits: str | None = None
    failure: MenuFailure | None = None


ScriptedOutcome = RingOutcome | AskOutcome | TransferOutcome | PlayOutcome | MenuOutcome
_SCRIPTED = (RingStep, AskStep, TransferStep, PlayStep, MenuStep, CollectStep)
Script = Mapping[str, Sequence[ScriptedOutcome]]

DEFAULT_RING: Final = RingOutcome(RingFailure.NO_ANSWER)
DEFAULT_ASK: Final = AskOutcome(failure=AskFailure.TIMEOUT)
DEFAULT_TRANSFER: Final = TransferOutcome(accepted=True)
DEFAULT_PLAY: Final = PlayOutcome(played=True)
DEFAULT_MENU: Final = MenuOutcome(failure=MenuFailure.NO_INPUT)
_ASK_FAILURES: Final = (AskFailure.TIMEOUT, AskFailure.ERROR, AskFailure.INVALID)


def parse_script(
    payload: object, flow: Flow, where: str = "script"
) -> dict[str, tuple[ScriptedOutcome, ...]]:
    """Read a script for `flow`.

    Raises:
        InvalidInput: naming the entry (`script.ring-team[1]`), for an unknown step, a step
            that has no outcome to script, or an outcome that step cannot meet.
    """
    problems = Problems()
    script: dict[str, tuple[ScriptedOutcome, ...]] = {}
    body = f.obj(payload, where, problems, (step.id for step in flow.steps))
    for step_id, raw in (body or {}).items():
        step = flow.step(step_id)
        at = child(where, step_id)
        if step is None:
            continue  # already named as not a known field
        if not isinstance(step, _SCRIPTED):
            problems.add(at, f"is a {step.type.value} step: it meets no outcome to script")
            continue
        if not isinstance(raw, list):
            problems.add(at, "must be a JSON array of outcomes, in the order they happen")
            continue
        read = [_outcome(step, item, child(at, index), problems) for index, item in enumerate(raw)]
        script[step_id] = tuple(item for item in read if item is not None)
    problems.fail("script")
    return script


def _outcome(step: RingStep | AskStep | TransferStep | PlayStep | MenuStep | CollectStep, raw: object,
             where: str, problems: Problems) -> ScriptedOutcome | None:
    if isinstance(step, RingStep):
        return _ring(step, raw, where, problems)
    if isinstance(step, AskStep):
        return _ask(raw, where, problems)
    if isinstance(step, MenuStep | CollectStep):
        return _menu(step, raw, where, problems)
    if isinstance(step, PlayStep):
        if raw in ("played", "failed"):
            return PlayOutcome(played=raw == "played")
        problems.add(where, "must be played or failed")
        return None
    if raw in ("accepted", "failed"):
        return TransferOutcome(accepted=raw == "accepted")
    problems.add(where, "must be accepted or failed")
    return None


def _ring(step: RingStep, raw: object, where: str, problems: Problems) -> RingOutcome | None:
    choices = f"{ANSWERED}, {', '.join(failure.value for failure in RingFailure)}"
    target = 0
    if isinstance(raw, dict):
        body = f.obj(raw, where, problems, ("outcome", "target"))
        index = f.number(raw, "target", where, problems, low=0, high=len(step.targets) - 1, integer=True)
        target = int(index) if index is not None else 0
        raw = body.get("outcome") if body is not None else None
    if raw == ANSWERED:
        return RingOutcome(ANSWERED, target)
    if isinstance(raw, str) and raw in tuple(RingFailure):
        return RingOutcome(RingFailure(raw))
    problems.add(where, f"must be one of {choices}")
    return None


def _ask(raw: object, where: str, problems: Problems) -> AskOutcome | None:
    if raw in _ASK_FAILURES:
        return AskOutcome(failure=str(raw))
    if not isinstance(raw, dict):
        problems.add(where, "must be timeout, error, invalid or a reply such as {\"next\": \"<step>\"}")
        return None
    try:
        return AskOutcome(answer=parse_ask_answer(raw, where))
    except InvalidInput as exc:
        problems.extend(exc.problems)
        return None


def _menu(step: MenuStep | CollectStep, raw: object, where: str, problems: Problems) -> MenuOutcome | None:
    if isinstance(raw, dict):
        body = f.obj(raw, where, problems, ("digits",))
        raw = body.get("digits") if body is not None else None
        if not isinstance(raw, str):
            problems.add(child(where, "digits"), "is required: the keys pressed, e.g. \"1\"")
            return None
    if raw in (MenuFailure.NO_INPUT, MenuFailure.INVALID, MenuFailure.FAILED):
        return MenuOutcome(failure=MenuFailure(str(raw)))
    if isinstance(raw, str) and raw and set(raw) <= DIGITS and len(_counted(step, raw)) <= step.max_digits:
        return MenuOutcome(digits=raw)
    problems.add(where, f"must be the keys pressed (1 to {step.max_digits} of 0-9 * #), "
                        "noInput, invalid or failed")
    return None


def _counted(step: MenuStep | CollectStep, keys: str) -> str:
    """The keys maxDigits bounds: a collect's stop key ends the entry and does not count."""
    return step.entry(keys) if isinstance(step, CollectStep) else keys
