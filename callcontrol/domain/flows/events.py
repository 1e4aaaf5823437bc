"""What moves a flow: domain values the wiring reads from callbacks, the ask's reply and timers.

Events about one request carry that request's operationContext (as ACS echoes it), which is how
the engine tells a current event from a redelivered or stale one.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcontrol.domain.flows.media_events import MediaEvent
from callcontrol.domain.flows.model import RingFailure
from callcontrol.domain.identifiers import Identifier


@dataclass(frozen=True)
class FlowStarted:
    """A rule chose the flow for this call (the inbound use case, once per offer)."""


@dataclass(frozen=True)
class CallConnected:
    """The app's answer took effect (CallConnected)."""


@dataclass(frozen=True)
class AnswerFailed:
    """The answer did not take (AnswerFailed, or ACS refused it)."""


@dataclass(frozen=True)
class InvitationAnswered:
    """AddParticipantSucceeded for the add with this context."""

    context: str


@dataclass(frozen=True)
class InvitationFailed:
    """AddParticipantFailed for the add with this context, its result read as a reason.
    `call_ended`: the result says the call went away, not the callee (outcomes.ended_by_call)."""

    context: str
    reason: RingFailure
    call_ended: bool = False


@dataclass(frozen=True)
class InvitationCancelled:
    """CancelAddParticipantSucceeded; `context` may be the cancel's or the add's."""

    context: str


@dataclass(frozen=True)
class ParticipantRemoved:
    """RemoveParticipantSucceeded / Failed for a remove the flow asked for (either ends the wait:
    a failed remove means the participant is not there to remove)."""

    context: str


@dataclass(frozen=True)
class CallerHungUp:
    """The caller left while the app is still in the call (ParticipantsUpdated without them)."""


@dataclass(frozen=True)
class CallDisconnected:
    """The app's call connection ended (CallDisconnected): nothing can be sent any more."""


@dataclass(frozen=True)
class InlineAnswer:
    """An ask's answer: answer the call and end the flow (the app holds the call)."""


@dataclass(frozen=True)
class InlineReject:
    reason: str = "none"


@dataclass(frozen=True)
class InlineRedirect:
    target: Identifier


InlineAction = InlineAnswer | InlineReject | InlineRedirect


@dataclass(frozen=True)
class AskAnswer:
    """A validated reply to an ask: the next step, or (before the answer) an inline action."""

    next_step: str | None = None
    action: InlineAction | None = None


@dataclass(frozen=True)
class AskAnswered:
    context: str
    answer: AskAnswer


class AskFailure:
    TIMEOUT = "timeout"
    ERROR = "error"  # no connection, a non-2xx status
    INVALID = "invalid"  # a reply that did not validate


@dataclass(frozen=True)
class AskFailed:
    context: str
    reason: str  # an AskFailure value


AskReply = AskAnswered | AskFailed  # what an ask comes back as: the run's event


@dataclass(frozen=True)
class TransferAccepted:
    context: str


@dataclass(frozen=True)
class TransferFailed:
    context: str


@dataclass(frozen=True)
class StepOverdue:
    """The reconciler's tick: the engine acts only if the run's deadline has passed."""


FlowEvent = (
    FlowStarted | CallConnected | AnswerFailed | InvitationAnswered | InvitationFailed
    | InvitationCancelled | ParticipantRemoved | CallerHungUp | CallDisconnected | AskAnswered
    | AskFailed | TransferAccepted | TransferFailed | StepOverdue | MediaEvent
)
