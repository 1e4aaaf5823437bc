"""Duplicated and shuffled callback delivery (emulator faults) ends in the same state and history
as in-order delivery."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.e2e.conftest import App, Emulator, acs_user, encoded, eventually, pstn

CALLER_ID = "+14255550000"


def run_flow(app: App) -> str:
    """Create a call, add a guest, remove them, hang up; return the call id."""
    first, guest = acs_user(), acs_user()
    reply = app.request("POST", "calls", {"targets": [first, pstn()],
                                          "sourceCallerIdNumber": CALLER_ID,
                                          "operationContext": "create"})
    assert reply.status == 201, reply.text
    call_id = str(reply.json()["callConnectionId"])
    eventually(lambda: app.call(call_id)["state"] == "connected", what="connected")
    assert app.request("POST", f"calls/{call_id}/participants",
                       {"participant": guest, "operationContext": "add"}).status == 202
    eventually(lambda: any(p["identifier"]["rawId"] == guest["communicationUserId"]
                           for p in app.call(call_id)["participants"]), what="guest joined")
    assert app.request("DELETE", f"calls/{call_id}/participants/"
                       f"{encoded(guest['communicationUserId'])}",
                       {"operationContext": "remove"}).status == 202
    eventually(lambda: all(p["identifier"]["rawId"] != guest["communicationUserId"]
                           for p in app.call(call_id)["participants"]), what="guest removed")
    assert app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True}).status == 202
    return call_id


def settled(app: App, emulator: Emulator, call_id: str) -> dict[str, Any]:
    """Wait until the emulator has delivered everything, then describe the outcome."""
    emulator.control("GET", "callbacks?wait=idle")
    eventually(lambda: app.call(call_id)["state"] == "disconnected", what="disconnected")

    def stable() -> dict[str, Any] | None:
        before = app.call(call_id)
        time.sleep(0.3)
        after = app.call(call_id)
        return after if after["eventCount"] == before["eventCount"] else None

    call = eventually(stable, what="no more callbacks arriving")
    events = app.events(call_id)
    return {
        "state": call["state"],
        "participantCount": len(call["participants"]),
        "operations": sorted((op["operationContext"], op["kind"], op["status"])
                             for op in call["operations"] if not op["operationContext"].startswith("hangup")),
        "eventTypes": Counter(e["type"] for e in events),
        "eventCount": call["eventCount"],
        "uniqueIds": len({e["id"] for e in events}) == len(events),
    }


def test_duplicated_and_reordered_callbacks_end_in_the_same_state(app: App,
                                                                  emulator: Emulator) -> None:
    in_order = settled(app, emulator, run_flow(app))
    for fault in ({"mode": "duplicate", "count": 50}, {"mode": "reorder", "count": 50}):
        assert emulator.control("POST", "callback-faults", fault).status == 201
    try:
        disordered_id = run_flow(app)
        disordered = settled(app, emulator, disordered_id)
        delivered = emulator.control("GET", "callbacks").json()["value"]
    finally:
        emulator.control("DELETE", "callback-faults")
    assert any(entry.get("fault") for entry in delivered), "the faults were exercised"
    assert disordered == in_order
