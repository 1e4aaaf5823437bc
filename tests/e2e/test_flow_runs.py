"""Call flows end to end (issue 21): a rule starts a flow; the app answers, rings, leaves.

Each test stores its own rule set (answer-all comes back afterwards) and uses fresh parties. The
emulator's endpoint rules play the targets (busy, noAnswer, answer); its callback faults send
every callback twice and out of order, and each ACS request must still be made once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    RuleSetter,
    inbound_calls,
    raw_id,
    use_rules_fixture,  # noqa: F401  (a fixture)
)

FLOW_OPERATIONS = ("CallConnection_AddParticipant", "CallConnection_CancelAddParticipant",
                   "CallConnection_RemoveParticipant", "CallConnection_HangupCall",
                   "CallConnection_TerminateCall", "CallConnection_TransferToParticipant")


def flow_rules(callee: dict[str, str], flow: dict[str, Any]) -> dict[str, Any]:
    return {"rules": [{"id": "e2e-flow", "conditions": {"to": [raw_id(callee)]},
                       "action": {"type": "flow", "flow": "desk"}}],
            "defaultAction": {"type": "reject", "reason": "none"}, "flows": {"desk": flow}}


@pytest.fixture(name="disorder")
def disorder_fixture(emulator: Emulator) -> Iterator[None]:
    """Every callback sent twice (same id), and some held back behind the next one."""
    for fault in ({"mode": "duplicate", "count": 200}, {"mode": "reorder", "count": 200}):
        assert emulator.control("POST", "callback-faults", fault).status == 201
    yield
    emulator.control("DELETE", "callback-faults")


def finished_flow(app: App, emulator: Emulator, server_call_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        calls = [c for c in inbound_calls(app, server_call_id) if c.get("flow")]
        return calls[0] if calls and calls[0]["flow"]["status"] == "finished" else None

    try:
        return eventually(done, timeout=30, what="the flow to finish")
    except AssertionError as exc:  # say where the run stood and what the app asked of ACS
        seen = [(c["callConnectionId"], c["state"], c.get("flow"))
                for c in inbound_calls(app, server_call_id)]
        asked = [(r.get("operation"), r.get("status")) for r in emulator.requests()][-12:]
        raise AssertionError(f"{exc}; calls {seen}; last requests {asked}") from None


def flow_requests(emulator: Emulator, call_id: str) -> Counter[tuple[str, str]]:
    """(operation, operationContext) of every request the app made on the call."""
    seen: Counter[tuple[str, str]] = Counter()
    for entry in emulator.requests():
        body = entry.get("body") if isinstance(entry.get("body"), dict) else {}
        if call_id in str(entry.get("path", "")) and entry.get("status", 500) < 500:
            seen[(str(entry.get("operation")), str(body.get("operationContext", "")))] += 1
    return seen


def test_sequential_ring_busy_then_answered_connects_and_the_app_leaves(
    app: App, emulator: Emulator, use_rules: RuleSetter, disorder: None,
) -> None:
    caller, callee, busy, agent = pstn(), acs_user(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": busy, "behavior": "busy"}).status == 200
    assert emulator.control("PUT", "endpoints", {"endpoint": agent, "behavior": "answer"}).status == 200
    use_rules(flow_rules(callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "mode": "sequential", "timeoutSeconds": 10,
         "targets": [busy, agent], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)

    call = finished_flow(app, emulator, placed["serverCallId"])
    flow = call["flow"]
    assert (flow["flow"], flow["outcome"], flow["currentStep"]) == ("desk", "connected", None)
    assert [(p["step"], p["attempt"], p["outcome"]) for p in flow["path"]] == [
        ("team", 1, "busy"), ("team", 2, "answered")]
    assert call["inbound"]["action"] == "answer" and call["inbound"]["ruleId"] == "e2e-flow"
    time.sleep(1.0)  # let every duplicate and held-back callback arrive
    requests = flow_requests(emulator, call["callConnectionId"])
    adds = {context: n for (operation, context), n in requests.items()
            if operation == "CallConnection_AddParticipant"}
    assert len(adds) == 2 and set(adds.values()) == {1}, requests
    hangups = [n for (operation, _), n in requests.items() if operation == "CallConnection_HangupCall"]
    assert hangups == [1], requests  # the app leaves once, not for everyone
    assert not any(operation == "CallConnection_TerminateCall" for operation, _ in requests)


def test_hangup_first_step_rejects_the_offer(app: App, emulator: Emulator, use_rules: RuleSetter) -> None:
    caller, callee = pstn(), acs_user()
    use_rules(flow_rules(callee, {"steps": [{"id": "closed", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    assert call["state"] == "disconnected" and call["inbound"]["action"] == "reject"
    assert call["flow"]["outcome"] == "rejected"
    assert [p["step"] for p in call["flow"]["path"]] == ["closed"]


def test_no_answer_falls_back_to_a_transfer(
    app: App, emulator: Emulator, use_rules: RuleSetter, disorder: None,
) -> None:
    caller, callee, away, desk = pstn(), acs_user(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": away, "behavior": "decline"}).status == 200
    assert emulator.control("PUT", "endpoints", {"endpoint": desk, "behavior": "answer"}).status == 200
    use_rules(flow_rules(callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "targets": [away], "timeoutSeconds": 10, "fallback": "desk"},
        {"id": "desk", "type": "transfer", "target": desk, "onFailed": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    flow = call["flow"]
    assert flow["outcome"] == "transferred", flow
    assert [(p["step"], p["outcome"]) for p in flow["path"]] == [("team", "declined"), ("desk", "accepted")]
    time.sleep(1.0)
    requests = flow_requests(emulator, call["callConnectionId"])
    assert all(n == 1 for (operation, _), n in requests.items() if operation in FLOW_OPERATIONS), requests


def test_simultaneous_ring_first_answer_wins_and_the_other_is_cancelled(
    app: App, emulator: Emulator, use_rules: RuleSetter, disorder: None,
) -> None:
    caller, callee, quick, slow = pstn(), acs_user(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": quick, "behavior": "answer"}).status == 200
    assert emulator.control("PUT", "endpoints", {"endpoint": slow, "behavior": "answer",
                                                 "delaySeconds": 8}).status == 200
    use_rules(flow_rules(callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "mode": "simultaneous", "timeoutSeconds": 20,
         "targets": [slow, quick], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    assert call["flow"]["outcome"] == "connected", call["flow"]
    time.sleep(1.0)
    requests = flow_requests(emulator, call["callConnectionId"])
    operations = Counter(operation for operation, _ in requests.elements())
    assert operations["CallConnection_AddParticipant"] == 2, requests
    assert operations["CallConnection_CancelAddParticipant"] == 1, requests
    assert operations["CallConnection_HangupCall"] == 1, requests
    assert all(n == 1 for n in requests.values()), requests


def test_a_caller_who_hangs_up_mid_ring_ends_the_flow_and_cancels_the_invitation(
    app: App, emulator: Emulator, use_rules: RuleSetter,
) -> None:
    caller, callee, slow = pstn(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": slow, "behavior": "noAnswer"}).status == 200
    use_rules(flow_rules(callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "targets": [slow], "timeoutSeconds": 30, "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)

    def ringing() -> dict[str, Any] | None:
        calls = [c for c in inbound_calls(app, placed["serverCallId"]) if c.get("flow")]
        return calls[0] if calls and calls[0]["flow"]["waiting"] == "ring" else None

    call = eventually(ringing, what="the ring to start")
    reply = emulator.control("POST", "remote-hangups", {"callConnectionId": call["callConnectionId"],
                                                        "participant": caller})
    assert reply.status == 204, reply.text
    done = finished_flow(app, emulator, placed["serverCallId"])
    # Which callback comes first is ACS's choice: the caller leaving (callerLeft), the call
    # ending (callEnded), or the invitation ended with the call. That one is read as the call's
    # end (callEnded) when its result says so (487/0, 540487, 8542, 8543: outcomes.ended_by_call);
    # with any other result it is a ring failure taking the fallback, the hangup step (hungUp).
    # Each ends the flow; none leaves the callee ringing.
    assert done["flow"]["outcome"] in ("callerLeft", "callEnded", "hungUp"), done["flow"]
    if done["flow"]["outcome"] == "hungUp":
        assert [entry["step"] for entry in done["flow"]["path"]] == ["team", "bye"], done["flow"]

    def callee_left_ringing() -> bool:
        legs = emulator.control("GET", "legs")
        assert legs.status == 200, legs.text
        return not [leg for leg in legs.json()["value"]
                    if leg["callee"]["rawId"] == slow["communicationUserId"]]

    eventually(callee_left_ringing, what="the invitation to end with the call")
