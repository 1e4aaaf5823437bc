"""The rule set's `flows` section: validated with the rules, parsed once per document.

A rule's `{"type": "flow", "flow": "sales"}` names a flow of the same document, so a set is
refused when it names one that is not there (`rules[2].action.flow`).
"""

from __future__ import annotations

import json
from functools import lru_cache

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.events.incoming_call import IncomingCall
from callcontrol.domain.flows import CallFacts, Flow, StepType, parse_flows
from callcontrol.domain.flows.model import CollectStep, MenuStep, PlayStep
from callcontrol.domain.flows.prompts import Prompt
from callcontrol.domain.rules.model import FlowStartAction, RuleSet


def flow_problems(rules: RuleSet) -> list[FieldProblem]:
    """Every problem of the flows section and of the flow actions' references to it."""
    problems: list[FieldProblem] = []
    names: set[str] = set()
    if rules.flows is not None:
        try:
            flows = parse_flows(rules.flows, "flows")
            names = set(flows)
        except InvalidInput as exc:
            problems.extend(exc.problems)
            names = set(rules.flows)  # a flow with problems is reported there, not as missing
    actions = [(f"rules[{i}].action.flow", rule.action) for i, rule in enumerate(rules.rules)]
    actions.append(("defaultAction.flow", rules.default_action))
    for where, action in actions:
        if isinstance(action, FlowStartAction) and action.flow not in names:
            problems.append(FieldProblem(where, f"names no flow of this rule set: '{action.flow}'"))
    return problems


def ask_step_fields(rules: RuleSet) -> list[str]:
    """Where a validated set's ask steps are (`flows.<name>.steps[<i>]`): the app refuses to
    put such a set in force while it has no secret to sign ask requests with."""
    if rules.flows is None:
        return []
    return [f"flows.{name}.steps[{index}]"
            for name, flow in _parsed(json.dumps(rules.flows, sort_keys=True)).items()
            for index, step in enumerate(flow.steps) if step.type is StepType.ASK]


SPEECH_SETTING = "COGNITIVE_SERVICES_ENDPOINT"


def speech_prompt_problems(rules: RuleSet) -> list[FieldProblem]:
    """The text and SSML prompts of a validated set, refused by an app without Azure AI services
    (ACS speaks them only when the call was answered with a cognitiveServicesEndpoint)."""
    return [FieldProblem(f"{where}.{prompt.kind.value}",
                         f"a {prompt.kind.value} prompt is spoken by Azure AI services, which this "
                         f"app is not connected to: set {SPEECH_SETTING}, or use a file prompt")
            for where, prompt in prompts_of(rules) if prompt.needs_speech]


def prompts_of(rules: RuleSet) -> list[tuple[str, Prompt]]:
    """Every prompt of a validated set's play, menu and collect steps, by where it is
    (`flows.<name>.steps[<i>].prompt` / `.reprompt`)."""
    if rules.flows is None:
        return []
    found: list[tuple[str, Prompt]] = []
    for name, flow in _parsed(json.dumps(rules.flows, sort_keys=True)).items():
        for index, step in enumerate(flow.steps):
            if not isinstance(step, PlayStep | MenuStep | CollectStep):
                continue
            found.append((f"flows.{name}.steps[{index}].prompt", step.prompt))
            if isinstance(step, MenuStep | CollectStep) and step.reprompt is not None:
                found.append((f"flows.{name}.steps[{index}].reprompt", step.reprompt))
    return found


def flow_of(rules: RuleSet, name: str) -> Flow | None:
    """The named flow of a validated rule set (parsed once per distinct flows section)."""
    if rules.flows is None:
        return None
    return _parsed(json.dumps(rules.flows, sort_keys=True)).get(name)


@lru_cache(maxsize=16)
def _parsed(document: str) -> dict[str, Flow]:
    return parse_flows(json.loads(document), "flows")


def call_facts(call: IncomingCall) -> CallFacts:
    """What a flow run knows of the offer (an ask sends it to the service)."""
    headers = (*call.sip_headers.items(), *call.voip_headers.items())
    return CallFacts(server_call_id=call.server_call_id, correlation_id=call.correlation_id,
                     caller=call.from_, callee=call.to,
                     headers=tuple((str(name), str(value)) for name, value in headers))
