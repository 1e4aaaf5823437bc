"""What the inbound use case records of its decision: the draft that becomes an InboundDecision,
the identifiers it puts on the call's telemetry context, why a call it never answered is over,
and the record id of such a call."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from callcontrol.domain.claims import ClaimOutcome
from callcontrol.domain.models import InboundAction, InboundDecision, InboundOutcome, ResultInfo
from callcontrol.domain.rules import Decision, FlowStartAction, IncomingCall
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.observability import note_call


class DecisionDraft:
    """The decision so far: turns into an InboundDecision once the action's result is known."""

    def __init__(self, decision: Decision, ruleset: RuleSetVersion, now: datetime) -> None:
        self.decision = decision
        self.ruleset = ruleset
        self.now = now
        action = decision.action
        self.tried = (InboundAction.ANSWER if isinstance(action, FlowStartAction)
                      else InboundAction(action.type))

    def done(
        self, action: InboundAction, outcome: InboundOutcome, latency_ms: float, *, detail: str = "",
        reject_reason: str | None = None, target: Any = None, hops: int | None = None,
        loop_guard: bool = False,
    ) -> InboundDecision:
        return InboundDecision(
            rule_id=self.decision.rule_id,
            action=action,
            outcome=outcome,
            detail=detail,
            latency_ms=latency_ms,
            reject_reason=reject_reason,
            target=target,
            redirect_hops=hops,
            loop_guard=loop_guard,
            decided_at=self.now,
            rule_set_version=self.ruleset.version,
        )


def note_decision(outcome: ClaimOutcome) -> None:
    """The decision's identifiers on the call's context: the id the API names the call by, its
    callConnectionId or, for a call never answered, its `inbound-…` record id."""
    decision = outcome.decision
    note_call(call_connection_id=outcome.record_id,
              server_call_id=outcome.acs_server_call_id, correlation_id=outcome.acs_correlation_id,
              rule_id=decision.rule_id, action=decision.action.value,
              outcome=decision.outcome.value)


def end_reason_of(decision: InboundDecision) -> ResultInfo:
    """Why a call the app never answered is over (its call.ended said `endReason: null`).

    No SIP code: ACS reports none to the app for a call it rejected or redirected."""
    rule = f"rule {decision.rule_id}" if decision.rule_id else "the default action"
    if decision.outcome is InboundOutcome.REJECTED:
        text = f"rejected by the app ({rule}, reason {decision.reject_reason or 'none'})"
    elif decision.outcome is InboundOutcome.REDIRECTED:
        text = f"redirected by the app ({rule})"
    elif decision.outcome is InboundOutcome.MISSED:
        text = "gone before the app's action reached ACS (the caller hung up or the offer expired)"
    else:
        text = f"the app's {decision.action} failed: {decision.detail}"
    return ResultInfo(message=text)


def inbound_record_id(call: IncomingCall, key: str) -> str:
    """Key of the record of a call that got no callConnectionId (rejected, redirected, missed).

    Derived from the serverCallId, so the hops of one call group together, plus the offer, since
    a redirect keeps the serverCallId but is decided anew.
    """
    server = hashlib.sha256((call.server_call_id or "").encode()).hexdigest()[:16]
    return f"inbound-{server}-{key[:12]}"
