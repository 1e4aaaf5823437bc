"""Builders shared by the flow tests: flow documents, a started run, and event helpers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.flows import (
    CallFacts,
    Flow,
    FlowAction,
    FlowEvent,
    FlowRun,
    FlowStarted,
    advance,
    parse_flows,
)
from callcontrol.domain.identifiers import phone

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLER_ID = "+18005550100"
ALICE = {"phoneNumber": "+14255550101"}
BOB = {"communicationUserId": "8:acs:00000000-0000-0000-0000-00000000000b"}
CAROL = {"phoneNumber": "+14255550103", "callerId": "+18005550199"}
FACTS = CallFacts(server_call_id="server-1", correlation_id="corr-1", caller=phone("+12065550123"),
                  callee=phone("+18005550100"), headers=(("X-MS-Custom-Tier", "gold"),))


def steps(*items: dict[str, Any], start: str | None = None, max_steps: int | None = None) -> dict[str, Any]:
    """A one-flow document (`flows.sales`)."""
    body: dict[str, Any] = {"steps": list(items)}
    if start is not None:
        body["start"] = start
    if max_steps is not None:
        body["maxSteps"] = max_steps
    return {"sales": body}


def ring(step_id: str = "ring", *targets: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "ring", "callerId": CALLER_ID, "targets": list(targets or (ALICE, BOB)),
            **extra}


def ask(step_id: str = "ask", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "ask", "url": "https://crm.example.com/route", "fallback": "bye", **extra}


HANGUP = {"id": "bye", "type": "hangup"}


def flow_of(document: dict[str, Any]) -> Flow:
    return parse_flows(copy.deepcopy(document))["sales"]


def problems_of(document: object) -> list[FieldProblem]:
    with pytest.raises(InvalidInput) as caught:
        parse_flows(document)
    assert caught.value.problems, "InvalidInput without problems"
    return caught.value.problems


class Driver:
    """A run and everything it asked for, moved one event at a time."""

    def __init__(self, flow: Flow, *, answered: bool = False, run_id: str = "run-1") -> None:
        self.flow = flow
        self.run = FlowRun.new(flow.name, run_id, "call-1", FACTS, answered=answered)
        self.sent: list[FlowAction] = []

    def apply(self, event: FlowEvent, now: datetime = NOW) -> tuple[FlowAction, ...]:
        self.run, actions = advance(self.flow, self.run, event, now)
        self.sent.extend(actions)
        return actions

    def start(self) -> tuple[FlowAction, ...]:
        return self.apply(FlowStarted())

    def adds(self) -> list[str]:
        return [item.context for item in self.run.pending]


def kinds(actions: tuple[FlowAction, ...] | list[FlowAction]) -> list[str]:
    return [action.name for action in actions]
