"""Every flow of the management API end to end: client → devhost → official SDK → emulator →
signed callbacks → Table Storage (Azurite) → what GET /api/calls/{id} reports."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, encoded, eventually, pstn

CALLER_ID = "+14255550000"


def operation(call: dict[str, Any], context: str) -> dict[str, Any] | None:
    return next((op for op in call["operations"] if op["operationContext"] == context), None)


def finished(app: App, call_id: str, context: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        op = operation(app.call(call_id), context)
        return op if op is not None and op["status"] != "pending" else None

    return eventually(check, what=f"operation {context} to finish")


def connected_call(app: App, *targets: dict[str, str]) -> str:
    reply = app.request("POST", "calls", {"targets": list(targets), "sourceCallerIdNumber": CALLER_ID})
    assert reply.status == 201, reply.text
    call_id = str(reply.json()["callConnectionId"])
    eventually(lambda: app.call(call_id)["state"] == "connected", what="the call to connect")
    return call_id


def raw(identifier: dict[str, str]) -> str:
    if "phoneNumber" in identifier:
        return f"4:{identifier['phoneNumber']}"
    return identifier["communicationUserId"]


def roster(app: App, call_id: str) -> set[str]:
    return {p["identifier"]["rawId"] for p in app.call(call_id)["participants"]}


def test_outbound_one_to_one_call_to_a_phone_with_caller_id(app: App, emulator: Emulator) -> None:
    callee = pstn()
    reply = app.request("POST", "calls", {"targets": [callee], "sourceCallerIdNumber": CALLER_ID,
                                          "sourceDisplayName": "Contoso"})
    assert reply.status == 201, reply.text
    created = reply.json()
    assert created["direction"] == "outbound"
    assert created["targets"][0]["rawId"] == raw(callee)
    call_id = created["callConnectionId"]
    eventually(lambda: raw(callee) in roster(app, call_id), what="the callee to join")
    call = app.call(call_id)
    assert call["state"] == "connected"
    assert call["acs"]["sourceCallerIdNumber"] == CALLER_ID
    [create] = [r for r in emulator.requests() if r["method"] == "POST"
                and r["path"] == "/calling/callConnections"
                and r["body"]["targets"][0]["rawId"] == raw(callee)]
    assert create["body"]["sourceCallerIdNumber"] == {"value": CALLER_ID}


def test_group_call_of_a_phone_and_an_acs_user(app: App) -> None:
    phone, user = pstn(), acs_user()
    call_id = connected_call(app, phone, user)
    eventually(lambda: {raw(phone), raw(user)} <= roster(app, call_id), what="both to join")
    assert len(app.call(call_id)["targets"]) == 2


def test_transfer_of_a_one_to_one_call(app: App) -> None:
    call_id = connected_call(app, pstn())
    target = acs_user()
    reply = app.request("POST", f"calls/{call_id}/transfer",
                        {"target": target, "operationContext": "xfer-1"})
    assert reply.status == 202, reply.text
    assert finished(app, call_id, "xfer-1")["status"] == "succeeded"
    call = eventually(lambda: (c := app.call(call_id))["state"] == "disconnected" and c,
                      what="the app to lose the call")
    assert call["transferred"] is True
    again = app.request("POST", f"calls/{call_id}/transfer", {"target": acs_user()})
    assert again.status == 409


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [({"behavior": "answer"}, "succeeded"),
     ({"behavior": "decline"}, "failed"),
     ({"behavior": "noAnswer"}, "failed")],
)
def test_add_participant(app: App, emulator: Emulator, behaviour: dict[str, Any],
                         expected: str) -> None:
    call_id = connected_call(app, acs_user())
    guest = acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": guest, **behaviour}).status == 200
    context = f"add-{uuid.uuid4()}"
    reply = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": guest, "invitationTimeoutSeconds": 2,
                         "operationContext": context})
    assert reply.status == 202, reply.text
    assert reply.json()["invitationId"]
    op = finished(app, call_id, context)
    assert op["status"] == expected
    assert op["invitationId"] == reply.json()["invitationId"]
    if expected == "succeeded":
        eventually(lambda: raw(guest) in roster(app, call_id), what="the guest in the roster")
    else:
        assert op["reason"], "a failed add explains itself"
        assert raw(guest) not in roster(app, call_id)


def test_cancel_a_pending_add(app: App, emulator: Emulator) -> None:
    call_id = connected_call(app, acs_user())
    guest = acs_user()
    emulator.control("PUT", "endpoints", {"endpoint": guest, "behavior": "answer",
                                          "delaySeconds": 30})
    added = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": guest, "operationContext": "slow-add"}).json()
    reply = app.request("DELETE", f"calls/{call_id}/invitations/{added['invitationId']}",
                        {"operationContext": "cancel-1"})
    assert reply.status == 202, reply.text
    assert finished(app, call_id, "cancel-1")["status"] == "succeeded"
    assert finished(app, call_id, "slow-add")["status"] in ("cancelled", "failed")
    assert raw(guest) not in roster(app, call_id)


def test_remove_participant(app: App) -> None:
    first, second = acs_user(), acs_user()
    call_id = connected_call(app, first, second)
    eventually(lambda: raw(second) in roster(app, call_id), what="the second target to join")
    reply = app.request("DELETE", f"calls/{call_id}/participants/{encoded(raw(second))}",
                        {"operationContext": "rm-1"})
    assert reply.status == 202, reply.text
    assert finished(app, call_id, "rm-1")["status"] == "succeeded"
    eventually(lambda: raw(second) not in roster(app, call_id), what="the roster without them")


@pytest.mark.parametrize("for_everyone", [True, False])
def test_hang_up(app: App, emulator: Emulator, for_everyone: bool) -> None:
    callee = pstn()
    call_id = connected_call(app, callee)
    reply = app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": for_everyone})
    assert reply.status == 202, reply.text
    eventually(lambda: app.call(call_id)["state"] == "disconnected", what="the call to end")
    operation_name = ":terminate" if for_everyone else "DELETE"
    assert any((r["path"].endswith(":terminate") if for_everyone else r["method"] == "DELETE")
               and call_id in r["path"] for r in emulator.requests()), operation_name
    assert app.request("POST", f"calls/{call_id}/hangup", {}).status == 409


def test_get_and_list_participants_and_call_properties(app: App) -> None:
    phone, user = pstn(), acs_user()
    call_id = connected_call(app, phone, user)
    eventually(lambda: {raw(phone), raw(user)} <= roster(app, call_id), what="both to join")
    listed = app.request("GET", f"calls/{call_id}/participants")
    assert listed.status == 200
    assert {raw(phone), raw(user)} <= {p["identifier"]["rawId"] for p in listed.json()["value"]}
    one = app.request("GET", f"calls/{call_id}/participants/{encoded(raw(phone))}")
    assert one.status == 200, one.text
    assert one.json()["identifier"] == {"kind": "phoneNumber", "rawId": raw(phone),
                                        "phoneNumber": phone["phoneNumber"]}
    missing = app.request("GET", f"calls/{call_id}/participants/{encoded('4:+19999999999')}")
    assert missing.status == 404
    call = app.call(call_id)
    assert call["acs"]["callConnectionState"] == "connected"
    assert call["serverCallId"]


def test_mute_an_acs_user(app: App) -> None:
    user = acs_user()
    call_id = connected_call(app, user, pstn())
    reply = app.request("POST", f"calls/{call_id}/participants/{encoded(raw(user))}/mute", {})
    assert reply.status == 200, reply.text
    muted = app.request("GET", f"calls/{call_id}/participants/{encoded(raw(user))}").json()
    assert muted["isMuted"] is True


def test_idempotency_key_acts_once_and_replays(app: App, emulator: Emulator) -> None:
    callee = pstn()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"targets": [callee], "sourceCallerIdNumber": CALLER_ID}
    first = app.request("POST", "calls", body, key)
    second = app.request("POST", "calls", body, key)
    assert first.status == second.status == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    creates = [r for r in emulator.requests() if r["path"] == "/calling/callConnections"
               and r["method"] == "POST" and r["body"]["targets"][0]["rawId"] == raw(callee)]
    assert len(creates) == 1
    other = app.request("POST", "calls", {**body, "sourceDisplayName": "x"}, key)
    assert other.status == 400


def test_acs_errors_are_mapped_not_leaked(app: App, emulator: Emulator) -> None:
    call_id = connected_call(app, pstn())
    emulator.control("POST", "faults", {"operation": "CallConnection_GetParticipants",
                                        "status": 503, "count": 10})
    try:
        reply = app.request("GET", f"calls/{call_id}/participants")
    finally:
        emulator.control("DELETE", "faults")
    assert reply.status == 503
    assert reply.headers["Retry-After"]
    assert "Traceback" not in reply.text
    gone = app.request("GET", f"calls/{uuid.uuid4()}/participants")
    assert gone.status == 404


def test_actions_on_a_call_not_yet_established_are_a_409(app: App, emulator: Emulator) -> None:
    slow = acs_user()
    emulator.control("PUT", "endpoints", {"endpoint": slow, "behavior": "answer", "delaySeconds": 20})
    reply = app.request("POST", "calls", {"targets": [slow]})
    assert reply.status == 201, reply.text
    call_id = reply.json()["callConnectionId"]
    assert app.call(call_id)["state"] == "connecting"
    refused = app.request("POST", f"calls/{call_id}/participants", {"participant": acs_user()})
    assert refused.status == 409
    assert "not established" in refused.json()["detail"]
    assert app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True}).status == 202


def test_acs_client_errors_pass_through_with_their_code(app: App, emulator: Emulator) -> None:
    call_id = connected_call(app, acs_user())
    emulator.control("POST", "faults", {"operation": "CallConnection_Mute", "status": 400,
                                        "errorCode": "8523", "count": 1})
    try:
        reply = app.request("POST", f"calls/{call_id}/participants/"
                            f"{encoded(acs_user()['communicationUserId'])}/mute", {})
    finally:
        emulator.control("DELETE", "faults")
    assert reply.status == 400
    assert reply.json()["acsCode"] == "8523"


def test_transferring_one_participant_of_a_group_call_keeps_the_call(app: App) -> None:
    stays, moves = acs_user(), pstn()
    call_id = connected_call(app, stays, moves)
    eventually(lambda: raw(moves) in roster(app, call_id), what="both to join")
    reply = app.request("POST", f"calls/{call_id}/transfer",
                        {"target": acs_user(), "transferee": moves, "operationContext": "move-1"})
    assert reply.status == 202, reply.text
    assert finished(app, call_id, "move-1")["status"] == "succeeded"
    call = app.call(call_id)
    assert call["state"] == "connected"
    assert call["transferred"] is False
    more = app.request("POST", f"calls/{call_id}/participants", {"participant": acs_user()})
    assert more.status == 202, more.text


def test_an_operation_context_cannot_be_reused_on_a_call(app: App) -> None:
    call_id = connected_call(app, acs_user())
    first = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": acs_user(), "operationContext": "once"})
    assert first.status == 202, first.text
    again = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": acs_user(), "operationContext": "once"})
    assert again.status == 409
    assert "already used" in again.json()["detail"]


def test_mute_and_hang_up_appear_as_finished_operations(app: App) -> None:
    user = acs_user()
    call_id = connected_call(app, user)
    muted = app.request("POST", f"calls/{call_id}/participants/{encoded(raw(user))}/mute",
                        {"operationContext": "mute-1"})
    assert muted.status == 200, muted.text
    assert operation(app.call(call_id), "mute-1")["status"] == "succeeded"
    assert app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True}).status == 202
    ended = eventually(lambda: (c := app.call(call_id))["state"] == "disconnected" and c,
                       what="the call to end")
    assert all(op["status"] != "pending" for op in ended["operations"])


def test_two_concurrent_requests_with_one_context_act_once(app: App, emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    call_id = connected_call(app, acs_user())
    guests = [acs_user(), acs_user()]
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda guest: app.request(
            "POST", f"calls/{call_id}/participants",
            {"participant": guest, "operationContext": "same"}), guests))
    assert sorted(r.status for r in replies) == [202, 409], [r.text for r in replies]
    adds = [r for r in emulator.requests() if r["path"].endswith(f"{call_id}/participants:add")]
    assert len(adds) == 1


def test_a_refused_action_frees_its_operation_context(app: App, emulator: Emulator) -> None:
    call_id = connected_call(app, acs_user())
    emulator.control("POST", "faults", {"operation": "CallConnection_AddParticipant",
                                        "status": 400, "errorCode": "8523", "count": 1})
    try:
        refused = app.request("POST", f"calls/{call_id}/participants",
                              {"participant": acs_user(), "operationContext": "retry-me"})
    finally:
        emulator.control("DELETE", "faults")
    assert refused.status == 400
    again = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": acs_user(), "operationContext": "retry-me"})
    assert again.status == 202, again.text
