"""Table Storage failing under the running app: frozen (SIGSTOP), and restarted with its tables
gone. The app owes an answer before Event Grid's and the host's timeouts, a 503 with
Retry-After and no internals while the store is down, and full service once it is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    ANSWER_ALL,
    deliver,
    emulator_settings_fixture,  # noqa: F401  (a fixture)
    inbound_calls,
    incoming_event,
    put_rules,
    requests_for,
    undelivered_call,
)
from tests.faults.conftest import (
    EVENT_GRID_TIMEOUT_SECONDS,
    restart_storage_empty,
    storage_frozen,
)
from tests.faults.support import answered_within, connected_call
from tests.support.http import Reply
from tools.stack import Stack

# An answer must reach Event Grid (30 s) with room to spare for the network and the host.
DEADLINE = EVENT_GRID_TIMEOUT_SECONDS - 5


def test_frozen_storage_is_a_prompt_503_with_retry_after_and_no_internals(
    app: App, fault_stack: Stack
) -> None:
    assert app.request("GET", "calls").status == 200  # tables open, connections pooled
    with storage_frozen(fault_stack):
        reply = answered_within(DEADLINE, app, "GET", "calls")
    assert reply.status == 503, reply.text
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert int(reply.headers["Retry-After"]) >= 1
    assert "127.0.0.1" not in reply.text and "RequestId" not in reply.text
    # Back to normal as soon as the store answers again.
    eventually(lambda: app.request("GET", "calls").status == 200, what="service to resume")


def test_an_incoming_call_whose_store_freezes_mid_answer_is_answered_exactly_once(
    app: App, emulator: Emulator, fault_stack: Stack,
    emulator_settings: Callable[[dict[str, Any]], None],
) -> None:
    # GIVEN an offer the test delivers itself (as Event Grid), with ACS taking 1.5 s to answer
    put_rules(app, ANSWER_ALL)
    emulator_settings({"eventWebhook": None})
    caller, callee = pstn(), acs_user()
    placed = undelivered_call(emulator, caller, callee)
    event = incoming_event(placed, caller, callee)
    context = placed["incomingCallContext"]
    emulator.control("POST", "faults", {"operation": "AnswerCall", "latencySeconds": 1.5,
                                        "count": 1})
    first: list[Reply] = []
    delivery = threading.Thread(target=lambda: first.append(
        deliver(fault_stack.webhook_url, event)))
    # WHEN storage freezes while the answer is in flight (the claim is already taken)
    try:
        delivery.start()
        eventually(lambda: requests_for(emulator, "AnswerCall", context), timeout=10,
                   what="the AnswerCall to reach ACS")
        with storage_frozen(fault_stack):
            delivery.join(DEADLINE)
            answered = not delivery.is_alive()
        delivery.join()
    finally:
        emulator.control("DELETE", "faults")
    # THEN the delivery is answered before Event Grid gives up (a failure, so it is redelivered)
    assert answered, f"the delivery got no answer within {DEADLINE} s of storage freezing"
    assert first[0].status >= 500, first[0].text
    # AND the redelivery, once storage is back, records the call without answering it again
    redelivered = deliver(fault_stack.webhook_url, event)
    assert redelivered.status in (200, 202), redelivered.text
    assert len(requests_for(emulator, "AnswerCall", context)) == 1
    [call] = eventually(lambda: inbound_calls(app, placed["serverCallId"]),
                        what="the inbound call record")
    assert call["inbound"]["outcome"] == "answered"


def test_storage_restarted_without_its_tables_is_rebuilt_and_serves(
    app: App, fault_stack: Stack
) -> None:
    before = connected_call(app, acs_user())
    restart_storage_empty(fault_stack)
    started = time.monotonic()
    listed = answered_within(DEADLINE, app, "GET", "calls")
    assert listed.status == 200, listed.text
    assert before not in [c["callConnectionId"] for c in listed.json()["value"]]
    assert time.monotonic() - started < DEADLINE
    # New calls are stored and followed through their callbacks again.
    after = connected_call(app, acs_user())
    assert app.call(after)["state"] == "connected"
    assert app.request("GET", "rules").status == 200
