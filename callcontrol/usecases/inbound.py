"""The inbound use case: decide each IncomingCall by the rules, act on it once, record it.

    claim the offer ─▶ decide (cached rules, pure) ─▶ answer / reject / redirect ─▶ record
         │ held by another delivery: wait for it, then acknowledge
         └ transient failure while acting: release the claim and fail, so Event Grid redelivers

Outcomes: answered, rejected, redirected; missed when ACS says the call is gone (404 / 8522:
the context expired or the caller hung up); failed when ACS refuses the action for good (other
4xx). Both are recorded and acknowledged: retrying cannot help, and the claim keeps every
redelivery in the next 24 hours from trying.

Redirect loop guard: every redirect is counted per original call, recognised by its
correlationId (REDIRECT_LOOP_KEY; ACS and the emulator keep it, and the serverCallId, on the new
IncomingCall a redirect raises). Once REDIRECT_MAX_HOPS redirects were made for the same
original call, a further redirect is turned into a reject (REDIRECT_LOOP_REJECT_REASON) and
recorded with `loopGuard: true`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from callcontrol.domain.callback_binding import offer_callback_secret, secret_digest
from callcontrol.domain.claims import Acquired, Claim, ClaimOutcome, ClaimStatus, Held, claim_key
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import (
    AcsRejected,
    Conflict,
    EtagMismatch,
    FieldProblem,
    InProgress,
    InvalidInput,
    NotFound,
    StoreError,
)
from callcontrol.domain.events.call_events import APP
from callcontrol.domain.flows import (
    AnswerCall,
    AskFailed,
    AskFailure,
    AskReply,
    AskRequest,
    FlowAction,
    RejectCall,
)
from callcontrol.domain.models import (
    AcsCall,
    CallRecord,
    CallState,
    Direction,
    InboundAction,
    InboundDecision,
    InboundOutcome,
)
from callcontrol.domain.repeatability import for_offer
from callcontrol.domain.rules import (
    AnswerAction,
    FlowStartAction,
    IncomingCall,
    RedirectAction,
    RejectAction,
    decide,
    flow_of,
)
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.observability import note_call, telemetry
from callcontrol.usecases.flow_runs import FlowRuns, attached
from callcontrol.usecases.flow_start import StartedFlow, first_request_asking, restarted_flow
from callcontrol.usecases.inbound_decisions import (
    DecisionDraft,
    end_reason_of,
    inbound_record_id,
    note_decision,
)
from callcontrol.usecases.ports import CallRecords, InboundCallActions, OfferClaims, RuleSetInForce

logger = logging.getLogger(__name__)
LOOP_KEYS: Final = ("correlationId", "serverCallId")


@dataclass(frozen=True)
class InboundOptions:
    redirect_max_hops: int = 3
    loop_key: str = "correlationId"
    loop_reject_reason: str = "busy"
    # Longer than one ACS request can take (the gateway bounds it), so a live owner keeps it.
    claim_lease: timedelta = timedelta(seconds=15)
    # How long a duplicate delivery waits for the owner before failing (Event Grid waits 30 s).
    duplicate_wait_seconds: float = 15.0


@dataclass(frozen=True)
class InboundResult:
    record_id: str
    decision: InboundDecision
    duplicate: bool = False


@dataclass(frozen=True)
class _Acted:
    decision: InboundDecision
    answered: AcsCall | None = None
    callback_secret_sha256: str | None = None
    started: StartedFlow | None = None  # the flow a rule started, its run after the first step
    asked: tuple[AskReply, ...] = ()  # its asks' replies before the answer


class InboundCalls:
    def __init__(
        self,
        *,
        rules: RuleSetInForce,
        claims: OfferClaims,
        calls: CallRecords,
        gateway: Callable[[], InboundCallActions],
        options: InboundOptions,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        flows: FlowRuns | None = None,
    ) -> None:
        self._rules = rules
        self._claims = claims
        self._calls = calls
        self._gateway = gateway
        self._options = options
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._flows = flows  # sends what a started flow asks for once its record is written
        # Offers this process acted on but could not mark decided (the store failed right
        # after ACS acted): a redelivery reaching this process finishes them without acting
        # again (a flow's run kept as it was: its asks are not made again). Keyed by claim key;
        # small, since each entry lives until that redelivery.
        self._unmarked: dict[str, tuple[Claim, ClaimOutcome, StartedFlow | None]] = {}
        # Flows of offers marked decided whose record could not be written: the redelivery
        # records the run as asked (another process derives it from the claim's ask replies).
        self._unrecorded: dict[str, StartedFlow] = {}

    async def handle(self, call: IncomingCall) -> InboundResult:
        """Decide and act on one IncomingCall delivery, exactly once per offer.

        Raises:
            InvalidInput: the call has no incomingCallContext to act on.
            AcsUnavailable, StoreError: transient; the claim was released, so a redelivery
                retries.
            InProgress: another delivery of the same call is still being handled.
        """
        started = self._monotonic()
        note_call(server_call_id=call.server_call_id, correlation_id=call.correlation_id)
        context = call.incoming_call_context
        if not context:
            problem = FieldProblem("data.incomingCallContext", "is required to act on the call")
            raise InvalidInput("the IncomingCall has no incomingCallContext", [problem])
        key = claim_key(context)
        unmarked = self._unmarked.get(key)
        if unmarked is not None:
            return await self._finish_unmarked(call, key, *unmarked)
        claim = await self._claim(key, call)
        if claim.status is not ClaimStatus.CLAIMED:
            return await self._settled(call, claim)
        try:
            acted = await self._act(call, key, started)
        except Exception:
            # Nothing reached ACS for good (or we cannot know): let a redelivery try again.
            await self._claims.release(claim)
            raise
        outcome = self._outcome(call, key, acted)
        note_decision(outcome)
        try:
            claim = await self._claims.mark(claim, ClaimStatus.DECIDED, outcome)
        except EtagMismatch:
            logger.error("claim %s was taken over while we acted; recording anyway", key[:12])
        except StoreError:
            # ACS has acted; only the note of it failed. Keep what was done, so that the
            # redelivery this failure causes records it instead of acting a second time.
            self._unmarked[key] = (claim, outcome, acted.started)
            raise
        try:
            record_id = await self._record(call, outcome, acted.started)
        except StoreError:
            if acted.started is not None:
                self._unrecorded[key] = acted.started
            raise
        if claim.status is ClaimStatus.DECIDED:
            # A duplicate that saw `decided` may have written the same record and marked it first.
            with contextlib.suppress(EtagMismatch):
                await self._claims.mark(claim, ClaimStatus.RECORDED, outcome)
        decision = acted.decision
        logger.info("inbound call decided: rule %s → %s, %s in %.1f ms",
                    decision.rule_id or "(default)", decision.action.value, decision.outcome.value,
                    decision.latency_ms or 0.0)
        telemetry().metrics.inbound_decision(
            outcome=decision.outcome.value, action=decision.action.value, rule_id=decision.rule_id,
            latency_ms=decision.latency_ms or 0.0)
        return InboundResult(record_id, decision)

    async def _finish_unmarked(self, call: IncomingCall, key: str, claim: Claim,
                               outcome: ClaimOutcome, started: StartedFlow | None) -> InboundResult:
        """A redelivery of an offer this process acted on but could not mark: mark and record
        it now (the claim is still ours while its lease runs), never act again."""
        try:
            claim = await self._claims.mark(claim, ClaimStatus.DECIDED, outcome)
        except EtagMismatch:
            # No longer ours (another delivery took it over): handled like any other delivery.
            del self._unmarked[key]
            return await self.handle(call)
        del self._unmarked[key]
        record_id = await self._record(call, outcome, started)
        with contextlib.suppress(EtagMismatch):
            await self._claims.mark(claim, ClaimStatus.RECORDED, outcome)
        logger.info("inbound call %s: recorded on redelivery (%s), not acted on again", key[:12],
                    outcome.decision.outcome)
        return InboundResult(record_id, outcome.decision, duplicate=True)

    # --- the claim ------------------------------------------------------------------------

    async def _claim(self, key: str, call: IncomingCall) -> Claim:
        """Our claim, or another's that is finished; waits while another delivery holds it."""
        deadline = self._monotonic() + self._options.duplicate_wait_seconds
        delay = 0.02
        result = await self._acquire(key, call)
        while isinstance(result, Held) and result.claim.status is ClaimStatus.CLAIMED:
            if self._monotonic() >= deadline:
                raise InProgress(f"inbound call {key[:12]} is being handled by another delivery")
            await self._sleep(delay)
            delay = min(delay * 2, 0.25)
            current = await self._claims.get(key)
            if current is None or not current.lease_active(self._clock()):
                result = await self._acquire(key, call)  # released or abandoned: try to take it
            else:
                result = Held(current)
        if isinstance(result, Acquired) and result.claim.taken_over:
            logger.warning("inbound call %s: took over an abandoned claim", key[:12])
        return result.claim

    async def _acquire(self, key: str, call: IncomingCall) -> Acquired | Held:
        return await self._claims.acquire(
            key, owner=uuid.uuid4().hex, now=self._clock(), lease=self._options.claim_lease,
            server_call_id=call.server_call_id,
        )

    async def _settled(self, call: IncomingCall, claim: Claim) -> InboundResult:
        """A duplicate delivery: finish the record if the owner could not, then acknowledge."""
        outcome = claim.outcome
        if outcome is None:  # decided and recorded claims always keep their outcome
            raise StoreError(f"claim {claim.key[:12]} is {claim.status.value} but keeps no outcome")
        decision, record_id = outcome.decision, outcome.record_id
        note_decision(outcome)
        kept = self._unrecorded.get(claim.key)  # dropped once recorded, not before
        if claim.status is ClaimStatus.DECIDED:
            record_id = await self._record(call, outcome, kept or await self._restarted(call, outcome))
            with contextlib.suppress(EtagMismatch):  # another delivery finished it meanwhile
                await self._claims.mark(claim, ClaimStatus.RECORDED, outcome)
        self._unrecorded.pop(claim.key, None)
        logger.info("inbound call already decided (%s); delivery acknowledged",
                    decision.outcome.value)
        return InboundResult(record_id, decision, duplicate=True)

    # --- deciding and acting --------------------------------------------------------------

    async def _act(self, call: IncomingCall, key: str, started: float) -> _Acted:
        ruleset = await self._rules.get()
        now = self._clock()
        decision = decide(call, ruleset.rules, now)
        action = decision.action
        context = call.incoming_call_context or ""
        base = DecisionDraft(decision, ruleset, now)
        try:
            if isinstance(action, FlowStartAction):
                return await self._start_flow(call, key, started, base, action)
            if isinstance(action, AnswerAction):
                secret = offer_callback_secret(context)
                answered = await self._gateway().answer(
                    context, operation_context=action.operation_context,
                    repeatability_id=for_offer(key, InboundAction.ANSWER), callback_secret=secret,
                )
                done = base.done(InboundAction.ANSWER, InboundOutcome.ANSWERED, self._ms(started))
                return _Acted(done, answered, secret_digest(secret))
            if isinstance(action, RejectAction):
                await self._gateway().reject(
                    context, action.reason, repeatability_id=for_offer(key, InboundAction.REJECT))
                return _Acted(base.done(InboundAction.REJECT, InboundOutcome.REJECTED, self._ms(started),
                                        reject_reason=action.reason))
            return await self._redirect(call, key, started, base)
        except NotFound as exc:
            return _Acted(base.done(base.tried, InboundOutcome.MISSED, self._ms(started),
                                    detail=f"ACS reports the call gone: {exc.detail}"))
        except (AcsRejected, Conflict) as exc:
            return _Acted(base.done(base.tried, InboundOutcome.FAILED, self._ms(started),
                                    detail=exc.detail))

    async def _start_flow(self, call: IncomingCall, key: str, started: float, base: DecisionDraft,
                          action: FlowStartAction) -> _Acted:
        """The flow's first request (answer, reject or redirect: usecases/flow_start.py) is the
        offer's action, sent with the identity the engine derived for it."""
        flow = flow_of(base.ruleset.rules, action.flow)
        if flow is None:  # a validated set names only its own flows
            raise StoreError(f"rule set {base.ruleset.version} has no flow '{action.flow}'")
        first = await first_request_asking(flow, call, key, base.ruleset.version, self._clock,
                                           self._ask)
        request, context = first.request, call.incoming_call_context or ""
        base.tried = first.inbound_action
        if isinstance(request, AnswerCall):
            secret = offer_callback_secret(context)
            answered = await self._gateway().answer(
                context, operation_context=request.context,
                repeatability_id=request.repeatability_id, callback_secret=secret)
            done = base.done(InboundAction.ANSWER, InboundOutcome.ANSWERED, self._ms(started))
            return _Acted(done, answered, secret_digest(secret), first.started, first.asked)
        if isinstance(request, RejectCall):
            await self._gateway().reject(context, request.reason,
                                         repeatability_id=request.repeatability_id)
            return _Acted(base.done(InboundAction.REJECT, InboundOutcome.REJECTED, self._ms(started),
                                    reject_reason=request.reason), started=first.started)
        await self._gateway().redirect(context, request.target,
                                       repeatability_id=request.repeatability_id)
        return _Acted(base.done(InboundAction.REDIRECT, InboundOutcome.REDIRECTED, self._ms(started),
                                target=request.target), started=first.started)

    async def _ask(self, request: AskRequest) -> AskReply:
        """An ask before the answer, made by the flow runs' ask port."""
        if self._flows is None:
            return AskFailed(request.context, AskFailure.ERROR)
        return await self._flows.ask(request)

    async def _restarted(self, call: IncomingCall, outcome: ClaimOutcome) -> StartedFlow | None:
        """A flow the owner started but did not record: derived again (usecases/flow_start.py)
        from the rule-set version it was decided under, even when a newer one is in force now."""
        decision = outcome.decision
        if decision.outcome is not InboundOutcome.ANSWERED or decision.rule_set_version is None:
            return None
        ruleset: RuleSetVersion | None = await self._rules.get()  # cached: almost always the one
        if ruleset is not None and ruleset.version != decision.rule_set_version and self._flows is not None:
            ruleset = await self._flows.ruleset(decision.rule_set_version)
        if ruleset is None:
            return None
        return restarted_flow(ruleset, call, decision, self._clock(), outcome.asked)

    async def _redirect(self, call: IncomingCall, key: str, started: float, base: DecisionDraft) -> _Acted:
        action = base.decision.action
        assert isinstance(action, RedirectAction)
        target = action.target
        loop_key = self._loop_key(call)
        hops = 0
        if loop_key is not None:
            hops = await self._claims.hops_before(loop_key, key, base.now)
        if loop_key is not None and hops >= self._options.redirect_max_hops:
            reason = self._options.loop_reject_reason
            base.tried = InboundAction.REJECT
            await self._gateway().reject(
                call.incoming_call_context or "", reason,
                repeatability_id=for_offer(key, InboundAction.REJECT))
            return _Acted(base.done(
                InboundAction.REJECT, InboundOutcome.REJECTED, self._ms(started), reject_reason=reason,
                target=target, hops=hops, loop_guard=True,
                detail=f"redirect loop guard: {hops} redirect(s) of this call already "
                       f"(REDIRECT_MAX_HOPS={self._options.redirect_max_hops})",
            ))
        if loop_key is not None:
            await self._claims.record_hop(loop_key, key, base.now)
        try:
            await self._gateway().redirect(
                call.incoming_call_context or "", target,
                repeatability_id=for_offer(key, InboundAction.REDIRECT))
        except Exception:
            if loop_key is not None:
                await self._claims.forget_hop(loop_key, key)
            raise
        detail = "" if loop_key is not None else "no correlationId or serverCallId: loop guard off"
        return _Acted(base.done(InboundAction.REDIRECT, InboundOutcome.REDIRECTED, self._ms(started),
                                target=target, hops=hops, detail=detail))

    def _loop_key(self, call: IncomingCall) -> str | None:
        first, second = (call.correlation_id, call.server_call_id)
        if self._options.loop_key == "serverCallId":
            first, second = second, first
        return first or second

    def _ms(self, started: float) -> float:
        return round((self._monotonic() - started) * 1000, 2)

    # --- the record -----------------------------------------------------------------------

    def _outcome(self, call: IncomingCall, key: str, acted: _Acted) -> ClaimOutcome:
        """What the claim keeps: enough to write the call record again on a redelivery."""
        answered = acted.answered
        if answered is None:
            return ClaimOutcome(acted.decision, inbound_record_id(call, key))
        return ClaimOutcome(acted.decision, answered.call_connection_id, answered.state,
                            answered.server_call_id, answered.correlation_id,
                            acted.callback_secret_sha256, acted.asked)

    async def _record(self, call: IncomingCall, outcome: ClaimOutcome,
                      started: StartedFlow | None = None) -> str:
        decision, record_id, acs_state = outcome.decision, outcome.record_id, outcome.acs_state
        now = self._clock()
        asked: list[FlowAction] = []

        def change(existing: CallRecord | None) -> CallRecord:
            # Callbacks may have created the record first: keep what they said.
            base = existing or CallRecord(record_id, created_at=decision.decided_at or now)
            ended_because = base.end_reason
            if acs_state is None:
                state = CallState.DISCONNECTED  # rejected, redirected or missed: over for the app
                ended_because = ended_because or end_reason_of(decision)
            else:
                state = max(base.state, acs_state, key=lambda s: s.rank)
            record = base.with_changes(
                state=state,
                end_reason=ended_because,
                direction=Direction.INBOUND,
                server_call_id=base.server_call_id or outcome.acs_server_call_id or call.server_call_id,
                correlation_id=base.correlation_id or outcome.acs_correlation_id or call.correlation_id,
                source=call.from_,
                targets=(call.to,),
                inbound=decision,
                updated_at=now,
                callback_binding=base.callback_binding.with_digest(outcome.callback_secret_sha256),
            )
            if started is None:
                return record
            record, actions = attached(started.flow, record, started.run, now)
            asked[:] = actions
            return record

        await self._calls.modify(record_id, change, cause=APP)  # announced: inbound.decided, …
        if asked and self._flows is not None:  # callbacks that overtook the answer moved the run
            await self._flows.send(record_id, asked)
        return record_id
