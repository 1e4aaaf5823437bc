"""A flow started on an offer: its run, and the one request the offer gets first.

Before the answer a flow can only answer (a ring or transfer needs the call), reject (a hangup
step) or redirect; that request is the offer's action, sent by the inbound use case under the
offer's claim, with the operationContext and repeatability id the engine derived for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from callcontrol.domain.errors import StoreError
from callcontrol.domain.events.incoming_call import IncomingCall
from callcontrol.domain.flows import (
    AnswerCall,
    Flow,
    FlowRun,
    FlowStarted,
    RedirectCall,
    RejectCall,
    advance,
    run_id_for,
)
from callcontrol.domain.models import InboundAction
from callcontrol.domain.rules.flows import call_facts


@dataclass(frozen=True)
class StartedFlow:
    flow: Flow
    run: FlowRun  # FlowStarted applied: waiting for the first request's outcome


@dataclass(frozen=True)
class FirstRequest:
    request: AnswerCall | RejectCall | RedirectCall
    inbound_action: InboundAction
    started: StartedFlow


def first_request(flow: Flow, call: IncomingCall, key: str, version: int, now: datetime
                  ) -> FirstRequest:
    """The run (its id derived from the offer's claim key, so every delivery names the same
    run) and its first request.

    Raises:
        StoreError: the flow asked for something an offer cannot do first (never for a flow
            the rule-set validation accepted).
    """
    run = FlowRun.new(flow.name, run_id_for(key, flow.name), key, call_facts(call), version=version)
    run, actions = advance(flow, run, FlowStarted(), now)
    request = actions[0] if len(actions) == 1 else None
    if isinstance(request, AnswerCall):
        return FirstRequest(request, InboundAction.ANSWER, StartedFlow(flow, run))
    if isinstance(request, RejectCall):
        return FirstRequest(request, InboundAction.REJECT, StartedFlow(flow, run))
    if isinstance(request, RedirectCall):
        return FirstRequest(request, InboundAction.REDIRECT, StartedFlow(flow, run))
    shown = [action.name for action in actions]
    raise StoreError(f"flow '{flow.name}' cannot start an offer with {shown}")
