"""What the engine asks for: ACS requests (and the ask POST), each with a deterministic identity.

Every action carries an operationContext `flow:<run>:<visit>:<step>:<attempt>:<verb>[:<target>]`
and a Repeatability-Request-ID derived from it and the call (repeatability.for_flow_action).
`visit` is the run's step count when the step was entered, so a step entered again by a loop
gets new contexts while a redelivered callback maps to the same ones: the same request is never
asked for twice, and if the wiring retries one, ACS sees the same id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from callcontrol.domain.flows.prompts import Prompt
from callcontrol.domain.identifiers import Identifier

CONTEXT_PREFIX: Final = "flow"
RUN_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Verb:
    """The last-but-one part of a context: what the request does."""

    ANSWER: Final = "answer"
    REJECT: Final = "reject"
    REDIRECT: Final = "redirect"
    ADD: Final = "add"
    CANCEL: Final = "cancel"
    REMOVE: Final = "remove"
    TRANSFER: Final = "transfer"
    HANGUP: Final = "hangup"  # a hangup step
    LEAVE: Final = "leave"  # the app's leg leaves once a target is connected
    END: Final = "end"  # the engine ends the run (max steps, no next step, caller left, overdue)
    ASK: Final = "ask"
    PLAY: Final = "play"
    RECOGNIZE: Final = "recognize"
    CANCEL_MEDIA: Final = "cancelmedia"  # stop what plays or listens (an overdue prompt or menu)


@dataclass(frozen=True)
class FlowContext:
    run_id: str
    visit: int
    step: str
    attempt: int
    verb: str
    target: int | None = None

    def render(self) -> str:
        parts = [CONTEXT_PREFIX, self.run_id, str(self.visit), self.step, str(self.attempt), self.verb]
        return ":".join(parts if self.target is None else [*parts, str(self.target)])

    def with_verb(self, verb: str) -> FlowContext:
        return FlowContext(self.run_id, self.visit, self.step, self.attempt, verb, self.target)


def parse_context(context: str | None) -> FlowContext | None:
    """A flow's operationContext read back (from a callback), or None for anything else."""
    parts = (context or "").split(":")
    if len(parts) not in (6, 7) or parts[0] != CONTEXT_PREFIX:
        return None
    numbers = [parts[2], parts[4], *parts[6:]]
    if not all(part.isascii() and part.isdigit() and len(part) < 6 for part in numbers):
        return None
    target = int(parts[6]) if len(parts) == 7 else None
    return FlowContext(parts[1], int(parts[2]), parts[3], int(parts[4]), parts[5], target)


def same_invitation(context: str, verb: str = Verb.ADD) -> str | None:
    """The add's context from its cancel's or remove's (callbacks carry the latter)."""
    parsed = parse_context(context)
    if parsed is None or parsed.target is None:
        return None
    return parsed.with_verb(verb).render()


@dataclass(frozen=True)
class FlowAction:
    context: str
    repeatability_id: str

    @property
    def name(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "operationContext": self.context, "repeatabilityId": self.repeatability_id,
                **self._fields()}

    def _fields(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class AnswerCall(FlowAction):
    pass


@dataclass(frozen=True)
class RejectCall(FlowAction):
    reason: str = "none"

    def _fields(self) -> dict[str, Any]:
        return {"reason": self.reason}


@dataclass(frozen=True)
class RedirectCall(FlowAction):
    target: Identifier = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"target": self.target.to_json()}


@dataclass(frozen=True)
class AddParticipant(FlowAction):
    target: Identifier = field(kw_only=True)
    caller_id: str | None = field(kw_only=True)
    invitation_timeout_seconds: int = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"target": self.target.to_json(), "sourceCallerIdNumber": self.caller_id,
                "invitationTimeoutInSeconds": self.invitation_timeout_seconds}


@dataclass(frozen=True)
class CancelAddParticipant(FlowAction):
    """Cancel the invitation sent with `add_context`: the wiring reads its invitationId from the
    call record's operation of that context (noted when the add was accepted)."""

    add_context: str = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"addOperationContext": self.add_context}


@dataclass(frozen=True)
class RemoveParticipant(FlowAction):
    target: Identifier = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"target": self.target.to_json()}


@dataclass(frozen=True)
class TransferCall(FlowAction):
    """TransferToParticipant; `transferee` is only needed with more than one other participant,
    which a flow never has when it transfers (a connected ring leaves the call)."""

    target: Identifier = field(kw_only=True)
    caller_id: str | None = field(kw_only=True)
    transferee: Identifier | None = field(default=None, kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"target": self.target.to_json(), "sourceCallerIdNumber": self.caller_id,
                "transferee": self.transferee.to_json() if self.transferee else None}


@dataclass(frozen=True)
class HangUp(FlowAction):
    """for_everyone=False removes only the app's leg (the others stay connected)."""

    for_everyone: bool = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"forEveryone": self.for_everyone}


@dataclass(frozen=True)
class AskRequest(FlowAction):
    """POST `body` (JSON) to `url`, signed (ask.sign), within `timeout_seconds`; its outcome comes
    back as AskAnswered / AskFailed. `repeatability_id` goes along as an idempotency header."""

    url: str = field(kw_only=True)
    body: dict[str, Any] = field(kw_only=True)
    timeout_seconds: float = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"url": self.url, "timeoutSeconds": self.timeout_seconds, "body": self.body}


@dataclass(frozen=True)
class PlayMedia(FlowAction):
    """CallMedia_Play of `prompt` to everyone in the call; PlayCompleted / PlayFailed settle it."""

    prompt: Prompt = field(kw_only=True)

    def _fields(self) -> dict[str, Any]:
        return {"prompt": self.prompt.to_json()}


@dataclass(frozen=True)
class RecognizeDtmf(FlowAction):
    """CallMedia_Recognize (dtmf) from `target` (the caller), `prompt` played first and cut by the
    first key; RecognizeCompleted (the tones) / RecognizeFailed / RecognizeCanceled settle it."""

    target: Identifier = field(kw_only=True)
    prompt: Prompt = field(kw_only=True)
    max_tones: int = field(kw_only=True)
    initial_silence_seconds: int = field(kw_only=True)
    inter_tone_seconds: int = field(kw_only=True)
    stop_tones: str = field(default="", kw_only=True)  # keys among * and # that end the entry

    def _fields(self) -> dict[str, Any]:
        return {"target": self.target.to_json(), "prompt": self.prompt.to_json(),
                "maxTonesToCollect": self.max_tones,
                "initialSilenceTimeoutInSeconds": self.initial_silence_seconds,
                "interToneTimeoutInSeconds": self.inter_tone_seconds,
                **({"stopTones": self.stop_tones} if self.stop_tones else {})}


@dataclass(frozen=True)
class CancelMedia(FlowAction):
    """CallMedia_CancelAllMediaOperations: what still plays or listens stops (its own callback,
    PlayCanceled / RecognizeCanceled, then finds the run moved on)."""
