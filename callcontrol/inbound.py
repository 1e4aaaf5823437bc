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
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from callcontrol.acs_gateway import AcsCall
from callcontrol.clock import Clock, utc_now
from callcontrol.errors import (
    AcsRejected,
    Conflict,
    FieldProblem,
    InProgress,
    InvalidInput,
    NotFound,
)
from callcontrol.identifiers import Identifier
from callcontrol.models import CallRecord, CallState, Direction, InboundDecision, InboundOutcome
from callcontrol.observability import note_call, telemetry
from callcontrol.repeatability import repeatability_id as derived_repeatability_id
from callcontrol.rules import AnswerAction, Decision, IncomingCall, RedirectAction, RejectAction, decide
from callcontrol.service import CallControlService
from callcontrol.settings import Settings
from callcontrol.store.backend import EtagMismatch
from callcontrol.store.claims import Acquired, Claim, ClaimStatus, ClaimStore, Held, claim_key
from callcontrol.store.rules import RuleSetCache, RuleSetVersion

logger = logging.getLogger(__name__)
LOOP_KEYS: Final = ("correlationId", "serverCallId")


class IncomingCallGateway(Protocol):
    """What the inbound use case needs from ACS (AcsGateway provides it)."""

    async def answer(self, incoming_call_context: str, *, operation_context: str | None = None,
                     idempotency_key: str | None = None) -> AcsCall: ...

    async def reject(self, incoming_call_context: str, reason: str, *,
                     idempotency_key: str | None = None) -> None: ...

    async def redirect(self, incoming_call_context: str, target: Identifier, *,
                       idempotency_key: str | None = None) -> None: ...


@dataclass(frozen=True)
class InboundOptions:
    redirect_max_hops: int = 3
    loop_key: str = "correlationId"
    loop_reject_reason: str = "busy"
    # Longer than one ACS request can take (the gateway bounds it), so a live owner keeps it.
    claim_lease: timedelta = timedelta(seconds=15)
    # How long a duplicate delivery waits for the owner before failing (Event Grid waits 30 s).
    duplicate_wait_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> InboundOptions:
        bound = settings.acs_request_timeout_seconds + 5
        return cls(
            redirect_max_hops=settings.redirect_max_hops,
            loop_key=settings.redirect_loop_key,
            loop_reject_reason=settings.redirect_loop_reject_reason,
            claim_lease=timedelta(seconds=bound),
            duplicate_wait_seconds=float(min(bound, 25)),
        )


@dataclass(frozen=True)
class InboundResult:
    record_id: str
    decision: InboundDecision
    duplicate: bool = False


@dataclass(frozen=True)
class _Acted:
    decision: InboundDecision
    answered: AcsCall | None = None


class InboundCalls:
    def __init__(
        self,
        *,
        rules: RuleSetCache,
        claims: ClaimStore,
        calls: CallControlService,
        gateway: Callable[[], IncomingCallGateway],
        options: InboundOptions,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rules = rules
        self._claims = claims
        self._calls = calls
        self._gateway = gateway
        self._options = options
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep

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
        _note_decision(acted.decision, outcome)
        try:
            claim = await self._claims.mark(claim, ClaimStatus.DECIDED, outcome)
        except EtagMismatch:
            logger.error("claim %s was taken over while we acted; recording anyway", key[:12])
        record_id = await self._record(call, outcome)
        if claim.status is ClaimStatus.DECIDED:
            # A duplicate that saw `decided` may have written the same record and marked it first.
            with contextlib.suppress(EtagMismatch):
                await self._claims.mark(claim, ClaimStatus.RECORDED, outcome)
        decision = acted.decision
        logger.info("incoming call decided: rule %s → %s, %s in %.1f ms",
                    decision.rule_id or "(default)", decision.action, decision.outcome,
                    decision.latency_ms or 0.0)
        telemetry().metrics.inbound_decision(
            outcome=decision.outcome, action=decision.action, rule_id=decision.rule_id,
            latency_ms=decision.latency_ms or 0.0)
        return InboundResult(record_id, decision)

    # --- the claim ------------------------------------------------------------------------

    async def _claim(self, key: str, call: IncomingCall) -> Claim:
        """Our claim, or another's that is finished; waits while another delivery holds it."""
        deadline = self._monotonic() + self._options.duplicate_wait_seconds
        delay = 0.02
        result = await self._acquire(key, call)
        while isinstance(result, Held) and result.claim.status is ClaimStatus.CLAIMED:
            if self._monotonic() >= deadline:
                raise InProgress(f"incoming call {key[:12]} is being handled by another delivery")
            await self._sleep(delay)
            delay = min(delay * 2, 0.25)
            current = await self._claims.get(key)
            if current is None or not current.lease_active(self._clock()):
                result = await self._acquire(key, call)  # released or abandoned: try to take it
            else:
                result = Held(current)
        if isinstance(result, Acquired) and result.claim.taken_over:
            logger.warning("incoming call %s: took over an abandoned claim", key[:12])
        return result.claim

    async def _acquire(self, key: str, call: IncomingCall) -> Acquired | Held:
        return await self._claims.acquire(
            key, owner=uuid.uuid4().hex, now=self._clock(), lease=self._options.claim_lease,
            server_call_id=call.server_call_id,
        )

    async def _settled(self, call: IncomingCall, claim: Claim) -> InboundResult:
        """A duplicate delivery: finish the record if the owner could not, then acknowledge."""
        outcome = claim.outcome or {}
        decision = InboundDecision.from_json(outcome["decision"])
        record_id = str(outcome["recordId"])
        _note_decision(decision, outcome)
        if claim.status is ClaimStatus.DECIDED:
            record_id = await self._record(call, outcome)
            with contextlib.suppress(EtagMismatch):  # another delivery finished it meanwhile
                await self._claims.mark(claim, ClaimStatus.RECORDED, outcome)
        logger.info("incoming call already decided (%s); delivery acknowledged", decision.outcome)
        return InboundResult(record_id, decision, duplicate=True)

    # --- deciding and acting --------------------------------------------------------------

    async def _act(self, call: IncomingCall, key: str, started: float) -> _Acted:
        ruleset = await self._rules.get()
        now = self._clock()
        decision = decide(call, ruleset.rules, now)
        action = decision.action
        context = call.incoming_call_context or ""
        base = _Draft(decision, ruleset, now)
        try:
            if isinstance(action, AnswerAction):
                answered = await self._gateway().answer(
                    context, operation_context=action.operation_context,
                    idempotency_key=repeatability_id(key, "answer"),
                )
                return _Acted(base.done("answer", InboundOutcome.ANSWERED, self._ms(started)), answered)
            if isinstance(action, RejectAction):
                await self._gateway().reject(
                    context, action.reason, idempotency_key=repeatability_id(key, "reject"))
                return _Acted(base.done("reject", InboundOutcome.REJECTED, self._ms(started),
                                        reject_reason=action.reason))
            return await self._redirect(call, key, started, base)
        except NotFound as exc:
            return _Acted(base.done(base.tried, InboundOutcome.MISSED, self._ms(started),
                                    detail=f"ACS reports the call gone: {exc.detail}"))
        except (AcsRejected, Conflict) as exc:
            return _Acted(base.done(base.tried, InboundOutcome.FAILED, self._ms(started),
                                    detail=exc.detail))

    async def _redirect(self, call: IncomingCall, key: str, started: float, base: _Draft) -> _Acted:
        action = base.decision.action
        assert isinstance(action, RedirectAction)
        target = action.target
        loop_key = self._loop_key(call)
        hops = 0
        if loop_key is not None:
            hops = await self._claims.hops_before(loop_key, key, base.now)
        if loop_key is not None and hops >= self._options.redirect_max_hops:
            reason = self._options.loop_reject_reason
            base.tried = "reject"
            await self._gateway().reject(
                call.incoming_call_context or "", reason, idempotency_key=repeatability_id(key, "reject"))
            return _Acted(base.done(
                "reject", InboundOutcome.REJECTED, self._ms(started), reject_reason=reason, target=target,
                hops=hops, loop_guard=True,
                detail=f"redirect loop guard: {hops} redirect(s) of this call already "
                       f"(REDIRECT_MAX_HOPS={self._options.redirect_max_hops})",
            ))
        if loop_key is not None:
            await self._claims.record_hop(loop_key, key, base.now)
        try:
            await self._gateway().redirect(
                call.incoming_call_context or "", target, idempotency_key=repeatability_id(key, "redirect"))
        except Exception:
            if loop_key is not None:
                await self._claims.forget_hop(loop_key, key)
            raise
        detail = "" if loop_key is not None else "no correlationId or serverCallId: loop guard off"
        return _Acted(base.done("redirect", InboundOutcome.REDIRECTED, self._ms(started), target=target,
                                hops=hops, detail=detail))

    def _loop_key(self, call: IncomingCall) -> str | None:
        first, second = (call.correlation_id, call.server_call_id)
        if self._options.loop_key == "serverCallId":
            first, second = second, first
        return first or second

    def _ms(self, started: float) -> float:
        return round((self._monotonic() - started) * 1000, 2)

    # --- the record -----------------------------------------------------------------------

    def _outcome(self, call: IncomingCall, key: str, acted: _Acted) -> dict[str, Any]:
        """What the claim keeps: enough to write the call record again on a redelivery."""
        answered = acted.answered
        return {
            "decision": acted.decision.to_json(),
            "recordId": answered.call_connection_id if answered else inbound_record_id(call, key),
            "acsState": answered.state.value if answered else None,
            "acsServerCallId": answered.server_call_id if answered else None,
            "acsCorrelationId": answered.correlation_id if answered else None,
        }

    async def _record(self, call: IncomingCall, outcome: dict[str, Any]) -> str:
        decision = InboundDecision.from_json(outcome["decision"])
        record_id = str(outcome["recordId"])
        acs_state = outcome.get("acsState")
        now = self._clock()

        def change(existing: CallRecord | None) -> CallRecord:
            # Callbacks may have created the record first: keep what they said.
            base = existing or CallRecord(record_id, created_at=decision.decided_at or now)
            if acs_state is None:
                state = CallState.DISCONNECTED  # rejected, redirected or missed: over for the app
            else:
                state = max(base.state, CallState(acs_state), key=lambda s: s.rank)
            return base.with_changes(
                state=state,
                direction=Direction.INBOUND,
                server_call_id=base.server_call_id or outcome.get("acsServerCallId") or call.server_call_id,
                correlation_id=base.correlation_id or outcome.get("acsCorrelationId") or call.correlation_id,
                source=call.from_,
                targets=(call.to,),
                inbound=decision,
                updated_at=now,
            )

        await self._calls.update_call(record_id, change)
        return record_id


def _note_decision(decision: InboundDecision, outcome: dict[str, Any]) -> None:
    """The decision's identifiers on the context: an answered call has its callConnectionId."""
    answered = outcome.get("acsState") is not None
    note_call(call_connection_id=str(outcome["recordId"]) if answered else None,
              server_call_id=outcome.get("acsServerCallId"),
              correlation_id=outcome.get("acsCorrelationId"),
              rule_id=decision.rule_id, action=decision.action, outcome=decision.outcome)


class _Draft:
    """The decision so far: turns into an InboundDecision once the action's result is known."""

    def __init__(self, decision: Decision, ruleset: RuleSetVersion, now: datetime) -> None:
        self.decision = decision
        self.ruleset = ruleset
        self.now = now
        self.tried = decision.action.type

    def done(
        self, action: str, outcome: InboundOutcome, latency_ms: float, *, detail: str = "",
        reject_reason: str | None = None, target: Any = None, hops: int | None = None,
        loop_guard: bool = False,
    ) -> InboundDecision:
        return InboundDecision(
            rule_id=self.decision.rule_id,
            action=action,
            outcome=outcome.value,
            detail=detail,
            latency_ms=latency_ms,
            reject_reason=reject_reason,
            target=target,
            redirect_hops=hops,
            loop_guard=loop_guard,
            decided_at=self.now,
            rule_set_version=self.ruleset.version,
        )


def inbound_record_id(call: IncomingCall, key: str) -> str:
    """Key of the record of a call that got no callConnectionId (rejected, redirected, missed).

    Derived from the serverCallId, so the hops of one call group together, plus the offer, since
    a redirect keeps the serverCallId but is decided anew.
    """
    server = hashlib.sha256((call.server_call_id or "").encode()).hexdigest()[:16]
    return f"inbound-{server}-{key[:12]}"


def repeatability_id(key: str, action: str) -> str:
    """A stable Repeatability-Request-ID per offer and action: a retried request (after a
    timeout that ACS did act on) gets ACS's first answer instead of acting twice."""
    return derived_repeatability_id("incoming", key, action)
