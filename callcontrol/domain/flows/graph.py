"""The checks a flow's graph must pass, each problem named by the field that causes it.

Loops: a flow may loop (a `goto` back, a ring's fallback to an earlier step), because every run
is bounded by the flow's `maxSteps` (each step entered counts, so does each goto), and the
engine ends a run that reaches it. Refused is a loop made of `goto` steps only: it would wait for
nothing and do nothing, burning the step budget at once, so it can only be a mistake.

Redirect and reject are ACS operations on an unanswered call: a redirect or reject step that a
ring, transfer, play or menu step (which answer the call first) can lead to is refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from callcontrol.domain.errors import FieldProblem
from callcontrol.domain.flows.fields import child
from callcontrol.domain.flows.model import (
    AskStep,
    CollectStep,
    Flow,
    GotoStep,
    MenuStep,
    PlayStep,
    RedirectStep,
    RejectStep,
    RingFailure,
    RingStep,
    Step,
    TransferStep,
    answers_call,
)


def edges(step: Step, ring_transitions: Mapping[str, RingFailure]) -> list[tuple[str, str]]:
    """(wire field, step id named there) for every transition of `step`."""
    found: list[tuple[str, str]] = []
    if isinstance(step, RingStep):
        wire = {failure: key for key, failure in ring_transitions.items()}
        found += [(wire[failure], target) for failure, target in step.on_failure]
        found += [("fallback", step.fallback)] if step.fallback else []
    elif isinstance(step, AskStep):
        found += [(f"choices[{index}]", choice) for index, choice in enumerate(step.choices)]
        found.append(("fallback", step.fallback))
    elif isinstance(step, TransferStep) and step.on_failed:
        found.append(("onFailed", step.on_failed))
    elif isinstance(step, GotoStep):
        found.append(("next", step.next))
    elif isinstance(step, PlayStep):
        found += [(wire, target) for wire, target in (("next", step.next), ("onFailed", step.on_failed))
                  if target is not None]
    elif isinstance(step, MenuStep | CollectStep):
        if isinstance(step, MenuStep):
            found += [(f"choices.{choice.digits}", choice.next) for choice in step.choices]
        else:
            found.append(("next", step.next))
        found += [(wire, target) for wire, target in (("noInput", step.no_input),
                                                      ("invalidInput", step.invalid_input),
                                                      ("fallback", step.fallback)) if target is not None]
    return found


def graph_problems(flow: Flow, where: str, ring_transitions: Mapping[str, RingFailure]) -> list[FieldProblem]:
    steps_at = child(where, "steps")
    problems: list[FieldProblem] = []
    index: dict[str, int] = {}
    for position, step in enumerate(flow.steps):
        if step.id in index:
            problems.append(FieldProblem(
                f"{steps_at}[{position}].id",
                f"repeats the id '{step.id}' of steps[{index[step.id]}]; step ids must be unique",
            ))
        else:
            index[step.id] = position
    if problems:
        return problems  # every later check reads ids as unique
    if flow.start not in index:
        problems.append(FieldProblem(child(where, "start"), f"names no step of this flow: '{flow.start}'"))
    for position, step in enumerate(flow.steps):
        for wire, target in edges(step, ring_transitions):
            if target not in index:
                problems.append(FieldProblem(f"{steps_at}[{position}].{wire}",
                                             f"names no step of this flow: '{target}'"))
    if problems:
        return problems
    problems += _unreachable(flow, steps_at, index, ring_transitions)
    problems += _goto_loops(flow, steps_at, index)
    problems += _after_answer(flow, steps_at, index, ring_transitions)
    return problems


def _unreachable(
    flow: Flow, steps_at: str, index: Mapping[str, int], ring_transitions: Mapping[str, RingFailure]
) -> list[FieldProblem]:
    seen = {flow.start}
    queue = deque([flow.start])
    while queue:
        step = flow.steps[index[queue.popleft()]]
        for _, target in edges(step, ring_transitions):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return [
        FieldProblem(f"{steps_at}[{position}].id", f"is unreachable from the start step '{flow.start}'")
        for position, step in enumerate(flow.steps) if step.id not in seen
    ]


def _goto_loops(flow: Flow, steps_at: str, index: Mapping[str, int]) -> list[FieldProblem]:
    """Each loop of gotos once, found in one walk over the steps: a goto has one successor, so a
    walk stops at a step an earlier walk went through (its chain is known) or at one it went
    through itself (a loop). Linear: a body holds some 1,600 gotos."""
    problems: list[FieldProblem] = []
    walked: set[str] = set()
    for step in flow.steps:
        chain: dict[str, int] = {}  # this walk's gotos, by position on it
        current: Step = step
        while isinstance(current, GotoStep) and current.id not in walked and current.id not in chain:
            chain[current.id] = len(chain)
            current = flow.steps[index[current.next]]
        walked.update(chain)
        if not isinstance(current, GotoStep) or current.id not in chain:
            continue  # the chain leaves the gotos, or joins one walked before
        loop = list(chain)[chain[current.id]:]
        first = min(loop, key=index.__getitem__)
        shown = " → ".join([*loop[loop.index(first):], *loop[:loop.index(first)], first])
        problems.append(FieldProblem(
            f"{steps_at}[{index[first]}].next",
            f"closes a loop of goto steps only ({shown}): a loop must pass a step that waits "
            "(ring, ask, play, menu), so that maxSteps bounds it",
        ))
    return problems


def _after_answer(
    flow: Flow, steps_at: str, index: Mapping[str, int], ring_transitions: Mapping[str, RingFailure]
) -> list[FieldProblem]:
    """Walk (step, answered?) pairs from (start, unanswered); remember who answered first."""
    answered_by: dict[str, str] = {}  # step reachable answered → a step that answered before it
    seen: set[tuple[str, bool]] = {(flow.start, False)}
    queue = deque([(flow.start, False, "")])
    while queue:
        step_id, answered, by = queue.popleft()
        if answered:
            answered_by.setdefault(step_id, by)
        step = flow.steps[index[step_id]]
        after = answered or answers_call(step)
        who = by if answered else step_id
        for _, target in edges(step, ring_transitions):
            if (target, after) not in seen:
                seen.add((target, after))
                queue.append((target, after, who))
    return [
        FieldProblem(
            f"{steps_at}[{index[step.id]}].type",
            f"{step.type.value} is only possible before the call is answered, and step "
            f"'{answered_by[step.id]}' answers it on the way here",
        )
        for step in flow.steps
        if isinstance(step, RedirectStep | RejectStep) and step.id in answered_by
    ]
