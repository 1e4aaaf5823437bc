"""A flow's ask step end to end: the app posts to the emulator's ask receiver, which verifies the
signature (the stack gives both the same secret) and answers as scripted; the flow moves on the
answer, or on its fallback when the ask times out, errors, is refused or answers garbage.

Each test scripts its own receiver path and uses fresh parties.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    RuleSetter,
    raw_id,
    requests_for,
    use_rules_fixture,  # noqa: F401  (a fixture)
)
from tests.e2e.test_flow_runs import (
    FLOW_OPERATIONS,
    disorder_fixture,  # noqa: F401  (a fixture)
    finished_flow,
    flow_requests,
    flow_rules,
)
from tools.stack import Stack


def receiver_path() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def ask_url(stack: Stack, path: str) -> str:
    return f"{stack.emulator_url}/emulator/ask/{path}"


def script(emulator: Emulator, path: str, reply: dict[str, Any]) -> None:
    reply_status = emulator.control("PUT", f"ask-replies/{path}", reply)
    assert reply_status.status == 200, reply_status.text


def asks(emulator: Emulator, path: str) -> list[dict[str, Any]]:
    reply = emulator.control("GET", f"ask-requests?path={path}")
    assert reply.status == 200, reply.text
    return list(reply.json()["value"])


def asking_flow(stack: Stack, path: str, agent: dict[str, str], timeout: float = 2) -> dict[str, Any]:
    """ask → (the service names) team → connected; the ask's fallback rejects as `forbidden`."""
    return {"start": "crm", "steps": [
        {"id": "crm", "type": "ask", "url": ask_url(stack, path), "timeoutSeconds": timeout,
         "choices": ["team"], "fallback": "closed"},
        {"id": "team", "type": "ring", "targets": [agent], "timeoutSeconds": 10, "fallback": "bye"},
        {"id": "closed", "type": "reject", "reason": "forbidden"},
        {"id": "bye", "type": "hangup"}]}


@pytest.fixture(name="ask_secret")
def ask_secret_fixture(stack: Stack, emulator: Emulator) -> Iterator[None]:
    """The receiver checks with another secret than the app signs with, for one test."""
    reply = emulator.control("PATCH", "ask", {"secret": "not-the-apps-secret-" + uuid.uuid4().hex})
    assert reply.status == 200, reply.text
    yield
    assert emulator.control("PATCH", "ask", {"secret": stack.ask_secret}).status == 200


def test_an_ask_names_the_next_step_and_the_call_rings_the_agent(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter, disorder: None,
) -> None:
    caller, callee, agent, path = pstn(), acs_user(), acs_user(), receiver_path()
    assert emulator.control("PUT", "endpoints", {"endpoint": agent, "behavior": "answer"}).status == 200
    script(emulator, path, {"answer": {"next": "team"}})
    use_rules(flow_rules(callee, asking_flow(stack, path, agent)))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    flow = call["flow"]
    assert flow["outcome"] == "connected", flow
    assert [(p["step"], p["outcome"]) for p in flow["path"]] == [("crm", "next:team"), ("team", "answered")]
    [seen] = asks(emulator, path)
    assert seen["verified"] is True and seen["contentType"] == "application/json"
    body = seen["body"]
    assert (body["flow"], body["step"], body["answered"]) == ("desk", "crm", False)
    assert body["call"]["from"]["rawId"] == raw_id(caller) and body["call"]["to"]["rawId"] == raw_id(callee)
    assert body["call"]["serverCallId"] == placed["serverCallId"] and body["path"] == []
    time.sleep(1.0)  # the duplicated, reordered callbacks have all come
    requests = flow_requests(emulator, call["callConnectionId"])
    assert all(n == 1 for (operation, _), n in requests.items() if operation in FLOW_OPERATIONS), requests
    assert len(asks(emulator, path)) == 1


def test_an_inline_reject_before_the_answer_rejects_the_offer(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter,
) -> None:
    caller, callee, agent, path = pstn(), acs_user(), acs_user(), receiver_path()
    script(emulator, path, {"answer": {"action": {"type": "reject", "reason": "busy"}}})
    use_rules(flow_rules(callee, asking_flow(stack, path, agent)))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    assert call["flow"]["outcome"] == "rejected" and call["inbound"]["action"] == "reject"
    assert [(p["step"], p["outcome"]) for p in call["flow"]["path"]] == [("crm", "action:InlineReject")]
    [reject] = requests_for(emulator, "RejectCall", placed["incomingCallContext"])
    assert reject["body"]["callRejectReason"] == "busy"
    assert requests_for(emulator, "AnswerCall", placed["incomingCallContext"]) == []


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ({"answer": {"next": "team"}, "delaySeconds": 3}, "timeout"),
        ({"raw": "<html>garbage</html>"}, "invalid"),
        ({"answer": {"next": "nowhere"}}, "invalid"),  # valid JSON, not one of the step's choices
        ({"status": 500, "answer": {"error": "crm down"}}, "error"),
    ],
)
def test_an_ask_that_fails_takes_its_fallback(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter, reply: dict[str, Any],
    outcome: str,
) -> None:
    caller, callee, agent, path = pstn(), acs_user(), acs_user(), receiver_path()
    script(emulator, path, reply)
    use_rules(flow_rules(callee, asking_flow(stack, path, agent, timeout=1)))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    assert [(p["step"], p["outcome"]) for p in call["flow"]["path"]] == [("crm", outcome), ("closed", None)]
    [reject] = requests_for(emulator, "RejectCall", placed["incomingCallContext"])
    assert reject["body"]["callRejectReason"] == "forbidden"
    assert len(asks(emulator, path)) == 1


def test_a_receiver_that_refuses_the_signature_sends_the_call_to_the_fallback(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter, ask_secret: None,
) -> None:
    caller, callee, agent, path = pstn(), acs_user(), acs_user(), receiver_path()
    script(emulator, path, {"answer": {"next": "team"}})
    use_rules(flow_rules(callee, asking_flow(stack, path, agent)))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    assert [(p["step"], p["outcome"]) for p in call["flow"]["path"]] == [("crm", "error"), ("closed", None)]
    [seen] = asks(emulator, path)
    assert seen["verified"] is False and "does not match" in seen["refusal"]


def test_an_ask_after_the_answer_is_made_once_despite_duplicated_callbacks(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter, disorder: None,
) -> None:
    caller, callee, busy, agent, path = pstn(), acs_user(), acs_user(), acs_user(), receiver_path()
    assert emulator.control("PUT", "endpoints", {"endpoint": busy, "behavior": "busy"}).status == 200
    assert emulator.control("PUT", "endpoints", {"endpoint": agent, "behavior": "answer"}).status == 200
    script(emulator, path, {"answer": {"next": "agent"}})
    use_rules(flow_rules(callee, {"start": "first", "steps": [
        {"id": "first", "type": "ring", "targets": [busy], "timeoutSeconds": 10, "fallback": "crm"},
        {"id": "crm", "type": "ask", "url": ask_url(stack, path), "choices": ["agent"], "fallback": "bye"},
        {"id": "agent", "type": "ring", "targets": [agent], "timeoutSeconds": 10, "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)
    call = finished_flow(app, emulator, placed["serverCallId"])
    flow = call["flow"]
    assert flow["outcome"] == "connected", flow
    assert [(p["step"], p["outcome"]) for p in flow["path"]] == [
        ("first", "busy"), ("crm", "next:agent"), ("agent", "answered")]
    time.sleep(1.0)
    [seen] = asks(emulator, path)
    assert seen["verified"] and seen["body"]["answered"] is True
    assert [(p["step"], p["outcome"]) for p in seen["body"]["path"]] == [("first", "busy")]
    requests = flow_requests(emulator, call["callConnectionId"])
    assert all(n == 1 for (operation, _), n in requests.items() if operation in FLOW_OPERATIONS), requests
    adds = Counter(op for (op, _), n in requests.items() if op == "CallConnection_AddParticipant")
    assert adds["CallConnection_AddParticipant"] == 2


def test_the_dry_run_takes_an_ask_from_the_script(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter,
) -> None:
    caller, callee, agent, path = pstn(), acs_user(), acs_user(), receiver_path()
    use_rules(flow_rules(callee, asking_flow(stack, path, agent)))
    call = {"from": caller, "to": callee}
    for scripted, expected in (
        ({"crm": [{"next": "team"}], "team": ["answered"]}, [("crm", "next:team"), ("team", "answered")]),
        ({"crm": ["timeout"]}, [("crm", "timeout"), ("closed", None)]),
        ({"crm": [{"action": {"type": "redirect", "target": agent}}]}, [("crm", "action:InlineRedirect")]),
    ):
        reply = app.request("POST", "rules/evaluate", {**call, "script": scripted})
        assert reply.status == 200, reply.text
        taken = [(p["step"], p["outcome"]) for p in reply.json()["flow"]["path"]]
        assert taken == expected, reply.json()["flow"]
    assert asks(emulator, path) == []  # a dry run sends nothing


def test_the_ask_waits_for_nothing_past_its_deadline(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter,
) -> None:
    """A slow service costs the caller the step's deadline, not the service's delay."""
    caller, callee, agent, path = pstn(), acs_user(), acs_user(), receiver_path()
    script(emulator, path, {"answer": {"next": "team"}, "delaySeconds": 8})
    use_rules(flow_rules(callee, asking_flow(stack, path, agent, timeout=1)))
    started = time.monotonic()
    placed = emulator.incoming_call(caller, callee)
    eventually(lambda: requests_for(emulator, "RejectCall", placed["incomingCallContext"]),
               timeout=6, what="the fallback's reject")
    assert time.monotonic() - started < 6
