"""A call ACS no longer knows ends at the first read that hears ACS's 8522, not only when the
reconciler's timer comes round (issue 24: after `make run PERSIST=1` restarted the emulator the
app kept saying `connected` with `acs: null`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from callcontrol.domain.reconciliation import (
    CALLBACKS_IN_FLIGHT,
    NOT_FOUND_AT_ACS,
    RECONCILIATION_EVENT,
)
from tests.e2e.conftest import App, Emulator, acs_user, eventually


@pytest.fixture
def faults_cleared(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.control("DELETE", "callback-faults")


def test_reading_a_call_acs_has_lost_ends_it(app: App, emulator: Emulator,
                                             faults_cleared: None) -> None:
    reply = app.request("POST", "calls", {"targets": [acs_user()]})
    assert reply.status == 201, reply.text
    call_id = str(reply.json()["callConnectionId"])
    eventually(lambda: app.call(call_id)["state"] == "connected", what="connected")
    # The call ends at ACS and its CallDisconnected is lost: the store still says connected.
    dropped = emulator.control("POST", "callback-faults",
                               {"mode": "drop", "eventType": "CallDisconnected", "count": 1})
    assert dropped.status == 201, dropped.text
    assert emulator.control("POST", "remote-hangups", {"callConnectionId": call_id}).status == 204
    emulator.control("GET", "callbacks?wait=idle")
    time.sleep(CALLBACKS_IN_FLIGHT.total_seconds() + 1)  # past the callbacks' grace

    ended = app.call(call_id)  # GET reads ACS's GetCall beside the store: 8522
    assert (ended["state"], ended["endReason"]["message"]) == ("disconnected", NOT_FOUND_AT_ACS)
    assert [e["data"]["action"] for e in app.events(call_id)
            if e["type"] == RECONCILIATION_EVENT] == ["callEnded"]
