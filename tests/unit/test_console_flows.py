"""The console's flow views: the flows a rule set can start (and how a call reaches each), and a
flow run's steps on the timeline from the app's `call.flow.step` events."""

from __future__ import annotations

from typing import Any

from console.flow_entries import flow_entries
from console.flow_steps import flow_steps
from console.steps import APP
from console.timeline import Logs, build

ANNA = {"communicationUserId": "8:acs:console_anna"}
BEN = {"phoneNumber": "+14255550142"}
FLOW = {"start": "team", "steps": [
    {"id": "team", "type": "ring", "mode": "simultaneous", "timeoutSeconds": 20, "targets": [ANNA, BEN],
     "fallback": "desk"},
    {"id": "desk", "type": "transfer", "target": {"rawId": "8:acs:console_desk"}, "onFailed": "bye"},
    {"id": "bye", "type": "hangup"}]}


def test_each_flow_lists_the_rules_that_start_it_and_the_numbers_they_can_be_dialled_on() -> None:
    rule_set = {
        "rules": [
            {"id": "block", "conditions": {"from": ["+1900*"]}, "action": {"type": "reject"}},
            {"id": "sales", "conditions": {"to": ["4:+18005550142", "+1800555*"],
                                           "timeWindows": [{"timeZone": "UTC"}]},
             "action": {"type": "flow", "flow": "desk"}},
            {"id": "other", "conditions": {"to": ["8:acs:console_line"]}, "action": {"type": "answer"}},
        ],
        "defaultAction": {"type": "flow", "flow": "desk"},
        "flows": {"desk": FLOW, "unused": {"steps": [{"id": "x", "type": "hangup"}]}},
    }
    desk, unused = flow_entries(rule_set)
    assert (desk["name"], desk["start"], unused["entries"]) == ("desk", "team", [])
    by_rule, by_default = desk["entries"]
    assert by_rule == {"ruleId": "sales", "default": False, "to": ["4:+18005550142", "+1800555*"],
                       "dial": ["+18005550142"], "alsoRequires": ["timeWindows"], "earlierRules": 1}
    assert by_default["default"] and by_default["earlierRules"] == 3
    team, desk_step, bye = desk["steps"]
    assert team["summary"] == "ring simultaneous, 2 target(s), 20 s"
    assert team["targets"] == ["8:acs:console_anna", "4:+14255550142"]
    assert team["next"] == {"fallback": "desk"}
    assert desk_step["summary"] == "transfer to 8:acs:console_desk"
    assert (bye["type"], bye["summary"]) == ("hangup", "hangup")


def test_a_set_without_flows_offers_none() -> None:
    assert flow_entries({"rules": [], "defaultAction": {"type": "answer"}}) == []
    assert flow_entries({"rules": [], "flows": []}) == []


def event(at: str, step: str, outcome: str | None, *, attempt: int = 1, visit: int = 1,
          status: str = "running", run_outcome: str | None = None, scid: str = "S1",
          event_id: str | None = None) -> dict[str, Any]:
    change = {"type": "call.flow.step", "flow": "desk", "runId": "R1", "step": step, "visit": visit,
              "attempt": attempt, "outcome": outcome, "runStatus": status, "runOutcome": run_outcome}
    return {"receivedAt": at, "event": {
        "id": event_id or f"{step}-{attempt}-{outcome}-{status}", "type": "call.flow.step",
        "time": at, "data": {"serverCallId": scid, "change": change}}}


def test_a_sequential_ring_reads_step_by_step_and_ends_once() -> None:
    received = [
        event("2026-01-01T10:00:01Z", "team", None),
        event("2026-01-01T10:00:03Z", "team", "busy"),
        event("2026-01-01T10:00:03Z", "team", None, attempt=2),
        event("2026-01-01T10:00:03Z", "team", None, attempt=2),  # a publish retried: same id
        event("2026-01-01T10:00:09Z", "team", "answered", attempt=2),
        # The run ends later, in a write that touches no entry: the last entry once more.
        event("2026-01-01T10:00:10Z", "team", "answered", attempt=2, status="finished",
              run_outcome="connected"),
        event("2026-01-01T10:00:02Z", "team", None, scid="OTHER"),
    ]
    steps = flow_steps(received, "S1")
    assert [(s.label, s.failed) for s in steps] == [
        ("flow desk → team", False),
        ("team: busy", True),
        ("flow desk → team (attempt 2)", False),
        ("team: answered (attempt 2)", False),
        ("flow desk ends: connected", False),
    ]
    assert {(s.source, s.target, s.kind) for s in steps} == {(APP, APP, "flow")}
    assert steps[-1].time - steps[0].time == 9.0


def test_a_step_entered_and_ended_in_one_write_shows_both_and_the_end_comes_last() -> None:
    received = [
        event("2026-01-01T10:00:01Z", "team", None),
        # Declined: the fallback's hangup is entered and ends the run in the same write.
        event("2026-01-01T10:00:05Z", "team", "declined", status="finished", run_outcome="hungUp"),
        event("2026-01-01T10:00:05Z", "bye", None, visit=2, status="finished", run_outcome="hungUp"),
    ]
    labels = [s.label for s in flow_steps(received, "S1")]
    assert labels == ["flow desk → team", "team: declined", "flow desk → bye", "flow desk ends: hungUp"]


def test_flow_steps_take_their_place_on_the_call_timeline() -> None:
    call = {"serverCallId": "S1", "correlationId": "C1", "connections": [], "offers": []}
    journal = [{"time": 1767261602.0, "kind": "ringing", "serverCallId": "S1",
                "party": {"rawId": "8:acs:console_anna"}, "other": None}]
    received = [event("2026-01-01T10:00:01Z", "team", None),
                event("2026-01-01T10:00:03Z", "team", "noAnswer")]
    built = build(Logs(call, journal=journal, flow_events=received))
    assert [(s["label"], s["kind"]) for s in built["steps"]] == [
        ("flow desk → team", "flow"), ("rings", "network"), ("team: noAnswer", "flow")]
