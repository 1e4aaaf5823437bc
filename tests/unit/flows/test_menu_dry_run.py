"""The dry run of a menu: keys in the script, the choice on the path; the speech-prompt check."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import FlowOutcome, parse_script, simulate
from callcontrol.domain.rules import parse_rule_set
from callcontrol.domain.rules.flows import speech_prompt_problems
from tests.unit.flows._support import FACTS, HANGUP, flow_of, steps
from tests.unit.flows.menu_support import menu, play, targets

IVR = flow_of(steps(play(next="main"), menu(retries=1), targets("sales"), targets("support"),
                    targets("operator"), HANGUP))


def run(script: dict[str, Any]) -> Any:
    return simulate(IVR, FACTS, parse_script(script, IVR))


def trail(result: Any) -> list[tuple[str, int, str | None]]:
    return [(step.step, step.attempt, step.outcome) for step in result.path]


def test_pressing_1_shows_the_choice_and_the_ring_it_leads_to() -> None:
    result = run({"main": ["1"], "sales": ["answered"]})
    assert trail(result) == [("welcome", 1, "played"), ("main", 1, "choice:sales"), ("sales", 1, "answered")]
    assert result.outcome is FlowOutcome.CONNECTED
    welcome, main, _ = result.path
    assert [a.name for a in welcome.actions] == ["AnswerCall", "PlayMedia"]
    assert [a.name for a in main.actions] == ["RecognizeDtmf"]
    assert result.defaults == ("welcome#1: played",)


def test_an_invalid_key_then_no_input_takes_no_input_s_step() -> None:
    result = run({"welcome": ["played"], "main": [{"digits": "9"}, "noInput"], "operator": ["busy"]})
    assert trail(result) == [("welcome", 1, "played"), ("main", 1, "invalid"), ("main", 2, "noInput"),
                             ("operator", 1, "busy"), ("bye", 1, None)]
    assert result.outcome is FlowOutcome.HUNG_UP


def test_an_unscripted_menu_hears_nothing_and_says_so() -> None:
    result = run({"welcome": ["failed"]})
    assert ("main#1: noInput" in result.defaults) and ("main#2: noInput" in result.defaults)
    assert trail(result)[0] == ("welcome", 1, "failed")


@pytest.mark.parametrize(
    ("script", "field"),
    [({"main": ["1a"]}, "script.main[0]"), ({"main": ["12"]}, "script.main[0]"),
     ({"main": [{"keys": "1"}]}, "script.main[0].keys"), ({"main": [{}]}, "script.main[0].digits"),
     ({"welcome": ["answered"]}, "script.welcome[0]"), ({"bye": ["1"]}, "script.bye")],
)
def test_a_script_a_menu_cannot_meet_is_refused_by_entry(script: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_script(script, IVR)
    assert field in [p.field for p in caught.value.problems]


def test_text_and_ssml_prompts_are_named_when_the_app_has_no_speech() -> None:
    rules = parse_rule_set({
        "rules": [], "defaultAction": {"type": "flow", "flow": "ivr"},
        "flows": {"ivr": {"steps": [
            play(prompt={"text": "Welcome"}, next="main"),
            menu(reprompt={"ssml": "<speak>Sorry</speak>"}),
            targets("sales"), targets("support"), targets("operator"), HANGUP]}}})
    problems = speech_prompt_problems(rules)
    assert [p.field for p in problems] == ["flows.ivr.steps[0].prompt.text",
                                           "flows.ivr.steps[1].reprompt.ssml"]
    assert all("COGNITIVE_SERVICES_ENDPOINT" in p.reason for p in problems)
    files_only = parse_rule_set({"rules": [], "defaultAction": {"type": "flow", "flow": "ivr"},
                                 "flows": {"ivr": {"steps": [play()]}}})
    assert speech_prompt_problems(files_only) == []


def test_a_collect_steps_spoken_prompt_and_reprompt_are_named_too() -> None:
    # They were let through: the caller would have heard silence (ACS refuses them, 8523).
    collect = {"id": "acct", "type": "collect", "prompt": {"text": "Your account number?"},
               "reprompt": {"ssml": "<speak>Again?</speak>"}, "maxDigits": 8, "next": "bye"}
    rules = parse_rule_set({"rules": [], "defaultAction": {"type": "flow", "flow": "ivr"},
                            "flows": {"ivr": {"steps": [collect, HANGUP]}}})
    assert [p.field for p in speech_prompt_problems(rules)] == ["flows.ivr.steps[0].prompt.text",
                                                                "flows.ivr.steps[0].reprompt.ssml"]
