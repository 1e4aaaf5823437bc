"""Call flows when delivery goes wrong (issue 21): a callback lost mid-ring is caught by the
reconciler, run through POST /api/jobs/reconciler; two instances of the app receiving the same
callbacks at once, duplicated and out of order, still make each ACS request once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn, run_job
from tests.e2e.inbound_support import (
    RuleSetter,
    deliver,
    emulator_settings_fixture,  # noqa: F401  (a fixture)
    inbound_calls,
    incoming_event,
    undelivered_call,
    use_rules_fixture,  # noqa: F401  (a fixture)
)
from tests.e2e.splitter import Splitter
from tests.e2e.test_flow_runs import (
    FLOW_OPERATIONS,
    disorder_fixture,  # noqa: F401  (a fixture)
    finished_flow,
    flow_requests,
    flow_rules,
)
from tools.processes import free_port, stop
from tools.stack import HOST, Stack, start_devhost, webhook_url


def running_flow(app: App, server_call_id: str, waiting: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        calls = [c for c in inbound_calls(app, server_call_id) if c.get("flow")]
        return calls[0] if calls and calls[0]["flow"]["waiting"] == waiting else None

    return eventually(found, what=f"the flow to wait for {waiting}")


def test_a_lost_ring_outcome_is_failed_by_the_reconciler_and_the_fallback_runs_once(
    stack: Stack, app: App, emulator: Emulator, use_rules: RuleSetter,
) -> None:
    caller, callee, lost, desk = pstn(), acs_user(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": lost, "behavior": "busy"}).status == 200
    assert emulator.control("PUT", "endpoints", {"endpoint": desk, "behavior": "answer"}).status == 200
    use_rules(flow_rules(callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "targets": [lost], "timeoutSeconds": 1, "fallback": "desk"},
        {"id": "desk", "type": "transfer", "target": desk, "onFailed": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    dropped = emulator.control("POST", "callback-faults",
                               {"mode": "drop", "eventType": "AddParticipantFailed", "count": 1})
    assert dropped.status == 201, dropped.text
    try:
        placed = emulator.incoming_call(caller, callee)
        call = running_flow(app, placed["serverCallId"], "ring")
        call_id = call["callConnectionId"]

        def lost_outcome() -> bool:
            log = emulator.control("GET", "callbacks").json()["value"]
            return any(e["callConnectionId"] == call_id and e["type"].endswith("AddParticipantFailed")
                       and e["fault"] == "drop" for e in log)

        eventually(lost_outcome, what="the busy outcome to be lost")
    finally:
        emulator.control("DELETE", "callback-faults")
    assert app.call(call_id)["flow"]["waiting"] == "ring"  # what the loss leaves: nothing moves

    deadline = datetime.fromisoformat(app.call(call_id)["flow"]["deadline"])
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)
    moved = 0
    for _ in range(5):  # a pass reads the open calls in pages: ours may be in a later one
        counts = run_job(stack, "reconciler") or {}
        moved += int(counts.get("flowStepsOverdue", 0))
        if app.call(call_id)["flow"]["currentStep"] != "team":
            break
    assert moved >= 1

    done = finished_flow(app, emulator, placed["serverCallId"])
    flow = done["flow"]
    assert flow["outcome"] == "transferred", flow
    assert [(p["step"], p["outcome"]) for p in flow["path"]] == [("team", "overdue"), ("desk", "accepted")]
    run_job(stack, "reconciler")  # again: the finished run asks for nothing more
    emulator.control("GET", "callbacks?wait=idle")
    operations = Counter(operation for operation, _ in flow_requests(emulator, call_id).elements())
    assert operations["CallConnection_AddParticipant"] == 1, operations
    assert operations["CallConnection_TransferToParticipant"] == 1, operations
    assert operations["CallConnection_CancelAddParticipant"] <= 1, operations  # the safety cancel


@pytest.fixture
def two_instances(stack: Stack, tmp_path: Path) -> Iterator[tuple[Splitter, str]]:
    """A second app process on the same storage and emulator whose calls' callbacks go to the
    splitter, which hands them to both processes in turn; its Event Grid webhook."""
    splitter = Splitter().start()
    port, log = free_port(), tmp_path / "devhost-2.log"
    settings = {**stack.app_settings(), "CALLBACK_BASE_URL": splitter.url}
    process = start_devhost(port, settings, stack.function_key, stack.master_key, log,
                            eventgrid_key=stack.eventgrid_key)
    second = f"http://{HOST}:{port}"
    splitter.targets = [stack.app_url, second]
    try:
        yield splitter, webhook_url(second, stack.eventgrid_key)
    finally:
        stop(process)
        splitter.stop()


def test_two_instances_with_every_callback_twice_and_out_of_order_make_each_request_once(
    app: App, emulator: Emulator, use_rules: RuleSetter, disorder: None,
    emulator_settings: Any, two_instances: tuple[Splitter, str],
) -> None:
    splitter, second_webhook = two_instances
    caller, callee, busy, agent = pstn(), acs_user(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": busy, "behavior": "busy"}).status == 200
    assert emulator.control("PUT", "endpoints", {"endpoint": agent, "behavior": "answer"}).status == 200
    use_rules(flow_rules(callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "mode": "sequential", "timeoutSeconds": 10,
         "targets": [busy, agent], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    emulator_settings({"eventWebhook": None})  # the offer goes to the second instance only
    placed = undelivered_call(emulator, caller, callee)
    assert deliver(second_webhook, incoming_event(placed, caller, callee)).status == 202

    call = finished_flow(app, emulator, placed["serverCallId"])
    flow = call["flow"]
    assert (flow["outcome"], flow["currentStep"]) == ("connected", None), flow
    assert [(p["step"], p["attempt"], p["outcome"]) for p in flow["path"]] == [
        ("team", 1, "busy"), ("team", 2, "answered")]
    time.sleep(1.0)  # let every duplicate and held-back callback arrive
    emulator.control("GET", "callbacks?wait=idle")
    splitter.drain()

    requests = flow_requests(emulator, call["callConnectionId"])
    assert all(n == 1 for (operation, _), n in requests.items() if operation in FLOW_OPERATIONS), requests
    operations = Counter(operation for operation, _ in requests.elements())
    assert operations["CallConnection_AddParticipant"] == 2, requests
    assert operations["CallConnection_HangupCall"] == 1, requests
    # Both instances took part, and neither refused or failed a copy.
    assert {target for target, _ in splitter.answers} == set(splitter.targets), splitter.answers
    assert all(200 <= status < 300 for _, status in splitter.answers), splitter.answers
    log = emulator.control("GET", "callbacks").json()["value"]
    assert any(e["callConnectionId"] == call["callConnectionId"] and e["fault"] == "duplicate"
               for e in log), "the duplicates were exercised"
