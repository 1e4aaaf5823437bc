"""A flow started on an offer: its run, and the one request the offer gets first.

Before the answer a flow can only answer (a ring or transfer needs the call), reject (a hangup
step) or redirect; that request is the offer's action, sent by the inbound use case under the
offer's claim, with the operationContext and repeatability id the engine derived for it.

An ask before the answer is made right there, under the claim: its outcome moves the run (in
memory: nothing is stored before the offer is decided, then the replies go with the decision
into the claim), and the request that follows (answer, reject or redirect, inline or a later
step's) is the offer's action. Together the asks of one
offer get PRE_ANSWER_ASK_BUDGET: the offer's claim and Event Grid's wait are bounded, and the
caller hears ringing meanwhile; an ask past the budget is failed (timeout) without being sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from callcontrol.domain.claims import claim_key
from callcontrol.domain.errors import StoreError
from callcontrol.domain.events.incoming_call import IncomingCall
from callcontrol.domain.flows import (
    AnswerCall,
    AskFailed,
    AskFailure,
    AskReply,
    AskRequest,
    Flow,
    FlowAction,
    FlowRun,
    FlowStarted,
    RedirectCall,
    RejectCall,
    advance,
    run_id_for,
)
from callcontrol.domain.models import InboundAction, InboundDecision
from callcontrol.domain.rules import FlowStartAction, flow_of
from callcontrol.domain.rules.flows import call_facts
from callcontrol.domain.rules.versions import RuleSetVersion

logger = logging.getLogger(__name__)
PRE_ANSWER_ASK_BUDGET: Final = 10.0  # seconds, the asks of one offer together (MAX_ASK_TIMEOUT)
Ask = Callable[[AskRequest], Awaitable[AskReply]]


@dataclass(frozen=True)
class StartedFlow:
    flow: Flow
    run: FlowRun  # FlowStarted applied: waiting for the first request's outcome


@dataclass(frozen=True)
class FirstRequest:
    request: AnswerCall | RejectCall | RedirectCall
    inbound_action: InboundAction
    started: StartedFlow
    asked: tuple[AskReply, ...] = ()  # the asks' outcomes that led to it


async def first_request_asking(flow: Flow, call: IncomingCall, key: str, version: int,
                               clock: Callable[[], datetime], ask: Ask,
                               monotonic: Callable[[], float] = time.monotonic) -> FirstRequest:
    """The offer's run (its id derived from the claim key, so every delivery names the same
    run) and its first request, the asks before it made (see the module's note).

    Raises:
        StoreError: the flow asked for something an offer cannot do first (never for a flow
            the rule-set validation accepted).
    """
    run, actions = _started(flow, call, key, version, clock())
    until = monotonic() + PRE_ANSWER_ASK_BUDGET
    asked: list[AskReply] = []
    while len(actions) == 1 and isinstance(actions[0], AskRequest):
        request, left = actions[0], until - monotonic()
        outcome = (await ask(replace(request, timeout_seconds=min(request.timeout_seconds, left)))
                   if left > 0.05 else AskFailed(request.context, AskFailure.TIMEOUT))
        asked.append(outcome)
        run, actions = advance(flow, run, outcome, clock())
    return replace(_classified(flow, run, actions), asked=tuple(asked))


def _started(flow: Flow, call: IncomingCall, key: str, version: int, now: datetime
             ) -> tuple[FlowRun, tuple[FlowAction, ...]]:
    """The offer's run (its id derived from the claim key: every delivery names the same run)
    with FlowStarted applied, and what it asks for first."""
    run = FlowRun.new(flow.name, run_id_for(key, flow.name), key, call_facts(call), version=version)
    return advance(flow, run, FlowStarted(), now)


def _classified(flow: Flow, run: FlowRun, actions: tuple[FlowAction, ...]) -> FirstRequest:
    request = actions[0] if len(actions) == 1 else None
    if isinstance(request, AnswerCall):
        return FirstRequest(request, InboundAction.ANSWER, StartedFlow(flow, run))
    if isinstance(request, RejectCall):
        return FirstRequest(request, InboundAction.REJECT, StartedFlow(flow, run))
    if isinstance(request, RedirectCall):
        return FirstRequest(request, InboundAction.REDIRECT, StartedFlow(flow, run))
    shown = [action.name for action in actions]
    raise StoreError(f"flow '{flow.name}' cannot start an offer with {shown}")


def restarted_flow(ruleset: RuleSetVersion, call: IncomingCall, decision: InboundDecision,
                   now: datetime, asked: tuple[AskReply, ...] = ()
                   ) -> StartedFlow | None:
    """The run of a flow an owner started but did not record (a redelivery records it): the
    same id, contexts and repeatability ids, derived again from the offer, the version and the
    rule, with the replies its asks got before the answer (`asked`, kept by the claim) applied
    again. None when the decision started no flow, or its version is no longer in force."""
    context = call.incoming_call_context
    if context is None or ruleset.version != decision.rule_set_version:
        return None
    rules = ruleset.rules
    if decision.rule_id is None:
        action = rules.default_action
    else:
        rule = next((r for r in rules.rules if r.id == decision.rule_id), None)
        if rule is None:
            return None
        action = rule.action
    flow = flow_of(rules, action.flow) if isinstance(action, FlowStartAction) else None
    if flow is None:
        return None
    started_at = decision.decided_at or now
    run, actions = _started(flow, call, claim_key(context), ruleset.version, started_at)
    replies = list(asked)
    while len(actions) == 1 and isinstance(actions[0], AskRequest):
        reply = replies.pop(0) if replies else None
        if reply is None or reply.context != actions[0].context:
            # Not known here (a claim written before asks were kept), and asking again could
            # answer differently: the call is recorded without a run, and the log says so.
            logger.warning("flow %s of an answered offer recorded without its run: its ask's "
                           "reply was not kept with the offer's claim", flow.name)
            return None
        run, actions = advance(flow, run, reply, started_at)
    return _classified(flow, run, actions).started
