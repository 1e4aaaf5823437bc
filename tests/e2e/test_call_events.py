"""Call events out, end to end: a call's changes reach a loopback subscriber of the emulator's Event
Grid topic as CloudEvents, exactly once each by id and in order per call, while the topic fails
30% of publishes; the outbox sweep (run through POST /api/jobs/outbox) catches up what failed."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn, run_job
from tests.integration.emulator.subscriber import Subscriber
from tools.stack import Stack

FAULT_SEED = 32  # fails the first two publishes, then about 30%


@pytest.fixture
def subscriber(emulator: Emulator) -> Iterator[Subscriber]:
    listener = Subscriber().start()
    reply = emulator.control("POST", "eventgrid/subscriptions", {
        "name": "e2e-call-events", "endpointUrl": listener.url("events"),
        "filter": {"subjectBeginsWith": "calls/"}})
    assert reply.status == 201, reply.text
    fault = emulator.control("PUT", "eventgrid/publish-fault", {"share": 0.3, "seed": FAULT_SEED})
    assert fault.status == 200, fault.text
    try:
        yield listener
    finally:
        emulator.control("DELETE", "eventgrid/publish-fault")
        emulator.control("DELETE", "eventgrid/subscriptions/e2e-call-events")
        listener.stop()


def run_outbox_timer(stack: Stack) -> None:
    assert run_job(stack, "outbox") is not None  # a topic is configured: the sweep ran


def call_events(subscriber: Subscriber, call_id: str) -> list[dict[str, Any]]:
    return [d.event for d in subscriber.received("events")
            if d.event.get("subject") == f"calls/{call_id}"]


def finished(app: App, call_id: str, context: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        op = next((o for o in app.call(call_id)["operations"]
                   if o["operationContext"] == context), None)
        return op if op is not None and op["status"] != "pending" else None

    return eventually(check, what=f"operation {context} to finish")


def answered_call(app: App, emulator: Emulator) -> str:
    placed = emulator.incoming_call(pstn(), acs_user())

    def connected() -> str | None:
        for call in app.calls(direction="inbound"):
            if call["serverCallId"] == placed["serverCallId"] and call["state"] == "connected" \
                    and len(call["participants"]) == 2:
                return str(call["callConnectionId"])
        return None

    return eventually(connected, what="the incoming call to be answered and connected")


def test_a_full_call_flow_reaches_the_subscriber_exactly_once_in_order(
        app: App, emulator: Emulator, stack: Stack, subscriber: Subscriber) -> None:
    call_id = answered_call(app, emulator)

    guest = acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": guest, "behavior": "answer"}).status == 200
    reply = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": guest, "operationContext": "add-1"})
    assert reply.status == 202, reply.text
    assert finished(app, call_id, "add-1")["status"] == "succeeded"
    eventually(lambda: len(app.call(call_id)["participants"]) == 3, what="the guest to join")

    refuser = acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": refuser, "behavior": "decline"}).status == 200
    # A group call now: the transfer moves one participant (the guest), and the target declines.
    reply = app.request("POST", f"calls/{call_id}/transfer",
                        {"target": refuser, "transferee": guest, "operationContext": "xfer-1"})
    assert reply.status == 202, reply.text
    assert finished(app, call_id, "xfer-1")["status"] == "failed"

    reply = app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True})
    assert reply.status == 202, reply.text
    eventually(lambda: app.call(call_id)["state"] == "disconnected", what="the call to end")
    settled = eventually(lambda: all(o["status"] != "pending" for o in app.call(call_id)["operations"]),
                         what="every operation to settle")
    assert settled

    # What the app knows of the call decides what must have been announced.
    record = app.call(call_id)
    history = app.events(call_id)
    rosters = {e["data"]["sequenceNumber"] for e in history
               if e["type"].endswith("ParticipantsUpdated")}
    expected = Counter({"inbound.decided": 1, "call.connected": 1, "call.transfer.failed": 1,
                        "call.ended": 1, "call.participants.updated": len(rosters),
                        "call.operation.succeeded": sum(
                            1 for o in record["operations"]
                            if o["status"] == "succeeded"
                            and o["kind"] not in ("transfer", "transferParticipant"))})
    total = sum(expected.values())

    # Publishes fail 30% of the time: the timer re-publishes until the subscriber has them all.
    deadline = time.monotonic() + 60
    while len({e["id"] for e in call_events(subscriber, call_id)}) < total:
        assert time.monotonic() < deadline, (
            f"only {Counter(e['type'] for e in call_events(subscriber, call_id))} of {expected}")
        run_outbox_timer(stack)
        time.sleep(0.5)
    run_outbox_timer(stack)  # one more run: nothing may come twice
    time.sleep(1.0)

    events = call_events(subscriber, call_id)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) == total, Counter(ids).most_common(3)
    assert Counter(e["type"] for e in events) == expected
    sequences = [e["data"]["sequence"] for e in events]
    assert sequences == sorted(sequences) == list(range(sequences[0], sequences[0] + total))

    by_type = {e["type"]: e for e in events}
    failed = by_type["call.transfer.failed"]["data"]
    assert failed["change"]["operation"]["operationContext"] == "xfer-1"
    assert failed["cause"]["acsEventType"] == "Microsoft.Communication.CallTransferFailed"
    assert by_type["inbound.decided"]["data"]["change"]["decision"]["outcome"] == "answered"
    assert by_type["call.ended"]["data"]["call"]["state"] == "disconnected"
    for event in events:
        assert event["source"] == "/callcontrol" and event["specversion"] == "1.0"
        assert event["data"]["callConnectionId"] == call_id
        assert event["data"]["serverCallId"] == record["serverCallId"]

    fault = emulator.control("GET", "eventgrid/publish-fault").json()
    assert fault["failed"] >= 2, fault  # the topic really refused publishes
    # The topic delivered what it accepted to the subscriber once: no duplicate came from retries.
    assert not [d for d in subscriber.received("events") if d.event["id"] in ids
                and ids.count(d.event["id"]) > 1]


def test_events_refused_for_a_whole_call_are_all_delivered_by_the_outbox_timer(
        app: App, emulator: Emulator, stack: Stack, subscriber: Subscriber) -> None:
    emulator.control("PUT", "eventgrid/publish-fault", {"share": 1.0})  # the topic is down
    call_id = answered_call(app, emulator)
    reply = app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True})
    assert reply.status == 202, reply.text
    eventually(lambda: app.call(call_id)["state"] == "disconnected", what="the call to end")
    time.sleep(1.0)  # whatever the app tries in the background is refused
    assert call_events(subscriber, call_id) == []
    refused = emulator.control("GET", "eventgrid/publish-fault").json()["failed"]
    assert refused >= 1

    emulator.control("DELETE", "eventgrid/publish-fault")  # the topic is back: only the timer knows
    run_outbox_timer(stack)
    deadline = time.monotonic() + 15
    while "call.ended" not in [e["type"] for e in call_events(subscriber, call_id)]:
        assert time.monotonic() < deadline, [e["type"] for e in call_events(subscriber, call_id)]
        time.sleep(0.05)
    run_outbox_timer(stack)
    time.sleep(1.0)
    events = call_events(subscriber, call_id)
    types = [e["type"] for e in events]
    assert types[0] in ("inbound.decided", "call.connected") and "call.ended" in types
    assert {"inbound.decided", "call.connected", "call.participants.updated"} <= set(types)
    assert len({e["id"] for e in events}) == len(events)
    assert [e["data"]["sequence"] for e in events] == list(range(1, len(events) + 1))
