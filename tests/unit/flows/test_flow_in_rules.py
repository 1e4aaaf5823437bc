"""Flows in the rule set: the flow action, its validation, the dry run, the step events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.events.call_events import APP, announce
from callcontrol.domain.flows import CallFacts, FlowRun, FlowStarted, advance
from callcontrol.domain.flows.state import FlowOutcome, RunStatus
from callcontrol.domain.models import CallRecord
from callcontrol.domain.rules import flow_of, parse_incoming_call, parse_rule_set
from callcontrol.domain.rules.flows import ask_step_fields
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.usecases.rules import EvaluateRules, ReplaceRuleSet, Rules
from tests.unit.flows._support import NOW

RING = {"id": "team", "type": "ring", "targets": [{"communicationUserId": "8:acs:rules_anna"}],
        "fallback": "bye"}
BYE = {"id": "bye", "type": "hangup"}


def rule_set(flows: Any, flow: str = "desk") -> dict[str, Any]:
    return {"rules": [{"id": "r", "action": {"type": "flow", "flow": flow}}],
            "defaultAction": {"type": "answer"}, "flows": flows}


def fields(document: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_rule_set(document)
    return [problem.field for problem in caught.value.problems]


def test_a_rule_naming_a_missing_flow_is_refused_by_field() -> None:
    assert fields(rule_set({"desk": {"steps": [RING, BYE]}}, flow="sales")) == ["rules[0].action.flow"]
    assert fields({"rules": [], "defaultAction": {"type": "flow", "flow": "x"}}) == ["defaultAction.flow"]


def test_flow_problems_are_named_under_flows() -> None:
    found = fields(rule_set({"desk": {"steps": [{**RING, "fallback": "nowhere"}, BYE]}}))
    assert "flows.desk.steps[0].fallback" in found


ASK = {"id": "ask", "type": "ask", "url": "https://crm.example.com/route", "fallback": "bye"}


def test_ask_steps_are_valid_and_found_by_field() -> None:
    asking = {**ASK, "choices": ["team"]}
    other = {"start": "ask", "steps": [BYE, ASK]}
    rules = parse_rule_set(rule_set({"desk": {"steps": [asking, RING, BYE]}, "other": other}))
    assert sorted(ask_step_fields(rules)) == ["flows.desk.steps[0]", "flows.other.steps[1]"]
    assert ask_step_fields(parse_rule_set(rule_set({"desk": {"steps": [RING, BYE]}}))) == []


class _Saved:
    """The store's and cache's side of a replace: what was saved and primed."""

    def __init__(self) -> None:
        self.saved: list[Any] = []

    async def replace(self, rules: Any, if_match: Any, actor: Any) -> RuleSetVersion:
        self.saved.append(rules)
        return RuleSetVersion(version=len(self.saved), rules=rules, etag='"1-x"', saved_at=None,
                              source="api")

    def prime(self, entry: RuleSetVersion) -> None:
        self.saved.append(entry.version)


async def test_a_set_with_an_ask_step_is_refused_while_the_app_cannot_sign_asks() -> None:
    rules = parse_rule_set(rule_set({"desk": {"steps": [ASK, BYE]}}))
    saved = _Saved()
    refusing = Rules(saved, saved, ask_signing=lambda: False,  # type: ignore[arg-type]
                     ask_setting="FLOW_ASK_SECRET")
    with pytest.raises(InvalidInput) as caught:
        await refusing.replace(ReplaceRuleSet(rules, None))
    [problem] = caught.value.problems
    assert problem.field == "flows.desk.steps[0]" and "FLOW_ASK_SECRET" in problem.reason
    assert saved.saved == []
    plain = parse_rule_set(rule_set({"desk": {"steps": [RING, BYE]}}))
    assert (await refusing.replace(ReplaceRuleSet(plain, None))).version == 1  # no ask: saved
    signing = Rules(saved, saved, ask_signing=lambda: True)  # type: ignore[arg-type]
    assert (await signing.replace(ReplaceRuleSet(rules, None))).rules == rules


async def test_a_text_prompt_that_says_nothing_is_refused_when_stored_yet_a_stored_one_still_reads() -> None:
    # ACS refuses a TextSource of only white space (the emulator: 400/8523), so the step would
    # fail on every call: refused by PUT, naming the field, even on an app with speech. It is
    # not a parse error: a set an earlier release stored with one must stay readable.
    silent = {"id": "hi", "type": "play", "prompt": {"text": " \n\t "}, "next": "bye"}
    rules = parse_rule_set(rule_set({"desk": {"steps": [silent, BYE]}}))
    saved = _Saved()
    speaking = Rules(saved, saved, speech=lambda: True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        await speaking.replace(ReplaceRuleSet(rules, None))
    [problem] = caught.value.problems
    assert problem.field == "flows.desk.steps[0].prompt.text" and "white space" in problem.reason
    assert saved.saved == []


def test_a_valid_set_keeps_its_flows_and_round_trips() -> None:
    rules = parse_rule_set(rule_set({"desk": {"steps": [RING, BYE]}}))
    assert parse_rule_set(rules.to_json()) == rules
    flow = flow_of(rules, "desk")
    assert flow is not None and [step.id for step in flow.steps] == ["team", "bye"]


class _Versions:
    def __init__(self, version: RuleSetVersion) -> None:
        self.entry = version

    async def current(self) -> RuleSetVersion:
        return self.entry


async def test_evaluate_returns_the_path_for_a_script_and_refuses_a_script_without_a_flow() -> None:
    rules = parse_rule_set(rule_set({"desk": {"steps": [RING, BYE]}}))
    version = RuleSetVersion(version=3, rules=rules, etag='"3-x"', saved_at=None, source="api")
    use_case = Rules(_Versions(version), None)  # type: ignore[arg-type]
    call = parse_incoming_call({"from": {"phoneNumber": "+14255550100"},
                                "to": {"phoneNumber": "+18005550100"}}, require_call_context=False)
    evaluation = await use_case.evaluate(EvaluateRules(call, NOW, {"team": ["busy"]}))
    assert evaluation.flow is not None
    body = evaluation.flow.to_json()
    assert [(p["step"], p["outcome"]) for p in body["path"]] == [("team", "busy"), ("bye", None)]
    answer_all = parse_rule_set({"rules": [], "defaultAction": {"type": "answer"}})
    plain = RuleSetVersion(version=4, rules=answer_all, etag='"4-y"', saved_at=None, source="api")
    with pytest.raises(InvalidInput) as caught:
        await Rules(_Versions(plain), None).evaluate(  # type: ignore[arg-type]
            EvaluateRules(call, NOW, {"team": ["busy"]}))
    assert [p.field for p in caught.value.problems] == ["script"]


def test_each_step_entered_and_ended_is_announced_once() -> None:
    rules = parse_rule_set(rule_set({"desk": {"steps": [RING, BYE]}}))
    flow = flow_of(rules, "desk")
    assert flow is not None
    run, _ = advance(flow, FlowRun.new("desk", "run-1", "key", CallFacts()), FlowStarted(), NOW)
    before = CallRecord("conn-1")
    after = replace(before, flow_run=run)
    events = [e for e in announce(before, after, APP, NOW) if e.type == "call.flow.step"]
    assert [e.data["change"]["step"] for e in events] == ["team"]
    assert [e for e in announce(after, after, APP, NOW) if e.type == "call.flow.step"] == []


def test_a_run_ending_without_a_new_entry_announces_its_end_once() -> None:
    # A simultaneous ring: the answer ends the path entry, the last cancelled invitation settling
    # later ends the run in a write that touches no entry; the end still needs its event.
    rules = parse_rule_set(rule_set({"desk": {"steps": [RING, BYE]}}))
    flow = flow_of(rules, "desk")
    assert flow is not None
    run, _ = advance(flow, FlowRun.new("desk", "run-1", "key", CallFacts()), FlowStarted(), NOW)
    answered = replace(run, path=(replace(run.path[-1], outcome="answered"),))
    finished = replace(answered, status=RunStatus.FINISHED, outcome=FlowOutcome.CONNECTED)
    before = CallRecord("conn-1", flow_run=answered)
    after = replace(before, flow_run=finished)
    events = [e.data["change"] for e in announce(before, after, APP, NOW) if e.type == "call.flow.step"]
    assert [(c["step"], c["outcome"], c["runStatus"], c["runOutcome"]) for c in events] == [
        ("team", "answered", "finished", "connected")]
    assert [e for e in announce(after, after, APP, NOW) if e.type == "call.flow.step"] == []
    # A write that ends the entry and the run together announces it once, not twice.
    together = [e for e in announce(replace(before, flow_run=run), after, APP, NOW)
                if e.type == "call.flow.step"]
    assert len(together) == 1
