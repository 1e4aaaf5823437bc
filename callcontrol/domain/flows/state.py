"""A flow run's state: where the call is in its flow, kept with the call record.

It is written in the same guarded write as the change that moved it (the store's `modify`), so a
run is never ahead of or behind its call. `to_json` / `from_json` give the stored shape,
versioned by `format`; a format this code does not know is refused, never misread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.flows.actions import RUN_ID
from callcontrol.domain.flows.model import RingFailure
from callcontrol.domain.identifiers import Identifier, parse_lenient_identifier

STATE_FORMAT: Final = 1


def run_id_for(*parts: str) -> str:
    """A run id derived from what identifies the start (e.g. the offer's key and the flow name):
    every redelivery of the same start names the same run, and the id is safe in a context."""
    return hashlib.sha256("|".join(("flow-run", *parts)).encode()).hexdigest()[:24]


class RunStatus(StrEnum):
    PENDING = "pending"  # created, FlowStarted not applied yet
    RUNNING = "running"
    FINISHED = "finished"


class Waiting(StrEnum):
    """What the current step waits for; each wait has a deadline the reconciler enforces."""

    NOTHING = "nothing"
    ANSWER = "answer"  # the app's answer before a ring or transfer
    RING = "ring"  # invitations out, nobody connected yet
    SETTLE = "settle"  # a target connected; the other invitations are being cancelled or removed
    ASK = "ask"
    TRANSFER = "transfer"
    PLAY = "play"  # a play step's prompt is playing
    MENU = "menu"  # a menu's prompt plays and its tones are awaited (one attempt)


class InvitationStatus(StrEnum):
    RINGING = "ringing"
    CANCELLING = "cancelling"  # cancel sent; it may still be answered (then it is removed)
    REMOVING = "removing"  # answered after losing the race; remove sent


class FlowOutcome(StrEnum):
    CONNECTED = "connected"  # a ring target answered; the app left the call to them
    TRANSFERRED = "transferred"
    REDIRECTED = "redirected"
    REJECTED = "rejected"
    ANSWERED = "answered"  # an ask answered the call inline: the app holds it
    HUNG_UP = "hungUp"
    CALLER_LEFT = "callerLeft"
    CALL_ENDED = "callEnded"
    MAX_STEPS = "maxSteps"
    FAILED = "failed"  # the answer failed or never took


@dataclass(frozen=True)
class Invitation:
    context: str  # the add's operationContext
    target_index: int
    status: InvitationStatus


@dataclass(frozen=True)
class PathEntry:
    """One step entered (a sequential ring: one entry per attempt) and how it ended."""

    step: str
    visit: int
    attempt: int = 1
    outcome: str | None = None


@dataclass(frozen=True)
class CallFacts:
    """What an ask tells the service about the call (and what a run needs to know of it)."""

    server_call_id: str | None = None
    correlation_id: str | None = None
    caller: Identifier | None = None
    callee: Identifier | None = None
    headers: tuple[tuple[str, str], ...] = ()  # custom SIP / VoIP headers, as the offer had them


@dataclass(frozen=True)
class FlowRun:
    flow: str
    run_id: str
    call_key: str  # stable id of the call (the offer's key): part of every repeatability id
    version: int | None = None  # the rule-set version whose flow this run follows, to the end
    facts: CallFacts = field(default_factory=CallFacts)
    status: RunStatus = RunStatus.PENDING
    answered: bool = False
    step: str | None = None
    visit: int = 0
    attempt: int = 0
    waiting: Waiting = Waiting.NOTHING
    pending: tuple[Invitation, ...] = ()
    winner: str | None = None
    last_failure: RingFailure | None = None
    removed: tuple[str, ...] = ()  # adds whose answer was met with a remove (asked once only)
    path: tuple[PathEntry, ...] = ()
    steps_taken: int = 0
    started_at: datetime | None = None
    deadline: datetime | None = None
    outcome: FlowOutcome | None = None
    # Keys a collect step gathered, by its id, for a later ask; personal data: never shown or
    # announced, and dropped when the run finishes.
    collected: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def new(
        cls, flow: str, run_id: str, call_key: str, facts: CallFacts, *, answered: bool = False,
        version: int | None = None,
    ) -> FlowRun:
        """A run not started yet (apply FlowStarted). `run_id` must match RUN_ID (see run_id_for).

        Raises:
            ValueError: for a run id that cannot travel inside an operationContext.
        """
        if not RUN_ID.fullmatch(run_id):
            raise ValueError("a run id is 1 to 64 letters, digits, '_' or '-'")
        return cls(flow=flow, run_id=run_id, call_key=call_key, facts=facts, answered=answered,
                   version=version)

    @property
    def finished(self) -> bool:
        return self.status is RunStatus.FINISHED

    def invitation(self, context: str) -> Invitation | None:
        return next((item for item in self.pending if item.context == context), None)

    def to_json(self) -> dict[str, Any]:
        body = {
            "format": STATE_FORMAT,
            "flow": self.flow,
            "runId": self.run_id,
            "callKey": self.call_key,
            "version": self.version,
            "facts": _facts_json(self.facts),
            "status": self.status.value,
            "answered": self.answered,
            "step": self.step,
            "visit": self.visit,
            "attempt": self.attempt,
            "waiting": self.waiting.value,
            "pending": [[i.context, i.target_index, i.status.value] for i in self.pending],
            "winner": self.winner,
            "lastFailure": self.last_failure.value if self.last_failure else None,
            "removed": list(self.removed),
            "path": [[p.step, p.visit, p.attempt, p.outcome] for p in self.path],
            "stepsTaken": self.steps_taken,
            "startedAt": _iso(self.started_at),
            "deadline": _iso(self.deadline),
            "outcome": self.outcome.value if self.outcome else None,
        }
        if self.collected:  # only while a collect's keys await an ask: a run without reads as stored
            body["collected"] = [list(pair) for pair in self.collected]
        return body

    @classmethod
    def from_json(cls, data: object) -> FlowRun:
        """Read a stored run.

        Raises:
            InvalidInput: naming the member, for a malformed run or an unknown format.
        """
        if not isinstance(data, dict):
            raise _bad("flowRun", "must be a JSON object")
        if data.get("format") != STATE_FORMAT:
            shown = repr(data.get("format"))
            raise _bad("flowRun.format", f"{shown} is not a flow-run format this release reads")
        try:
            return cls(
                flow=data["flow"], run_id=data["runId"], call_key=data["callKey"],
                version=int(data["version"]) if data["version"] is not None else None,
                facts=_facts_from(data["facts"]),
                status=RunStatus(data["status"]), answered=bool(data["answered"]),
                step=data["step"], visit=int(data["visit"]), attempt=int(data["attempt"]),
                waiting=Waiting(data["waiting"]),
                pending=tuple(Invitation(c, int(i), InvitationStatus(s)) for c, i, s in data["pending"]),
                winner=data["winner"],
                last_failure=RingFailure(data["lastFailure"]) if data["lastFailure"] else None,
                removed=tuple(data["removed"]),
                path=tuple(PathEntry(s, int(v), int(a), o) for s, v, a, o in data["path"]),
                steps_taken=int(data["stepsTaken"]),
                started_at=_time(data["startedAt"]), deadline=_time(data["deadline"]),
                outcome=FlowOutcome(data["outcome"]) if data["outcome"] else None,
                # Absent from runs stored before collect steps existed.
                collected=tuple((str(s), str(d)) for s, d in data.get("collected", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad("flowRun", f"is malformed ({type(exc).__name__}: {exc})") from None


def _facts_json(facts: CallFacts) -> dict[str, Any]:
    return {
        "serverCallId": facts.server_call_id,
        "correlationId": facts.correlation_id,
        "caller": facts.caller.to_json() if facts.caller else None,
        "callee": facts.callee.to_json() if facts.callee else None,
        "headers": [list(pair) for pair in facts.headers],
    }


def _facts_from(data: dict[str, Any]) -> CallFacts:
    caller, callee = data["caller"], data["callee"]
    return CallFacts(
        server_call_id=data["serverCallId"],
        correlation_id=data["correlationId"],
        caller=parse_lenient_identifier(caller, "flowRun.facts.caller") if caller else None,
        callee=parse_lenient_identifier(callee, "flowRun.facts.callee") if callee else None,
        headers=tuple((str(name), str(value)) for name, value in data["headers"]),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _bad(where: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{where} {reason}", [FieldProblem(where, reason)])
