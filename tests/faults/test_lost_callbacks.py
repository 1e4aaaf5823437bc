"""Callbacks refused with 503 while storage stalls are lost for good (ACS does not deliver a
callback again): the call stays `connecting` with an empty roster until the reconciler repairs
it from ACS's own view (issue 25). The call's CallConnected waits at the callback tap's gate
until storage is frozen, so its callbacks reach the app during the stall, however fast or slow
the machine is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from callcontrol.domain.reconciliation import RECONCILIATION_EVENT
from tests.e2e.conftest import App, Emulator, acs_user, eventually, run_job
from tests.faults.conftest import storage_frozen
from tests.faults.support import CALLER_ID, connected_call
from tests.faults.tap import CallbackTap
from tests.integration.emulator.subscriber import Subscriber
from tests.support.http import call_json
from tools.stack import Stack


@pytest.fixture
def subscriber(emulator: Emulator) -> Iterator[Subscriber]:
    listener = Subscriber().start()
    reply = emulator.control("POST", "eventgrid/subscriptions", {
        "name": "faults-call-events", "endpointUrl": listener.url("events"),
        "filter": {"subjectBeginsWith": "calls/"}})
    assert reply.status == 201, reply.text
    try:
        yield listener
    finally:
        emulator.control("DELETE", "eventgrid/subscriptions/faults-call-events")
        listener.stop()


def stored(app: App, call_id: str) -> dict[str, Any] | None:
    """The stored record as the listing shows it (no live ACS view merged in)."""
    return next((c for c in app.calls(limit="500") if c["callConnectionId"] == call_id), None)


def published(subscriber: Subscriber, call_id: str) -> list[str]:
    return [d.event["type"] for d in subscriber.received("events")
            if d.event.get("subject") == f"calls/{call_id}"]


def test_callbacks_refused_during_a_stall_are_repaired_by_the_reconciler(
    app: App, emulator: Emulator, fault_stack: Stack, tap: CallbackTap, subscriber: Subscriber,
) -> None:
    untouched = connected_call(app, acs_user())
    # ... whose callbacks all arrived: its roster may still be on its way once it is connected,
    # and one refused during the stall below would rightly have the reconciler repair it too
    settled = call_json(f"{fault_stack.emulator_url}/emulator/callbacks?wait=idle", timeout=60)
    assert settled.status == 200, settled.text
    # GIVEN a call whose CallConnected waits at the gate (its roster queues behind it at ACS)
    gate = tap.gate(lambda body: b"CallConnected" in body)
    try:
        reply = app.request("POST", "calls", {"targets": [acs_user()],
                                              "sourceCallerIdNumber": CALLER_ID})
        assert reply.status == 201, reply.text
        call_id = str(reply.json()["callConnectionId"])
        eventually(lambda: gate.caught(call_id, "CallConnected"), what="the CallConnected")
        # WHEN its callbacks reach the app while storage is frozen: each is refused (503)
        with storage_frozen(fault_stack):
            gate.open()
            idle = call_json(f"{fault_stack.emulator_url}/emulator/callbacks?wait=idle",
                             timeout=60)
            assert idle.status == 200, idle.text
    finally:
        gate.open()
    refused = [(t.status, t.body) for t in tap.seen if call_id.encode() in t.body]
    assert any(b"CallConnected" in body for _, body in refused), refused
    assert any(b"ParticipantsUpdated" in body for _, body in refused), refused
    assert all(status == 503 for status, _ in refused), [status for status, _ in refused]
    # THEN, once storage is back, the call is stuck short of ACS: nothing delivers those again
    stuck = stored(app, call_id)
    assert stuck is not None and stuck["state"] == "connecting" and stuck["participants"] == []
    acs_roster = app.request("GET", f"calls/{call_id}/participants")
    assert acs_roster.status == 200, acs_roster.text
    at_acs = sorted(p["identifier"]["rawId"] for p in acs_roster.json()["value"])
    assert at_acs
    # AND the reconciler repairs it from GetCall and the participant list, in one write
    run_job(fault_stack, "reconciler")
    repaired = eventually(lambda: (found := stored(app, call_id)) and found["state"] == "connected"
                          and found, what="the reconciler to repair the call")
    assert sorted(p["identifier"]["rawId"] for p in repaired["participants"]) == at_acs
    entries = [e for e in app.events(call_id) if e["type"] == RECONCILIATION_EVENT]
    assert [e["data"]["action"] for e in entries] == ["callRepaired"], entries
    assert not [e for e in app.events(untouched) if e["type"] == RECONCILIATION_EVENT]
    connected = [c["callConnectionId"] for c in app.calls(state="connected", limit="500")]
    assert call_id in connected  # the listing by state sees it too
    # AND its call events go out: call.connected at last, with the roster
    run_job(fault_stack, "outbox")
    eventually(lambda: {"call.connected", "call.participants.updated"}
                       <= set(published(subscriber, call_id)), what="call.connected published")
    # AND the call is followed as any other: a hang-up ends it
    assert app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True}).status == 202
    eventually(lambda: (stored(app, call_id) or {}).get("state") == "disconnected",
               what="the hang-up")
