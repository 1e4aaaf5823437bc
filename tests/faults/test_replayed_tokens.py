"""A callback token captured in transit (each is valid for about 5 minutes) must not forge
events: it speaks only for the call whose callback URL it was sent to, and only once for a body.

The tokens here are genuine: the emulator signed them for real callbacks, and the recording tap
in front of the app kept a copy, as an eavesdropper would."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.e2e.conftest import App, acs_user, eventually
from tests.faults.support import connected_call
from tests.faults.tap import CallbackTap, Tapped
from tests.support.http import Reply, call
from tools.stack import Stack


def captured(tap: CallbackTap, call_id: str) -> Tapped:
    return eventually(lambda: tap.for_call(call_id, "CallConnected"),
                      what="the CallConnected delivery to pass the tap")


def disconnected(call_id: str) -> list[dict[str, Any]]:
    return [{
        "id": str(uuid.uuid4()),
        "source": f"calling/callConnections/{call_id}",
        "type": "Microsoft.Communication.CallDisconnected",
        "data": {"callConnectionId": call_id, "version": "2026-03-12",
                 "publicEventType": "Microsoft.Communication.CallDisconnected"},
        "specversion": "1.0", "datacontenttype": "application/json",
        "time": "2026-11-30T09:00:00Z",
    }]


def replay(stack: Stack, tapped: Tapped, body: bytes, path: str | None = None) -> Reply:
    return call(f"{stack.app_url}{path or tapped.path}", "POST", body, tapped.headers)


def test_a_captured_token_cannot_forge_an_event_for_its_own_call(
    app: App, fault_stack: Stack, tap: CallbackTap
) -> None:
    call_id = connected_call(app, acs_user())
    tapped = captured(tap, call_id)
    assert tapped.status == 200  # the genuine delivery was accepted

    forged = replay(fault_stack, tapped, json.dumps(disconnected(call_id)).encode())

    assert forged.status == 401, forged.text
    assert app.call(call_id)["state"] == "connected"
    assert app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True}).status == 202


def test_a_token_sent_for_one_call_cannot_speak_for_another(
    app: App, fault_stack: Stack, tap: CallbackTap
) -> None:
    victim, other = connected_call(app, acs_user()), connected_call(app, acs_user())
    tapped = captured(tap, other)

    # The other call's URL and token, a body about the victim.
    forged = replay(fault_stack, tapped, json.dumps(disconnected(victim)).encode())
    assert forged.status == 401, forged.text
    # The victim's bare sink URL (no per-call secret), the other call's token.
    bare = replay(fault_stack, tapped, json.dumps(disconnected(victim)).encode(),
                  path="/api/callbacks")
    assert bare.status == 401, bare.text
    assert app.call(victim)["state"] == "connected"


def test_a_redelivery_of_the_same_callback_is_harmless_and_acknowledged(
    app: App, fault_stack: Stack, tap: CallbackTap
) -> None:
    call_id = connected_call(app, acs_user())
    tapped = captured(tap, call_id)
    again = replay(fault_stack, tapped, tapped.body)
    assert again.status == 200, again.text
    assert again.json()["applied"] == 0
    assert len(app.events(call_id)) == len({e["id"] for e in app.events(call_id)})
