"""The flows section of the rule-set document, from JSON into the model, every problem by path.

Shape (wire names camelCase, like the rules):

    "flows": {"sales": {"start": "ring-team", "maxSteps": 25, "steps": [
        {"id": "ring-team", "type": "ring", "mode": "simultaneous", "timeoutSeconds": 20,
         "callerId": "+18005550100", "targets": [{"phoneNumber": "+14255550101"},
                                                 {"communicationUserId": "8:acs:…"}],
         "onNoAnswer": "ask-crm", "onBusy": "…", "onDeclined": "…", "onFailed": "…", "fallback": "…"},
        {"id": "ask-crm", "type": "ask", "url": "https://…", "timeoutSeconds": 3,
         "choices": ["ring-team", "bye"], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}}

Fields are named as the rules name theirs: `flows.sales.steps[2].targets[0].callerId`. The
graph checks (unknown ids, unreachable steps, loops, redirect after answer) are in `graph.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from callcontrol.domain.flows import fields as f
from callcontrol.domain.flows.fields import Problems, child
from callcontrol.domain.flows.graph import graph_problems
from callcontrol.domain.flows.model import (
    DEFAULT_ASK_TIMEOUT_SECONDS,
    DEFAULT_MAX_STEPS,
    DEFAULT_RING_TIMEOUT_SECONDS,
    MAX_ASK_TIMEOUT_SECONDS,
    MAX_RING_TARGETS,
    MAX_RING_TIMEOUT_SECONDS,
    MAX_STEPS_LIMIT,
    MIN_ASK_TIMEOUT_SECONDS,
    MIN_RING_TIMEOUT_SECONDS,
    REJECT_REASONS,
    AskStep,
    Flow,
    GotoStep,
    HangUpStep,
    RedirectStep,
    RejectStep,
    RingFailure,
    RingMode,
    RingStep,
    RingTarget,
    Step,
    StepType,
    TransferStep,
)
from callcontrol.domain.flows.prompt_parsing import (
    COLLECT_FIELDS,
    MENU_FIELDS,
    PLAY_FIELDS,
    collect,
    menu,
    play,
)
from callcontrol.domain.flows.targets import ask_url_problem, identifier
from callcontrol.domain.identifiers import Identifier

# The wire name of each ring transition.
RING_TRANSITIONS: Final = {
    "onNoAnswer": RingFailure.NO_ANSWER,
    "onBusy": RingFailure.BUSY,
    "onDeclined": RingFailure.DECLINED,
    "onFailed": RingFailure.FAILED,
}
_TARGET_EXTRAS: Final = ("callerId", "timeoutSeconds")
_IDENTIFIER_KEYS: Final = ("kind", "rawId", "phoneNumber", "communicationUserId", "microsoftTeamsUserId",
                           "microsoftTeamsAppId")
_COMMON: Final = ("id", "type", "description")


def parse_flows(payload: object, root: str = "flows") -> dict[str, Flow]:
    """Validate the `flows` object of a rule-set document.

    Raises:
        InvalidInput: one FieldProblem per problem, e.g. `flows.sales.steps[1].url`.
    """
    problems = Problems()
    flows: dict[str, Flow] = {}
    if not isinstance(payload, dict):
        problems.add(root, "must be a JSON object of flows by name")
    else:
        for flow_name, body in payload.items():
            where = child(root, str(flow_name))
            if not isinstance(flow_name, str) or not f.NAME.fullmatch(flow_name):
                problems.add(where, f"a flow name {f.NAME_RULE}")
                continue
            flow = _flow(flow_name, body, where, problems)
            if flow is not None:
                flows[flow_name] = flow
    problems.fail("flows")
    return flows


def parse_flow(name: str, payload: object, where: str) -> Flow:
    """One flow (what `parse_flows` does for each entry). Raises InvalidInput like it."""
    problems = Problems()
    flow = _flow(name, payload, where, problems)
    problems.fail("flow")
    assert flow is not None  # no problem means a flow was built
    return flow


def _flow(flow_name: str, payload: object, where: str, problems: Problems) -> Flow | None:
    before = len(problems.found)
    body = f.obj(payload, where, problems, ("start", "maxSteps", "steps", "description"))
    if body is None:
        return None
    raw_steps = body.get("steps")
    steps: list[Step] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.add(child(where, "steps"), "is required: a JSON array of at least one step")
    else:
        for index, raw in enumerate(raw_steps):
            step = _step(raw, child(child(where, "steps"), index), problems)
            if step is not None:
                steps.append(step)
    f.description(body, where, problems)
    start = f.name(body, "start", where, problems, required=False)
    max_steps = f.number(body, "maxSteps", where, problems, low=1, high=MAX_STEPS_LIMIT, integer=True)
    if len(problems.found) > before:
        return None  # the graph is only checked on steps that all parsed
    flow = Flow(
        name=flow_name,
        steps=tuple(steps),
        start=start or steps[0].id,
        max_steps=int(max_steps) if max_steps is not None else DEFAULT_MAX_STEPS,
    )
    found = graph_problems(flow, where, RING_TRANSITIONS)
    problems.extend(found)
    return None if found else flow


def _step(raw: object, where: str, problems: Problems) -> Step | None:
    if not isinstance(raw, dict):
        problems.add(where, "must be a JSON object")
        return None
    type_name = raw.get("type")
    parser = _STEP_PARSERS.get(type_name) if isinstance(type_name, str) else None
    if parser is None:
        reason = "is required" if type_name is None else "must be one of"
        problems.add(child(where, "type"), f"{reason}: {', '.join(t.value for t in StepType)}")
        return None
    known, build = parser
    before = len(problems.found)
    body = f.obj(raw, where, problems, (*_COMMON, *known))
    step_id = f.name(raw, "id", where, problems)
    f.description(raw, where, problems)
    if body is None or step_id is None:
        return None
    step = build(step_id, body, where, problems)
    return step if len(problems.found) == before else None


def _ring(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> RingStep | None:
    mode_value = body.get("mode", RingMode.SIMULTANEOUS.value)
    if mode_value not in tuple(RingMode):
        problems.add(child(where, "mode"), "must be simultaneous or sequential")
    timeout = f.number(body, "timeoutSeconds", where, problems,
                       low=MIN_RING_TIMEOUT_SECONDS, high=MAX_RING_TIMEOUT_SECONDS, integer=True)
    default_caller = f.caller_id(body, "callerId", where, problems)
    targets = _ring_targets(body.get("targets"), child(where, "targets"), default_caller, problems)
    transitions = {
        failure: step for key, failure in RING_TRANSITIONS.items()
        if (step := f.name(body, key, where, problems, required=False)) is not None
    }
    fallback = f.name(body, "fallback", where, problems, required=False)
    if targets is None or mode_value not in tuple(RingMode):
        return None
    return RingStep(
        id=step_id, targets=targets, mode=RingMode(mode_value),
        timeout_seconds=int(timeout) if timeout is not None else DEFAULT_RING_TIMEOUT_SECONDS,
        on_failure=tuple(transitions.items()), fallback=fallback,
    )


def _ring_targets(
    raw: object, where: str, default_caller: str | None, problems: Problems
) -> tuple[RingTarget, ...] | None:
    if not isinstance(raw, list) or not raw:
        problems.add(where, "is required: a JSON array of 1 to 10 targets")
        return None
    if len(raw) > MAX_RING_TARGETS:
        problems.add(where, f"must hold at most {MAX_RING_TARGETS} targets")
        return None
    targets: list[RingTarget] = []
    for index, item in enumerate(raw):
        target_where = child(where, index)
        body = f.obj(item, target_where, problems, (*_IDENTIFIER_KEYS, *_TARGET_EXTRAS))
        if body is None:
            continue
        found = identifier({k: v for k, v in body.items() if k not in _TARGET_EXTRAS}, target_where, problems)
        own_caller = f.caller_id(body, "callerId", target_where, problems)
        timeout = f.number(body, "timeoutSeconds", target_where, problems,
                           low=MIN_RING_TIMEOUT_SECONDS, high=MAX_RING_TIMEOUT_SECONDS, integer=True)
        if found is None:
            continue
        caller = own_caller or default_caller
        # A null callerId is no caller id; a refused one is reported already.
        if found.is_phone and caller is None and body.get("callerId") is None:
            problems.add(child(target_where, "callerId"),
                         "is required for a phone number (or give the step a callerId): "
                         "ACS needs the number to show")
            continue
        targets.append(RingTarget(found, caller if found.is_phone else None,
                                  int(timeout) if timeout is not None else None))
    return tuple(targets) if len(targets) == len(raw) else None


def _ask(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> AskStep | None:
    url = f.text(body, "url", where, problems)
    if url is not None and (reason := ask_url_problem(url)) is not None:
        problems.add(child(where, "url"), reason)
    timeout = f.number(body, "timeoutSeconds", where, problems, low=MIN_ASK_TIMEOUT_SECONDS,
                       high=MAX_ASK_TIMEOUT_SECONDS, integer=False)
    fallback = f.name(body, "fallback", where, problems)
    choices: list[str] = []
    raw_choices = body.get("choices", [])
    if not isinstance(raw_choices, list):
        problems.add(child(where, "choices"), "must be a JSON array of step ids")
    else:
        for index, choice in enumerate(raw_choices):
            if not isinstance(choice, str) or not f.NAME.fullmatch(choice):
                problems.add(child(child(where, "choices"), index), f"a step id {f.NAME_RULE}")
            else:
                choices.append(choice)
    if url is None or fallback is None:
        return None
    return AskStep(id=step_id, url=url, fallback=fallback, choices=tuple(dict.fromkeys(choices)),
                   timeout_seconds=float(timeout) if timeout is not None else DEFAULT_ASK_TIMEOUT_SECONDS)


def _target(body: Mapping[str, Any], where: str, problems: Problems) -> Identifier | None:
    raw = body.get("target")
    if raw is None:
        problems.add(child(where, "target"), "is required")
        return None
    target_body = f.obj(raw, child(where, "target"), problems, _IDENTIFIER_KEYS)
    return None if target_body is None else identifier(target_body, child(where, "target"), problems)


def _transfer(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> TransferStep | None:
    target = _target(body, where, problems)
    caller = f.caller_id(body, "callerId", where, problems)
    on_failed = f.name(body, "onFailed", where, problems, required=False)
    if target is None:
        return None
    if target.is_phone and caller is None:
        problems.add(child(where, "callerId"), "is required to transfer to a phone number")
        return None
    return TransferStep(id=step_id, target=target, caller_id=caller if target.is_phone else None,
                        on_failed=on_failed)


def _redirect(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> RedirectStep | None:
    if "callerId" in body:
        problems.add(child(where, "callerId"), "is not supported: ACS RedirectCall has no caller-id field")
    target = _target(body, where, problems)
    return None if target is None else RedirectStep(id=step_id, target=target)


def _reject(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> RejectStep | None:
    reason = body.get("reason", "none")
    if reason not in REJECT_REASONS:
        problems.add(child(where, "reason"), "must be none, busy or forbidden")
        return None
    return RejectStep(id=step_id, reason=reason)


def _hangup(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> HangUpStep:  # noqa: ARG001
    return HangUpStep(id=step_id)


def _goto(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> GotoStep | None:
    target = f.name(body, "next", where, problems)
    return None if target is None else GotoStep(id=step_id, next=target)


_Builder = Callable[[str, Mapping[str, Any], str, Problems], Step | None]
# type → (its own fields, its builder); `play` and `menu` are read in prompt_parsing.py.
_STEP_PARSERS: Final[dict[str, tuple[tuple[str, ...], _Builder]]] = {
    StepType.RING: (("targets", "mode", "timeoutSeconds", "callerId", *RING_TRANSITIONS, "fallback"), _ring),
    StepType.ASK: (("url", "timeoutSeconds", "choices", "fallback"), _ask),
    StepType.TRANSFER: (("target", "callerId", "onFailed"), _transfer),
    StepType.REDIRECT: (("target", "callerId"), _redirect),
    StepType.REJECT: (("reason",), _reject),
    StepType.HANGUP: ((), _hangup),
    StepType.GOTO: (("next",), _goto),
    StepType.PLAY: (PLAY_FIELDS, play),
    StepType.MENU: (MENU_FIELDS, menu),
    StepType.COLLECT: (COLLECT_FIELDS, collect),
}
