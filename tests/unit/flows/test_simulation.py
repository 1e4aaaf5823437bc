"""The dry run: a script of outcomes in, the path with what each step would send out."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import FlowOutcome, parse_script, simulate
from tests.unit.flows._support import ALICE, BOB, CAROL, FACTS, HANGUP, ask, flow_of, ring, steps

SALES = flow_of(steps(
    ring("team", ALICE, BOB, fallback="solo"),
    ring("solo", CAROL, BOB, mode="sequential", onBusy="ask", fallback="ask"),
    ask("ask", choices=["team", "desk"], fallback="bye"),
    {"id": "desk", "type": "transfer", "target": BOB, "onFailed": "bye"},
    HANGUP,
))


def run(script: dict[str, Any], **options: Any) -> Any:
    return simulate(SALES, FACTS, parse_script(script, SALES), **options)


def trail(result: Any) -> list[tuple[str, int, str | None]]:
    return [(step.step, step.attempt, step.outcome) for step in result.path]


def test_the_issue_s_example_ring_attempt_one_no_answer_attempt_two_answered() -> None:
    result = run({"team": ["noAnswer"], "solo": ["noAnswer", "answered"]})
    assert trail(result) == [("team", 1, "noAnswer"), ("solo", 1, "noAnswer"), ("solo", 2, "answered")]
    assert result.outcome is FlowOutcome.CONNECTED and result.defaults == ()
    team, solo_1, solo_2 = result.path
    assert [a.name for a in team.actions] == ["AnswerCall", "AddParticipant", "AddParticipant"]
    assert [a.name for a in solo_1.actions] == ["AddParticipant"]
    assert [a.name for a in solo_2.actions] == ["AddParticipant", "HangUp"]
    assert solo_2.actions[-1].to_json()["forEveryone"] is False  # the app leaves the two of them


def test_a_simultaneous_answer_by_a_chosen_target_cancels_the_other() -> None:
    result = run({"team": [{"outcome": "answered", "target": 1}]})
    (team,) = result.path
    assert [a.name for a in team.actions] == ["AnswerCall", "AddParticipant", "AddParticipant",
                                              "CancelAddParticipant", "HangUp"]
    assert team.actions[3].to_json()["addOperationContext"] == team.actions[1].context


def test_an_ask_timeout_takes_the_fallback() -> None:
    result = run({"team": ["busy"], "solo": ["busy"], "ask": ["timeout"]})
    assert trail(result)[-2:] == [("ask", 1, "timeout"), ("bye", 1, None)]
    assert result.outcome is FlowOutcome.HUNG_UP


def test_an_ask_reply_routes_the_call_and_a_transfer_fails_over() -> None:
    result = run({"team": ["declined"], "solo": ["busy", "busy"], "ask": [{"next": "desk"}],
                  "desk": ["failed"]})
    assert trail(result) == [("team", 1, "declined"), ("solo", 1, "busy"), ("solo", 2, "busy"),
                             ("ask", 1, "next:desk"), ("desk", 1, "failed"), ("bye", 1, None)]
    assert result.defaults == ()
    assert [a.name for a in result.path[-1].actions] == ["HangUp"]
    assert result.outcome is FlowOutcome.HUNG_UP


def test_defaults_fill_what_the_script_leaves_out_and_are_listed() -> None:
    result = run({})
    assert trail(result)[:4] == [("team", 1, "noAnswer"), ("solo", 1, "noAnswer"), ("solo", 2, "noAnswer"),
                                 ("ask", 1, "timeout")]
    assert result.defaults == ("team#1: noAnswer", "solo#1: noAnswer", "solo#2: noAnswer", "ask#1: timeout")


def test_nothing_is_sent_and_the_output_is_stable() -> None:
    script = {"team": ["noAnswer"], "solo": ["answered"]}
    assert run(script).to_json() == run(script).to_json()
    first = run(script).to_json()["path"][0]["actions"][0]
    assert first["operationContext"] == "flow:dry-run:1:team:1:answer"


def test_a_loop_is_bounded_by_max_steps() -> None:
    flow = flow_of(steps(ring("team", BOB, fallback="again"), {"id": "again", "type": "goto", "next": "team"},
                         max_steps=7))
    result = simulate(flow, FACTS, {})
    assert result.steps_taken == 7 and result.outcome is FlowOutcome.MAX_STEPS
    assert [a.name for a in result.path[-1].actions][-1] == "HangUp"


def test_an_already_answered_call_is_not_answered_again() -> None:
    result = run({"team": ["answered"]}, answered=True)
    assert [a.name for a in result.path[0].actions] == ["AddParticipant", "AddParticipant",
                                                       "CancelAddParticipant", "HangUp"]


def test_an_inline_reject_before_the_answer() -> None:
    flow = flow_of(steps(ask("ask", fallback="bye"), HANGUP))
    script = parse_script({"ask": [{"action": {"type": "reject", "reason": "busy"}}]}, flow)
    result = simulate(flow, FACTS, script)
    assert result.outcome is FlowOutcome.REJECTED
    assert result.path[0].actions[-1].to_json()["reason"] == "busy"


@pytest.mark.parametrize(
    ("script", "field"),
    [({"nope": ["busy"]}, "script.nope"),
     ({"bye": ["busy"]}, "script.bye"),
     ({"team": "busy"}, "script.team"),
     ({"team": ["maybe"]}, "script.team[0]"),
     ({"team": [{"outcome": "answered", "target": 2}]}, "script.team[0].target"),
     ({"ask": ["busy"]}, "script.ask[0]"),
     ({"ask": [{"next": "a b"}]}, "script.ask[0].next"),
     ({"desk": ["answered"]}, "script.desk[0]"),
     ([], "script")],
)
def test_a_bad_script_names_the_entry(script: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_script(script, SALES)
    assert field in [p.field for p in caught.value.problems]
