"""Response shapes of the management API, as pydantic models for the OpenAPI document.

The app renders responses from its domain objects (`to_json`); the tests validate real responses
against these schemas, so the document and the wire cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callcontrol.domain.identifiers import IdentifierKind
from callcontrol.domain.models import (
    CallState,
    Direction,
    InboundAction,
    InboundOutcome,
    OperationKind,
    OperationStatus,
)
from callcontrol.domain.rules import RuleSet
from callcontrol.domain.rules.model import RejectReason
from callcontrol.usecases.actions import Accepted
from handlers.wire.actor import ActorOut
from handlers.wire.rules_responses import RULES_RESPONSE_MODELS


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentifierOut(Out):
    kind: IdentifierKind
    rawId: str
    phoneNumber: str | None = None
    communicationUserId: str | None = None
    microsoftTeamsUserId: str | None = None
    microsoftTeamsAppId: str | None = None


class ParticipantOut(Out):
    identifier: IdentifierOut
    isMuted: bool
    isOnHold: bool


class ResultOut(Out):
    code: int | None
    subCode: int | None
    message: str


class OperationOut(Out):
    operationContext: str
    kind: OperationKind
    status: OperationStatus
    requestedAt: str | None
    finishedAt: str | None
    result: ResultOut | None = None
    reason: str | None = None
    target: IdentifierOut | None = None
    invitationId: str | None = None
    invitationTimeoutSeconds: int | None = Field(
        default=None, description="an add's invitation timeout, when the request named one")
    actor: ActorOut | None = Field(
        default=None, description="who asked for it (absent: stored before callers were named)")


class InboundOut(Out):
    ruleId: str | None = Field(description="the deciding rule; null = the rule set's default action")
    action: InboundAction = Field(description="what was done")
    outcome: InboundOutcome
    detail: str
    latencyMs: float | None
    rejectReason: RejectReason | None = None
    target: IdentifierOut | None = Field(default=None, description="the redirect target")
    redirectHops: int | None = Field(default=None, description="earlier redirects of the same call")
    loopGuard: bool = Field(default=False, description="a redirect was turned into a reject")
    decidedAt: str | None = None
    ruleSetVersion: int | None = Field(default=None, description="version of the rule set that decided")


class FlowPathEntryOut(Out):
    step: str
    visit: int = Field(description="the run's step count when the step was entered")
    attempt: int = Field(description="a sequential ring's target, from 1")
    outcome: str | None = Field(description="how the step ended; null while it runs")


class FlowRunOut(Out):
    flow: str
    runId: str
    ruleSetVersion: int | None = Field(description="the rule-set version whose flow the run follows")
    status: str = Field(description="pending, running or finished")
    currentStep: str | None = Field(description="the step the run is in; null once finished")
    waiting: str = Field(description="what the step waits for: answer, ring, settle, ask, transfer, "
                                     "play, menu, nothing")
    outcome: str | None = Field(description="connected, transferred, redirected, rejected, hungUp, "
                                            "callerLeft, callEnded, maxSteps, failed")
    deadline: str | None = Field(description="when the reconciler moves an unanswered wait on")
    stepsTaken: int
    path: list[FlowPathEntryOut] = Field(description="every step entered, in order")


class AcsPropertiesOut(Out):
    callConnectionState: CallState
    targets: list[IdentifierOut]
    source: IdentifierOut | None
    sourceCallerIdNumber: str | None
    sourceDisplayName: str | None
    answeredBy: str | None


class CallOut(Out):
    callConnectionId: str
    state: CallState
    direction: Direction
    serverCallId: str | None
    correlationId: str | None
    source: IdentifierOut | None
    targets: list[IdentifierOut]
    participants: list[ParticipantOut]
    participantsSequence: int
    operations: list[OperationOut]
    transferred: bool
    endReason: ResultOut | None
    inbound: InboundOut | None
    createdAt: str | None
    updatedAt: str | None
    eventCount: int
    flow: FlowRunOut | None = Field(default=None, description="the call flow a rule started (docs/flows.md)")
    acs: AcsPropertiesOut | None = Field(default=None, description="ACS's live view, when it has the call")


class CallListOut(Out):
    value: list[CallOut] = Field(description="newest first; at most `limit` calls")
    continuationToken: str | None = Field(
        default=None, description="present while more calls may follow: pass it back as "
                                  "continuationToken, with the same filters")
    next: str | None = Field(default=None, description=(
        "the next page as a relative reference, /api/calls?... (absent on the last)"))


class EventOut(Out):
    id: str
    type: str
    time: str | None
    receivedAt: str | None
    data: dict[str, Any]


class EventListOut(Out):
    value: list[EventOut]


class ParticipantListOut(Out):
    value: list[ParticipantOut]


class AcceptedOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    callConnectionId: str
    operationContext: str | None = None
    invitationId: str | None = None
    status: str | None = None  # the operation as it stands: pending, succeeded, failed


class ProblemOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


class HealthOut(Out):
    status: Literal["ok"]


class JobRunOut(Out):
    job: str = Field(description="the job that ran")
    counts: dict[str, Any] | None = Field(
        description="what the run did (rows examined, deleted, events published...); null when "
                    "it had nothing to do (the outbox without a topic)")


class CallbackResultOut(Out):
    applied: int = Field(description="events applied to their calls")
    duplicates: int = Field(description="redeliveries recognised by event id and skipped")


class DocumentOut(BaseModel):
    """This OpenAPI document."""

    model_config = ConfigDict(extra="allow")
    openapi: str


class ReadinessCheckOut(Out):
    name: str = Field(description="settings, tableStorage, acs or callbackKeys")
    ok: bool
    durationMs: float
    message: str = Field(description="what was found; on failure, what to fix")


class ReadinessOut(Out):
    status: str = Field(description="ready or notReady")
    summary: str = Field(description="the failed checks' messages, or 'every check passed'")
    checks: list[ReadinessCheckOut]


RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    "call": CallOut,
    "callList": CallListOut,
    "eventList": EventListOut,
    "participant": ParticipantOut,
    "participantList": ParticipantListOut,
    "accepted": AcceptedOut,
    "health": HealthOut,
    "callbacks": CallbackResultOut,
    "document": DocumentOut,
    "readiness": ReadinessOut,
    "jobRun": JobRunOut,
    "ruleSet": RuleSet,
    **RULES_RESPONSE_MODELS,
}


def accepted_json(accepted: Accepted) -> dict[str, str | None]:
    """The 202 body of an asynchronous action (AcceptedOut)."""
    body: dict[str, str | None] = {"callConnectionId": accepted.call_connection_id,
                                   "operationContext": accepted.operation_context}
    if accepted.invitation_id is not None:
        body["invitationId"] = accepted.invitation_id
    if accepted.status is not None:
        body["status"] = accepted.status.value
    return body
