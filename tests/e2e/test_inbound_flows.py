"""Inbound rules end to end: emulator IncomingCall → Event Grid webhook → rules → ACS request.

Every test puts its own rule set through the API (answer-all comes back afterwards) and uses
fresh parties, so the shared stack's other tests are not disturbed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    RuleSetter,
    deliver,
    emulator_settings_fixture,  # noqa: F401  (a fixture)
    inbound_calls,
    raw_id,
    requests_for,
    undelivered_call,
    use_rules_fixture,  # noqa: F401  (a fixture)
)
from tools.stack import Stack

Patch = Callable[[dict[str, Any]], None]


def only(rule: dict[str, Any], default: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"rules": [rule], "defaultAction": default or {"type": "reject", "reason": "none"}}


def emulator_call(emulator: Emulator, server_call_id: str) -> dict[str, Any]:
    reply = emulator.control("GET", f"calls/{server_call_id}")
    assert reply.status == 200, reply.text
    return dict(reply.json())


def test_answer_rule_answers_once_and_the_call_connects(
    app: App, emulator: Emulator, use_rules: RuleSetter
) -> None:
    caller, callee = pstn(), acs_user()
    use_rules(only({"id": "e2e-answer", "conditions": {"to": [raw_id(callee)]},
                    "action": {"type": "answer", "operationContext": "e2e-front-desk"}}))
    placed = emulator.incoming_call(caller, callee)

    def connected() -> dict[str, Any] | None:
        found = [c for c in inbound_calls(app, placed["serverCallId"]) if c["state"] == "connected"]
        return found[0] if found else None

    call = eventually(connected, what="the answered call to connect")
    inbound = call["inbound"]
    assert (inbound["ruleId"], inbound["action"], inbound["outcome"]) == ("e2e-answer", "answer", "answered")
    assert inbound["latencyMs"] > 0 and inbound["ruleSetVersion"] >= 1
    assert call["source"]["rawId"] == raw_id(caller)
    [answer] = requests_for(emulator, "AnswerCall", placed["incomingCallContext"])
    assert answer["body"]["operationContext"] == "e2e-front-desk" and answer["status"] == 200


@pytest.mark.parametrize("reason", ["busy", "forbidden"])
def test_reject_rule_rejects_with_its_reason(
    app: App, emulator: Emulator, use_rules: RuleSetter, reason: str
) -> None:
    caller, callee = pstn(), acs_user()
    use_rules(only({"id": f"e2e-reject-{reason}", "conditions": {"from": [caller["phoneNumber"]]},
                    "action": {"type": "reject", "reason": reason}}, default={"type": "answer"}))
    placed = emulator.incoming_call(caller, callee)
    [call] = eventually(lambda: inbound_calls(app, placed["serverCallId"]), what="the rejected call")
    assert call["callConnectionId"].startswith("inbound-") and call["state"] == "disconnected"
    assert (call["inbound"]["ruleId"], call["inbound"]["outcome"], call["inbound"]["rejectReason"]) == (
        f"e2e-reject-{reason}", "rejected", reason)
    [reject] = requests_for(emulator, "RejectCall", placed["incomingCallContext"])
    assert reject["body"]["callRejectReason"] == reason and reject["status"] == 204
    assert requests_for(emulator, "AnswerCall", placed["incomingCallContext"]) == []
    assert eventually(lambda: emulator_call(emulator, placed["serverCallId"])["ended"])
    # The record is readable on its own too.
    assert app.call(call["callConnectionId"])["inbound"]["ruleId"] == f"e2e-reject-{reason}"


def test_redirect_to_an_acs_user_raises_a_new_incoming_call_that_is_decided(
    app: App, emulator: Emulator, use_rules: RuleSetter
) -> None:
    caller, front, agent = pstn(), acs_user(), acs_user()
    use_rules({"rules": [
        {"id": "e2e-to-agent", "conditions": {"to": [raw_id(front)]},
         "action": {"type": "redirect", "target": agent}},
        {"id": "e2e-agent-answers", "conditions": {"to": [raw_id(agent)]}, "action": {"type": "answer"}},
    ], "defaultAction": {"type": "reject"}})
    placed = emulator.incoming_call(caller, front)

    def both() -> list[dict[str, Any]] | None:
        calls = inbound_calls(app, placed["serverCallId"])
        outcomes = sorted(c["inbound"]["outcome"] for c in calls)
        connected = any(c["state"] == "connected" for c in calls)
        return calls if outcomes == ["answered", "redirected"] and connected else None

    calls = {c["inbound"]["outcome"]: c for c in eventually(both, what="redirect, then answer")}
    redirected, answered = calls["redirected"], calls["answered"]
    assert redirected["inbound"]["ruleId"] == "e2e-to-agent"
    assert redirected["inbound"]["target"]["rawId"] == raw_id(agent)
    assert answered["inbound"]["ruleId"] == "e2e-agent-answers"
    assert [t["rawId"] for t in answered["targets"]] == [raw_id(agent)]
    assert answered["source"]["rawId"] == raw_id(caller)
    [redirect] = requests_for(emulator, "RedirectCall", placed["incomingCallContext"])
    assert redirect["body"]["target"]["rawId"] == raw_id(agent)
    participants = emulator_call(emulator, placed["serverCallId"])["participants"]
    roster = {p["identifier"]["rawId"] for p in participants}
    assert {raw_id(caller), raw_id(agent)} <= roster


def test_redirect_to_a_pstn_number_keeps_the_callers_id(
    app: App, emulator: Emulator, use_rules: RuleSetter, emulator_settings: Patch
) -> None:
    """RedirectCall has no caller-id field (contract §3): the number called shows the original
    caller. A number of this resource raises a new IncomingCall whose `from` proves it."""
    caller, front, owned, outside = pstn(), acs_user(), pstn(), pstn()
    assert len({caller["phoneNumber"], owned["phoneNumber"], outside["phoneNumber"]}) == 3, "retry"
    numbers = emulator.control("GET", "resource-numbers").json()["numbers"]
    emulator_settings({"resourceNumbers": [*numbers, owned["phoneNumber"]]})
    use_rules({"rules": [
        {"id": "e2e-to-owned", "conditions": {"to": [raw_id(front)], "from": [caller["phoneNumber"]]},
         "action": {"type": "redirect", "target": owned}},
        {"id": "e2e-owned-answers", "conditions": {"to": [owned["phoneNumber"]]},
         "action": {"type": "answer"}},
        {"id": "e2e-to-outside", "conditions": {"to": [raw_id(front)]},
         "action": {"type": "redirect", "target": outside}},
    ], "defaultAction": {"type": "reject"}})
    placed = emulator.incoming_call(caller, front)
    answered = eventually(
        lambda: next((c for c in inbound_calls(app, placed["serverCallId"])
                      if c["inbound"]["outcome"] == "answered"), None),
        what="the owned number's IncomingCall to be answered")
    assert answered["inbound"]["ruleId"] == "e2e-owned-answers"
    assert answered["source"]["rawId"] == raw_id(caller)  # the caller id the target saw
    assert [t["rawId"] for t in answered["targets"]] == [raw_id(owned)]
    offers = emulator_call(emulator, placed["serverCallId"])["offers"]
    assert [(o["from"]["rawId"], o["to"]["rawId"], o["status"]) for o in offers] == [
        (raw_id(caller), raw_id(front), "redirect"), (raw_id(caller), raw_id(owned), "answer")]

    # A number outside the resource is simply rung; the redirect carries the phone target.
    other_caller = pstn()
    placed = emulator.incoming_call(other_caller, front)
    [redirected] = eventually(lambda: inbound_calls(app, placed["serverCallId"]), what="redirect")
    assert redirected["inbound"]["ruleId"] == "e2e-to-outside"
    assert redirected["inbound"]["target"]["phoneNumber"] == outside["phoneNumber"]
    [redirect] = requests_for(emulator, "RedirectCall", placed["incomingCallContext"])
    assert redirect["body"]["target"]["phoneNumber"]["value"] == outside["phoneNumber"]
    roster = eventually(lambda: {p["identifier"]["rawId"] for p in emulator_call(
        emulator, placed["serverCallId"])["participants"]} >= {raw_id(other_caller), raw_id(outside)},
        what="the outside number to join")
    assert roster


def test_loop_guard_rejects_a_redirect_ping_pong_after_max_hops(
    app: App, emulator: Emulator, use_rules: RuleSetter
) -> None:
    caller, a, b = pstn(), acs_user(), acs_user()
    use_rules({"rules": [
        {"id": "e2e-a-to-b", "conditions": {"to": [raw_id(a)]}, "action": {"type": "redirect", "target": b}},
        {"id": "e2e-b-to-a", "conditions": {"to": [raw_id(b)]}, "action": {"type": "redirect", "target": a}},
    ], "defaultAction": {"type": "answer"}})
    placed = emulator.incoming_call(caller, a)

    def settled() -> list[dict[str, Any]] | None:
        calls = inbound_calls(app, placed["serverCallId"])
        return calls if any(c["inbound"]["loopGuard"] for c in calls) else None

    calls = sorted(eventually(settled, what="the loop guard"),
                   key=lambda c: c["inbound"]["redirectHops"])
    assert [(c["inbound"]["outcome"], c["inbound"]["redirectHops"]) for c in calls] == [
        ("redirected", 0), ("redirected", 1), ("redirected", 2), ("rejected", 3)]  # REDIRECT_MAX_HOPS=3
    guarded = calls[-1]["inbound"]
    assert (guarded["action"], guarded["rejectReason"], guarded["ruleId"]) == ("reject", "busy", "e2e-b-to-a")
    assert "REDIRECT_MAX_HOPS=3" in guarded["detail"]
    offers = emulator_call(emulator, placed["serverCallId"])["offers"]
    assert [o["status"] for o in offers] == ["redirect", "redirect", "redirect", "reject"]
    assert eventually(lambda: emulator_call(emulator, placed["serverCallId"])["ended"])


def test_an_expired_call_is_recorded_missed_and_redeliveries_are_acknowledged(
    app: App, emulator: Emulator, stack: Stack, emulator_settings: Patch
) -> None:
    emulator_settings({"eventWebhook": None, "incomingCallTtlSeconds": 0.2})
    caller, callee = pstn(), acs_user()
    placed = undelivered_call(emulator, caller, callee)
    time.sleep(0.5)  # the context expires: ACS answers 404 / 8522
    from tests.e2e.inbound_support import incoming_event

    event = incoming_event(placed, caller, callee)
    assert deliver(stack.webhook_url, event).status == 202
    [call] = inbound_calls(app, placed["serverCallId"])
    assert (call["inbound"]["action"], call["inbound"]["outcome"]) == ("answer", "missed")
    assert "8522" in call["inbound"]["detail"] or "not found" in call["inbound"]["detail"].lower()
    for _ in range(3):  # Event Grid keeps delivering: acknowledged, ACS not asked again
        assert deliver(stack.webhook_url, event).status == 202
    [answer] = requests_for(emulator, "AnswerCall", placed["incomingCallContext"])
    assert answer["status"] == 404
    assert len(inbound_calls(app, placed["serverCallId"])) == 1


def test_a_transient_acs_failure_fails_the_delivery_and_the_redelivery_answers(
    app: App, emulator: Emulator
) -> None:
    # The SDK tries 3 times (retry_total=2); all fail, so the first delivery fails (500).
    reply = emulator.control("POST", "faults", {"operation": "AnswerCall", "status": 503, "count": 3,
                                                "retryAfterSeconds": 0})
    assert reply.status == 201, reply.text
    try:
        placed = emulator.incoming_call(pstn(), acs_user())
        assert placed["deliveryStatus"] == 500
        call = eventually(lambda: next((c for c in inbound_calls(app, placed["serverCallId"])
                                        if c["state"] == "connected"), None),
                          timeout=30, what="the redelivery to answer")
    finally:
        emulator.control("DELETE", "faults")
    assert call["inbound"]["outcome"] == "answered"
    answers = requests_for(emulator, "AnswerCall", placed["incomingCallContext"])
    assert [a["status"] for a in answers] == [503, 503, 503, 200]
    assert len({a["headers"].get("Repeatability-Request-ID") for a in answers}) == 1
    deliveries = [d for d in emulator.control("GET", "eventgrid/deliveries").json()["value"]
                  if d.get("eventId") == placed["eventId"]]
    assert [d["status"] for d in deliveries][:1] == [500] and deliveries[-1]["status"] == 202


def test_rules_routes_need_the_function_key(app: App) -> None:
    from tests.support.http import call

    assert call(app.url("rules")).status == 401
    assert call(app.url("rules/evaluate"), "POST", b"{}").status == 401
