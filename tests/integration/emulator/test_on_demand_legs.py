"""The phone network on demand: ringing legs answered, declined (with a reason) or hung up
through the control API, the app side driven by the official SDK."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.communication.callautomation import (
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.core.exceptions import ResourceNotFoundError

from tests.integration.emulator.support import (
    CALLER_ID,
    PSTN_A,
    PSTN_B,
    USER_A,
    USER_B,
    AppSide,
    Control,
    connect_call,
)


def ringing(control: Control, raw_id: str, timeout: float = 5) -> dict[str, Any]:
    """The ringing leg whose callee is `raw_id`, once it rings."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for leg in control.ok("GET", "/legs")["value"]:
            if leg["callee"]["rawId"] == raw_id:
                return dict(leg)
        time.sleep(0.01)
    raise AssertionError(f"{raw_id} never rang; legs: {control.ok('GET', '/legs')}")


def result_of(record: dict[str, Any]) -> tuple[int, int]:
    info = record["event"]["data"]["resultInformation"]
    return info["code"], info["subCode"]


def journal(control: Control, server_call_id: str) -> list[tuple[str, str | None]]:
    entries = control.ok("GET", f"/network-log?serverCallId={server_call_id}")["value"]
    return [(entry["kind"], entry.get("by")) for entry in entries]


def test_a_scripted_ringing_callee_waits_to_be_answered_on_demand(
    client, app_side: AppSide, control: Control
) -> None:
    control.endpoint(USER_A, "ring")
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    leg = ringing(control, USER_A)
    assert leg["kind"] == "network" and leg["behavior"] == "ring"
    assert leg["actions"] == ["answer", "decline", "hangup"]
    time.sleep(0.3)  # still ringing: nothing answers it but us
    assert not app_side.events("CallConnected", props.call_connection_id)

    answered = control.ok("POST", f"/legs/{leg['legId']}/answer")
    assert answered == {
        "legId": leg["legId"],
        "outcome": "answered",
        "result": {"code": 200, "subCode": 0, "message": "Action completed successfully."},
    }
    app_side.wait_for("CallConnected", props.call_connection_id)
    connection = client.get_call_connection(props.call_connection_id)
    app_side.wait_for("ParticipantsUpdated", props.call_connection_id)
    raw_ids = {p.identifier.raw_id for p in connection.list_participants()}
    assert USER_A in raw_ids
    assert control.ok("GET", "/legs")["value"] == []
    assert journal(control, leg["serverCallId"]) == [("ringing", None), ("answered", "control")]


@pytest.mark.parametrize(
    ("reason", "code", "sub_code"),
    [("declined", 603, 0), ("busy", 486, 560486), ("noAnswer", 487, 10004), ("unreachable", 480, 10037)],
)
def test_declining_an_added_participant_reports_the_reason_in_add_participant_failed(
    client, app_side: AppSide, control: Control, reason: str, code: int, sub_code: int
) -> None:
    connection, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.settings(unscriptedBehavior="ring")
    connection.add_participant(
        PhoneNumberIdentifier(PSTN_A), source_caller_id_number=PhoneNumberIdentifier(CALLER_ID)
    )
    leg = ringing(control, f"4:{PSTN_A}")
    reply = control.ok("POST", f"/legs/{leg['legId']}/decline", {"reason": reason})
    assert reply["outcome"] == reason and (reply["result"]["code"], reply["result"]["subCode"]) == (
        code,
        sub_code,
    )
    failed = app_side.wait_for("AddParticipantFailed", cid)
    assert result_of(failed[0]) == (code, sub_code)
    assert failed[0]["event"]["data"]["participant"]["rawId"] == f"4:{PSTN_A}"
    raw_ids = {p.identifier.raw_id for p in connection.list_participants()}
    assert f"4:{PSTN_A}" not in raw_ids
    assert journal(control, leg["serverCallId"])[-1] == (reason, "control")


def test_declining_the_only_target_fails_create_call_and_disconnects_with_that_result(
    client, app_side: AppSide, control: Control
) -> None:
    control.settings(unscriptedBehavior="ring")
    props = client.create_call(
        PhoneNumberIdentifier(PSTN_B),
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    leg = ringing(control, f"4:{PSTN_B}")
    control.ok("POST", f"/legs/{leg['legId']}/decline", {"reason": "busy"})
    failed = app_side.wait_for("CreateCallFailed", props.call_connection_id)
    disconnected = app_side.wait_for("CallDisconnected", props.call_connection_id)
    assert result_of(failed[0]) == (486, 560486)
    assert result_of(disconnected[0]) == (486, 560486)
    with pytest.raises(ResourceNotFoundError):
        client.get_call_connection(props.call_connection_id).get_call_properties()


def test_a_transfer_target_declined_then_answered(client, app_side: AppSide, control: Control) -> None:
    connection, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.settings(unscriptedBehavior="ring")
    connection.transfer_call_to_participant(CommunicationUserIdentifier(USER_B))
    leg = ringing(control, USER_B)
    assert leg["caller"]["rawId"] == USER_A  # the transferee calls the target
    control.ok("POST", f"/legs/{leg['legId']}/decline", {"reason": "declined"})
    failed = app_side.wait_for("CallTransferFailed", cid)
    assert result_of(failed[0]) == (603, 0)
    assert connection.get_call_properties().call_connection_state == "connected"

    connection.transfer_call_to_participant(CommunicationUserIdentifier(USER_B))
    control.ok("POST", f"/legs/{ringing(control, USER_B)['legId']}/answer")
    accepted = app_side.wait_for("CallTransferAccepted", cid)
    assert result_of(accepted[0]) == (200, 7015)
    app_side.wait_for("CallDisconnected", cid)


def test_an_unanswered_leg_rings_until_its_timeout(client, app_side: AppSide, control: Control) -> None:
    connection, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.settings(unscriptedBehavior="ring")
    connection.add_participant(CommunicationUserIdentifier(USER_B), invitation_timeout=1)
    leg = ringing(control, USER_B)
    assert 0.9 <= leg["ringsUntil"] - leg["startedAt"] <= 1.1
    failed = app_side.wait_for("AddParticipantFailed", cid, timeout=5)
    assert result_of(failed[0]) == (487, 10004)
    assert control.ok("GET", "/legs")["value"] == []
    assert journal(control, leg["serverCallId"])[-1] == ("noAnswer", "timeout")
    status, _ = control.call("POST", f"/legs/{leg['legId']}/answer")
    assert status == 404


def test_a_ringing_callee_hanging_up_declines(client, app_side: AppSide, control: Control) -> None:
    connection, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.endpoint(USER_B, "ring")
    connection.add_participant(CommunicationUserIdentifier(USER_B))
    leg = ringing(control, USER_B)
    reply = control.ok("POST", f"/legs/{leg['legId']}/hangup")
    assert reply["outcome"] == "declined"
    assert result_of(app_side.wait_for("AddParticipantFailed", cid)[0]) == (603, 0)
    assert journal(control, leg["serverCallId"])[-1] == ("declined", "control")


def test_acting_first_preempts_a_delayed_script(client, app_side: AppSide, control: Control) -> None:
    control.endpoint(USER_B, "answer", delay=30)
    connection, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    connection.add_participant(CommunicationUserIdentifier(USER_B))
    leg = ringing(control, USER_B)
    assert leg["behavior"] == "answer"
    control.ok("POST", f"/legs/{leg['legId']}/decline")  # no body: plain "declined"
    assert result_of(app_side.wait_for("AddParticipantFailed", cid)[0]) == (603, 0)


def test_the_caller_hangs_up_before_the_app_answers(client, app_side: AppSide, control: Control) -> None:
    placed = control.incoming(PSTN_A, USER_B)
    legs = control.ok("GET", "/legs")["value"]
    [offer] = [leg for leg in legs if leg["legId"] == placed["eventId"]]
    assert offer["kind"] == "app" and offer["actions"] == ["hangup"]
    assert offer["caller"]["rawId"] == f"4:{PSTN_A}" and offer["callee"]["rawId"] == USER_B

    reply = control.ok("POST", f"/legs/{offer['legId']}/hangup")
    assert reply["outcome"] == "canceled" and reply["result"]["code"] == 487
    assert control.ok("GET", "/legs")["value"] == []
    with pytest.raises(ResourceNotFoundError):
        client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    [call] = [c for c in control.calls() if c["serverCallId"] == placed["serverCallId"]]
    assert call["ended"] and call["offers"][0]["status"] == "callerHungUp"
    assert journal(control, placed["serverCallId"]) == [("dialed", None), ("hungUp", "control")]


def test_a_connected_party_hangs_up_on_demand(client, app_side: AppSide, control: Control) -> None:
    _connection, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    server_call_id = app_side.events("CallConnected", cid)[0]["event"]["data"]["serverCallId"]
    control.ok("POST", "/remote-hangups", {"callConnectionId": cid, "participant": {"rawId": USER_A}})
    disconnected = app_side.wait_for("CallDisconnected", cid)
    assert result_of(disconnected[0]) == (200, 560000)
    assert journal(control, server_call_id)[-1] == ("hungUp", "control")


def test_bad_requests_get_clear_errors(client, app_side: AppSide, control: Control) -> None:
    assert control.call("POST", "/legs/nope/answer")[0] == 404
    assert control.call("POST", "/legs/nope/hangup")[0] == 404
    status, body = control.call("PATCH", "/settings", {"unscriptedBehavior": "explode"})
    assert status == 400 and "unscriptedBehavior must be one of" in body["error"]["message"]

    control.endpoint(USER_A, "ring")
    client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    leg = ringing(control, USER_A)
    status, body = control.call("POST", f"/legs/{leg['legId']}/decline", {"reason": "bored"})
    assert (
        status == 400
        and "reason must be one of: declined, busy, noAnswer, unreachable" in body["error"]["message"]
    )
    assert control.ok("GET", "/legs")["value"][0]["legId"] == leg["legId"]  # nothing changed

    placed = control.incoming(PSTN_A, USER_B)
    status, body = control.call("POST", f"/legs/{placed['eventId']}/answer")
    assert status == 409 and "the app answers" in body["error"]["message"]

    control.ok("POST", f"/legs/{leg['legId']}/answer")
    assert control.call("POST", f"/legs/{leg['legId']}/answer")[0] == 404  # no longer ringing


def test_reset_forgets_ringing_legs_and_the_unscripted_setting(
    client, app_side: AppSide, control: Control
) -> None:
    control.settings(unscriptedBehavior="ring")
    client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    ringing(control, USER_A)
    control.ok("POST", "/reset")
    assert control.ok("GET", "/legs")["value"] == []
    assert control.ok("GET", "/network-log")["value"] == []
    assert control.ok("GET", "/settings")["unscriptedBehavior"] == "answer"
