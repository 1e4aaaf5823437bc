"""A callback token captured in transit (each is valid for about 5 minutes) must not forge
events: it speaks only for the call whose callback URL it was sent to, and only once for a body,
whatever the call (issue 25). The bare callback URL takes no call the app does not hold.

The tokens here are genuine: the emulator signed them for real callbacks, and the recording tap
in front of the app kept a copy, as an eavesdropper would."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.e2e.conftest import App, Emulator, acs_user, eventually
from tests.faults.support import CALLER_ID, connected_call
from tests.faults.tap import CallbackTap, Tapped
from tests.support.http import Reply, call
from tools.stack import Stack


def captured(tap: CallbackTap, call_id: str) -> Tapped:
    return eventually(lambda: tap.for_call(call_id, "CallConnected"),
                      what="the CallConnected delivery to pass the tap")


def disconnected(call_id: str, kind: str = "CallDisconnected") -> list[dict[str, Any]]:
    return [{
        "id": str(uuid.uuid4()),
        "source": f"calling/callConnections/{call_id}",
        "type": f"Microsoft.Communication.{kind}",
        "data": {"callConnectionId": call_id, "version": "2026-03-12",
                 "publicEventType": f"Microsoft.Communication.{kind}"},
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


def test_a_token_from_one_call_cannot_forge_through_another_calls_own_uri(
    app: App, fault_stack: Stack, tap: CallbackTap
) -> None:
    # The victim's own callback URL (its secret included, as a leaked URL would be) with a
    # token captured from another call's callback: the token was used once already.
    victim, other = connected_call(app, acs_user()), connected_call(app, acs_user())
    victims_url = captured(tap, victim).path
    others_token = captured(tap, other)

    forged = replay(fault_stack, others_token, json.dumps(disconnected(victim)).encode(),
                    path=victims_url)

    assert forged.status == 401, forged.text
    assert forged.headers.get("Content-Type", "").startswith("application/problem+json")
    assert app.call(victim)["state"] == "connected"
    assert app.request("POST", f"calls/{victim}/hangup", {"forEveryone": True}).status == 202


def test_the_bare_uri_makes_up_no_call_from_an_unused_token(
    app: App, emulator: Emulator, fault_stack: Stack, tap: CallbackTap
) -> None:
    # An attacker in the path intercepts a genuine callback: its token never reached the app.
    tap.hold(lambda body: b"Microsoft.Communication.CallConnected" in body)
    created = app.request("POST", "calls", {"targets": [acs_user()],
                                            "sourceCallerIdNumber": CALLER_ID})
    assert created.status == 201, created.text
    held = eventually(lambda: tap.held[-1] if tap.held else None,
                      what="the CallConnected delivery to be intercepted")
    phantom = f"phantom-{uuid.uuid4()}"

    forged = replay(fault_stack, held, json.dumps(disconnected(phantom, "CallConnected")).encode(),
                    path="/api/callbacks")

    assert forged.status == 401, forged.text
    assert phantom not in {c["callConnectionId"] for c in app.calls()}
    assert app.request("GET", f"calls/{phantom}/events").status == 404
    deliveries = emulator.control("GET", "eventgrid/deliveries")
    assert deliveries.status == 200 and phantom not in deliveries.text
