"""Parsing the flows section: what is accepted, and every refusal named by its field."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.flows import RingFailure, RingMode, parse_flow, parse_flows
from callcontrol.domain.flows.graph import _goto_loops
from callcontrol.domain.flows.model import (
    AskStep,
    Flow,
    GotoStep,
    HangUpStep,
    RingStep,
    Step,
    TransferStep,
)
from tests.unit.flows._support import ALICE, BOB, CAROL, HANGUP, ask, flow_of, problems_of, ring, steps


def test_a_full_flow_parses_into_the_model() -> None:
    flow = flow_of(steps(
        ring("ring", ALICE, CAROL, BOB, mode="sequential", timeoutSeconds=20, onBusy="ask", fallback="bye"),
        ask("ask", choices=["ring", "desk"], timeoutSeconds=2.5),
        {"id": "desk", "type": "transfer", "target": {"phoneNumber": "+14255550199"},
         "callerId": "+18005550100", "onFailed": "bye"},
        HANGUP,
        max_steps=12,
    ))
    first = flow.steps[0]
    assert isinstance(first, RingStep)
    assert first.mode is RingMode.SEQUENTIAL and first.timeout_seconds == 20
    assert [t.caller_id for t in first.targets] == ["+18005550100", "+18005550199", None]
    assert first.next_for(RingFailure.BUSY) == "ask" and first.next_for(RingFailure.DECLINED) == "bye"
    assert isinstance(flow.steps[1], AskStep) and flow.steps[1].timeout_seconds == 2.5
    assert isinstance(flow.steps[2], TransferStep) and flow.steps[2].caller_id == "+18005550100"
    assert (flow.start, flow.max_steps) == ("ring", 12)


def test_defaults_simultaneous_ring_30_seconds_ask_3_seconds_25_steps() -> None:
    flow = flow_of(steps(ring("ring", fallback="ask"), ask("ask"), HANGUP))
    ring_step, ask_step = flow.steps[0], flow.steps[1]
    assert isinstance(ring_step, RingStep) and isinstance(ask_step, AskStep)
    assert (ring_step.mode, ring_step.timeout_seconds) == (RingMode.SIMULTANEOUS, 30)
    assert ask_step.timeout_seconds == 3.0
    assert flow.max_steps == 25


def test_a_whole_number_written_with_a_fraction_is_that_number_as_json_schema_says() -> None:
    flow = flow_of(steps(ring("ring", timeoutSeconds=20.0), max_steps=12.0))
    first = flow.steps[0]
    assert isinstance(first, RingStep) and first.timeout_seconds == 20 and flow.max_steps == 12


def test_a_huge_whole_number_is_refused_by_its_bounds_not_an_overflow() -> None:
    problems = problems_of(steps(ring("ring", timeoutSeconds=10**400), max_steps=10**400))
    assert {(p.field, p.reason) for p in problems} == {
        ("flows.sales.steps[0].timeoutSeconds", "must be from 1 to 180"),
        ("flows.sales.maxSteps", "must be from 1 to 100"),
    }


def test_a_null_caller_id_does_not_stand_for_one_on_a_phone_target() -> None:
    problems = problems_of(steps({"id": "r", "type": "ring", "targets": [{**ALICE, "callerId": None}]}))
    assert [(p.field, p.reason.split(" (")[0]) for p in problems] == [
        ("flows.sales.steps[0].targets[0].callerId", "is required for a phone number")]


def test_loops_through_a_step_that_waits_are_allowed() -> None:
    flow = flow_of(steps(ring("ring", fallback="again"), {"id": "again", "type": "goto", "next": "ring"}))
    assert isinstance(flow.steps[1], GotoStep)


@pytest.mark.parametrize(
    ("document", "field", "reason"),
    [
        (steps(ring("ring", fallback="nowhere")), "flows.sales.steps[0].fallback", "names no step"),
        (steps(ring("ring", onBusy="x")), "flows.sales.steps[0].onBusy", "names no step"),
        (steps(ask("ask", choices=["bye", "gone"]), HANGUP), "flows.sales.steps[0].choices[1]",
         "names no step"),
        (steps(HANGUP, start="nope"), "flows.sales.start", "names no step"),
        (steps(HANGUP, {"id": "bye", "type": "reject"}), "flows.sales.steps[1].id", "repeats the id"),
        (steps(HANGUP, {"id": "lonely", "type": "hangup"}), "flows.sales.steps[1].id", "unreachable"),
        (steps({"id": "a", "type": "goto", "next": "b"}, {"id": "b", "type": "goto", "next": "a"}),
         "flows.sales.steps[0].next", "loop of goto steps only (a → b → a)"),
        (steps({"id": "a", "type": "goto", "next": "a"}), "flows.sales.steps[0].next", "loop of goto"),
        (steps(ring("ring", fallback="no"), {"id": "no", "type": "reject", "reason": "busy"}),
         "flows.sales.steps[1].type", "only possible before the call is answered"),
        (steps(ring("ring", fallback="ask"), ask("ask", fallback="away"),
               {"id": "away", "type": "redirect", "target": ALICE}),
         "flows.sales.steps[2].type", "step 'ring' answers it"),
        (steps(ring("ring", {"phoneNumber": "+14255550101"}, callerId=None)),
         "flows.sales.steps[0].targets[0].callerId", "is required for a phone number"),
        (steps(ring("ring", {"phoneNumber": "14255550101"})),
         "flows.sales.steps[0].targets[0].phoneNumber", "E.164"),
        (steps(ring("ring", {"rawId": "4:anonymous"})), "flows.sales.steps[0].targets[0]", "withheld"),
        (steps(ring("ring", {"microsoftTeamsAppId": "app"})), "flows.sales.steps[0].targets[0]",
         "must be a phone number, an ACS user"),
        (steps(ring("ring", {"communicationUserId": "bob"})),
         "flows.sales.steps[0].targets[0].communicationUserId", "ACS user id"),
        (steps(ring("ring", {**BOB, "nickname": "b"})), "flows.sales.steps[0].targets[0].nickname",
         "is not a known field"),
        (steps(ring("ring", ALICE, callerId="5550100")), "flows.sales.steps[0].callerId", "E.164"),
        (steps(ring("ring", timeoutSeconds=181)), "flows.sales.steps[0].timeoutSeconds", "from 1 to 180"),
        (steps(ring("ring", timeoutSeconds=0)), "flows.sales.steps[0].timeoutSeconds", "from 1 to 180"),
        (steps(ring("ring", {**BOB, "timeoutSeconds": 200})),
         "flows.sales.steps[0].targets[0].timeoutSeconds", "from 1 to 180"),
        (steps(ring("ring", timeoutSeconds=12.5)), "flows.sales.steps[0].timeoutSeconds", "whole number"),
        (steps(ring("ring", timeoutSeconds=True)), "flows.sales.steps[0].timeoutSeconds", "whole number"),
        (steps(ring("ring", mode="roundRobin")), "flows.sales.steps[0].mode", "simultaneous or sequential"),
        (steps(ring("ring", *([BOB] * 11))), "flows.sales.steps[0].targets", "at most 10"),
        (steps({"id": "ring", "type": "ring"}), "flows.sales.steps[0].targets", "is required"),
        (steps(ask("ask", url="http://crm.example.com/route"), HANGUP), "flows.sales.steps[0].url", "https"),
        (steps(ask("ask", url="ftp://crm.example.com/"), HANGUP), "flows.sales.steps[0].url", "https"),
        (steps(ask("ask", url="/relative"), HANGUP), "flows.sales.steps[0].url", "absolute"),
        (steps(ask("ask", url="https://user:pw@crm.example.com/"), HANGUP), "flows.sales.steps[0].url",
         "credentials"),
        (steps(ask("ask", timeoutSeconds=30), HANGUP), "flows.sales.steps[0].timeoutSeconds", "to 10"),
        (steps({"id": "ask", "type": "ask", "url": "https://x.example"}), "flows.sales.steps[0].fallback",
         "is required"),
        (steps({"id": "r", "type": "redirect", "target": ALICE, "callerId": "+18005550100"}),
         "flows.sales.steps[0].callerId", "RedirectCall has no caller-id"),
        (steps({"id": "r", "type": "redirect"}), "flows.sales.steps[0].target", "is required"),
        (steps({"id": "t", "type": "transfer", "target": ALICE}), "flows.sales.steps[0].callerId",
         "is required to transfer to a phone number"),
        (steps({"id": "n", "type": "reject", "reason": "later"}), "flows.sales.steps[0].reason",
         "none, busy or forbidden"),
        (steps({"id": "p", "type": "record"}), "flows.sales.steps[0].type", "must be one of: ring, ask"),
        (steps({"id": "p"}), "flows.sales.steps[0].type", "is required"),
        (steps({"id": "bad id", "type": "hangup"}), "flows.sales.steps[0].id", "letters, digits"),
        (steps({"id": "a:b", "type": "hangup"}), "flows.sales.steps[0].id", "letters, digits"),
        (steps({"type": "hangup"}), "flows.sales.steps[0].id", "is required"),
        (steps({**HANGUP, "colour": "red"}), "flows.sales.steps[0].colour", "is not a known field"),
        (steps({**HANGUP, "description": "x" * 501}), "flows.sales.steps[0].description", "at most 500"),
        ({"sales": {"steps": [HANGUP], "description": 5}}, "flows.sales.description", "must be a non-empty"),
        (steps(HANGUP, max_steps=0), "flows.sales.maxSteps", "from 1 to 100"),
        (steps(HANGUP, max_steps=101), "flows.sales.maxSteps", "from 1 to 100"),
        ({"sales": {"steps": []}}, "flows.sales.steps", "at least one step"),
        ({"sales": []}, "flows.sales", "must be a JSON object"),
        ({"sales team": {"steps": [HANGUP]}}, "flows.sales team", "a flow name must be"),
        ([], "flows", "must be a JSON object"),
    ],
)
def test_each_problem_names_its_field(document: Any, field: str, reason: str) -> None:
    problems = problems_of(document)
    assert any(p.field == field and reason in p.reason for p in problems), problems


def test_loopback_http_is_allowed_for_local_use() -> None:
    for url in ("http://localhost:7071/route", "http://127.0.0.1/route", "http://[::1]:8080/route"):
        flow = flow_of(steps(ask("ask", url=url), HANGUP))
        assert isinstance(flow.steps[0], AskStep) and flow.steps[0].url == url


def test_a_loop_of_gotos_is_reported_once() -> None:
    problems = problems_of(steps(
        {"id": "a", "type": "goto", "next": "b"},
        {"id": "b", "type": "goto", "next": "c"},
        {"id": "c", "type": "goto", "next": "b"},
    ))
    assert [(p.field, "b → c → b" in p.reason) for p in problems] == [("flows.sales.steps[1].next", True)]


def test_every_problem_is_reported_at_once_with_a_summary() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_flows({
            "sales": {"steps": [ring("ring", timeoutSeconds=999), {"id": "x", "type": "nope"}]},
            "support": {"steps": [ask("ask", url="http://example.com")]},
        })
    fields = [p.field for p in caught.value.problems]
    assert fields == ["flows.sales.steps[0].timeoutSeconds", "flows.sales.steps[1].type",
                      "flows.support.steps[0].url"]
    assert caught.value.detail.startswith("invalid flows: flows.sales.steps[0].timeoutSeconds")
    assert caught.value.detail.endswith("(and 2 more)")


def test_parse_flow_names_fields_from_the_root_it_is_given() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_flow("sales", {"steps": [ring("ring", fallback="gone")]}, "flows.sales")
    assert [p.field for p in caught.value.problems] == ["flows.sales.steps[0].fallback"]


def test_a_redirect_before_any_answer_is_fine() -> None:
    flow = flow_of(steps(ask("ask", fallback="away"), {"id": "away", "type": "redirect", "target": BOB}))
    assert flow.steps[1].id == "away"


# A rule-set body (64 KiB) holds about 1,600 goto steps: checking them was cubic (each step walked
# its chain with a list's `in`), 12 s for a chain and 28 s for a loop, in the event loop, and again
# on every read of the stored set. Linear now, shown by counting the walk's steps, not by a clock.
LONG = 1_600


class CountingIndex(dict[str, int]):
    """Step positions by id, counting the lookups the loop check makes (one per step walked)."""

    lookups = 0

    def __getitem__(self, key: str) -> int:
        self.lookups += 1
        return super().__getitem__(key)


def _walked(gotos: list[GotoStep], *rest: Step) -> tuple[int, list[FieldProblem]]:
    flow = Flow("sales", (*gotos, *rest), gotos[0].id)
    index = CountingIndex({step.id: position for position, step in enumerate(flow.steps)})
    problems = _goto_loops(flow, "flows.sales.steps", index)
    return index.lookups, problems


def test_a_long_chain_of_gotos_is_checked_in_linear_time() -> None:
    chain = [GotoStep(f"s{i}", f"s{i + 1}") for i in range(LONG)]
    lookups, problems = _walked(chain, HangUpStep(f"s{LONG}"))
    assert problems == [] and lookups <= 2 * LONG, lookups  # was about LONG² / 2
    document = [{"id": f"s{i}", "type": "goto", "next": f"s{i + 1}"} for i in range(LONG)]
    parse_flows(steps(*document, {"id": f"s{LONG}", "type": "hangup"}))  # accepted


def test_a_long_loop_of_gotos_is_refused_once_in_linear_time() -> None:
    loop = [GotoStep(f"s{i}", f"s{(i + 1) % LONG}") for i in range(LONG)]
    lookups, problems = _walked(loop)
    assert [p.field for p in problems] == ["flows.sales.steps[0].next"]
    assert lookups <= 3 * LONG, lookups  # the walk, then the loop's first step found
    document = [{"id": f"s{i}", "type": "goto", "next": f"s{(i + 1) % LONG}"} for i in range(LONG)]
    assert [p.field for p in problems_of(steps(*document))] == ["flows.sales.steps[0].next"]
