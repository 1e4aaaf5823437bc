"""The walking skeleton end to end: emulator IncomingCall → app answers → callbacks → stored."""

from __future__ import annotations

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn


def test_incoming_call_is_answered_and_connected(app: App, emulator: Emulator) -> None:
    caller, callee = pstn(), acs_user()
    placed = emulator.incoming_call(caller, callee)
    server_call_id = placed["serverCallId"]

    def connected_call() -> dict[str, object] | None:
        for call in app.calls(direction="inbound"):
            if call["serverCallId"] == server_call_id and call["state"] == "connected" \
                    and len(call["participants"]) == 2:
                return call
        return None

    call = eventually(connected_call, what="the answered call to be connected")
    call_id = str(call["callConnectionId"])
    details = app.call(call_id)
    assert details["state"] == "connected"
    assert details["direction"] == "inbound"
    raw_ids = {p["identifier"]["rawId"] for p in details["participants"]}
    assert raw_ids == {f"4:{caller['phoneNumber']}", callee["communicationUserId"]}
    types = [e["type"].removeprefix("Microsoft.Communication.") for e in app.events(call_id)]
    assert types[:2] == ["CallConnected", "ParticipantsUpdated"]
    answers = [r for r in emulator.requests() if r["path"].endswith(":answer")
               and (r["body"] or {}).get("incomingCallContext") == placed["incomingCallContext"]]
    assert len(answers) == 1
    assert answers[0]["status"] == 200


def test_unknown_call_is_a_404_problem(app: App) -> None:
    reply = app.request("GET", "calls/00000000-0000-0000-0000-000000000000")
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("application/problem+json")


def test_management_routes_need_the_function_key(app: App) -> None:
    from tests.support.http import call

    assert call(app.url("calls")).status == 401
    assert call(app.url("health")).status == 200


def test_callbacks_signed_with_a_rotated_key_are_still_accepted(app: App, emulator: Emulator) -> None:
    first = emulator.incoming_call(pstn(), acs_user())
    eventually(lambda: _connected(app, first["serverCallId"]), what="a call before rotation")
    rotated = emulator.control("POST", "keys:rotate", {"retainPrevious": False})
    assert rotated.status == 200, rotated.text
    second = emulator.incoming_call(pstn(), acs_user())
    eventually(lambda: _connected(app, second["serverCallId"]), what="a call after rotation")


def _connected(app: App, server_call_id: str) -> bool:
    return any(c["serverCallId"] == server_call_id and c["state"] == "connected"
               for c in app.calls(direction="inbound"))
