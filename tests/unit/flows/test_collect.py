"""The collect step: keys gathered for a later ask, kept on the run only while it runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from callcontrol.domain.flows import AskRequest, FlowRun, parse_script, simulate
from callcontrol.domain.flows.actions import HangUp, RecognizeDtmf
from callcontrol.domain.flows.media_events import DigitsPressed, RecognizeEnded
from callcontrol.domain.flows.model import CollectStep
from callcontrol.domain.flows.prompts import MenuFailure
from callcontrol.domain.models import flow_view
from tests.unit.flows._support import FACTS, HANGUP, Driver, ask, flow_of, problems_of, steps
from tests.unit.flows.menu_support import WAV


def collect(step_id: str = "account", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "collect", "prompt": {"file": WAV}, "maxDigits": 8, "minDigits": 4,
            "stopTones": "#", "retries": 1, "next": "crm", "noInput": "bye", **extra}


FLOW = flow_of(steps(collect(), ask("crm", choices=["bye"]), HANGUP))


def test_a_collect_step_parses_with_its_bounds() -> None:
    step = FLOW.steps[0]
    assert isinstance(step, CollectStep)
    assert (step.max_digits, step.min_digits, step.stop_tones, step.next) == (8, 4, "#", "crm")


@pytest.mark.parametrize(
    ("extra", "field", "reason"),
    [({"maxDigits": None}, "maxDigits", "is required"), ({"maxDigits": 21}, "maxDigits", "from 1 to 20"),
     ({"minDigits": 9}, "minDigits", "from 1 to 8"), ({"stopTones": "5"}, "stopTones", "among * and #"),
     ({"next": None}, "next", "is required"), ({"next": "nowhere"}, "next", "names no step")],
)
def test_each_problem_names_its_field(extra: dict[str, Any], field: str, reason: str) -> None:
    body = {key: value for key, value in {**collect(), **extra}.items() if value is not None}
    problems = problems_of(steps(body, ask("crm", choices=["bye"]), HANGUP))
    assert any(p.field == f"flows.sales.steps[0].{field}" and reason in p.reason for p in problems), problems


def test_the_keys_reach_the_ask_and_never_the_path_the_view_or_a_finished_run() -> None:
    driver = Driver(FLOW, answered=True)
    (recognize,) = driver.start()
    assert isinstance(recognize, RecognizeDtmf) and recognize.stop_tones == "#" and recognize.max_tones == 8
    (request,) = driver.apply(DigitsPressed(recognize.context, "12345678"))
    assert isinstance(request, AskRequest) and request.body["collected"] == {"account": "12345678"}
    assert [(p.step, p.outcome) for p in driver.run.path] == [("account", "collected"), ("crm", None)]
    assert "12345678" not in repr(driver.run) and "12345678" not in str(flow_view(driver.run))
    stored = driver.run.to_json()
    assert FlowRun.from_json(stored) == driver.run  # the wait for the ask survives a store round trip
    assert driver.apply(RecognizeEnded(recognize.context, MenuFailure.NO_INPUT)) == ()  # stale


def test_too_few_keys_are_invalid_and_retried_then_the_fallback() -> None:
    driver = Driver(FLOW, answered=True)
    (first,) = driver.start()
    (second,) = driver.apply(DigitsPressed(first.context, "12"))
    assert isinstance(second, RecognizeDtmf) and driver.run.collected == ()
    (end,) = driver.apply(DigitsPressed(second.context, "1"))
    assert isinstance(end, HangUp) and driver.run.path[-1].outcome == "invalid"


def test_a_finished_run_keeps_no_keys_and_old_runs_read_without_them() -> None:
    flow = flow_of(steps(collect(next="bye", noInput=None), HANGUP))
    driver = Driver(flow, answered=True)
    (recognize,) = driver.start()
    driver.apply(DigitsPressed(recognize.context, "4321"))
    assert driver.run.finished and driver.run.collected == ()
    stored = driver.run.to_json()
    assert "collected" not in stored  # stored as before collect steps existed, and read so
    assert FlowRun.from_json(stored) == driver.run
    keeping = dataclasses.replace(driver.run, collected=(("account", "4321"),))
    assert FlowRun.from_json(keeping.to_json()) == keeping


def test_the_dry_run_takes_keys_for_a_collect_step() -> None:
    result = simulate(FLOW, FACTS, parse_script({"account": ["123", "98765"], "crm": ["timeout"]}, FLOW))
    assert [(s.step, s.attempt, s.outcome) for s in result.path] == [
        ("account", 1, "invalid"), ("account", 2, "collected"), ("crm", 1, "timeout"), ("bye", 1, None)]


def test_a_stop_key_ends_the_entry_and_is_neither_counted_nor_kept() -> None:
    # ACS ends the entry at a stop tone; the keys before it are the entry. A dry run scripting
    # "123#" (three keys, then #) must read it as a live call would: too few keys, invalid; and
    # "12345678#" (maxDigits keys, then #) is a valid entry, kept without the '#'.
    result = simulate(FLOW, FACTS, parse_script({"account": ["123#", "12345678#"]}, FLOW))
    assert [(s.step, s.attempt, s.outcome) for s in result.path][:2] == [
        ("account", 1, "invalid"), ("account", 2, "collected")]
    (request,) = result.path[2].actions
    assert isinstance(request, AskRequest) and request.body["collected"] == {"account": "12345678"}
    driver = Driver(FLOW, answered=True)  # a RecognizeCompleted that reports the stop tone too
    (recognize,) = driver.start()
    (request,) = driver.apply(DigitsPressed(recognize.context, "4321#"))
    assert isinstance(request, AskRequest) and request.body["collected"] == {"account": "4321"}


def test_a_lone_stop_key_is_no_input_in_a_dry_run_as_on_a_call() -> None:
    # On a call, # pressed first ends the recognize with no tones (RecognizeCompleted 8514):
    # no input. A dry run scripting "#" must say the same, not "invalid" (nor keep "#").
    result = simulate(FLOW, FACTS, parse_script({"account": ["#"]}, FLOW))
    assert (result.path[0].step, result.path[0].outcome) == ("account", "noInput")
