"""Transfer, hang up (leave vs terminate) and a remote party hanging up."""

from __future__ import annotations

import asyncio
import time

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier, PhoneNumberIdentifier
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator import EmulatorThread
from tests.integration.emulator.support import (
    CALLER_ID,
    PSTN_A,
    PSTN_B,
    USER_A,
    USER_B,
    USER_C,
    AppSide,
    Control,
    ResponseRecorder,
    connect_call,
)


def test_transfer_of_a_one_to_one_call_is_accepted_then_the_app_leaves(
    client, app_side: AppSide, recorder: ResponseRecorder
) -> None:
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    result = call.transfer_call_to_participant(
        CommunicationUserIdentifier(USER_B), operation_context="op-xfer"
    )
    assert result.operation_context == "op-xfer" and recorder.responses[-1]["status"] == 202
    accepted = app_side.wait_for("CallTransferAccepted", cid)[0]["event"]["data"]
    assert accepted["transferTarget"]["rawId"] == USER_B
    assert accepted["transferee"]["rawId"] == USER_A
    assert (accepted["resultInformation"]["code"], accepted["resultInformation"]["subCode"]) == (200, 7015)
    app_side.wait_for("CallDisconnected", cid)
    with pytest.raises(ResourceNotFoundError):
        call.get_call_properties()


def test_transfer_to_a_busy_target_fails_and_the_call_stays(
    client, app_side: AppSide, control: Control
) -> None:
    control.endpoint("4:" + PSTN_B, "busy")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.transfer_call_to_participant(
        PhoneNumberIdentifier(PSTN_B), operation_callback_url=app_side.url("/callbacks/xfer")
    )
    failed = app_side.wait_for("CallTransferFailed", cid)[0]
    assert failed["path"] == "/callbacks/xfer"
    assert failed["event"]["data"]["resultInformation"]["code"] == 486
    assert call.get_call_properties().call_connection_state == "connected"


def test_group_transfer_needs_a_transferee_and_replaces_it(client, app_side: AppSide) -> None:
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("ParticipantsUpdated", cid, count=2)
    with pytest.raises(HttpResponseError) as refused:
        call.transfer_call_to_participant(CommunicationUserIdentifier(USER_C))
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")
    call.transfer_call_to_participant(
        CommunicationUserIdentifier(USER_C), transferee=CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("CallTransferAccepted", cid)
    raw_ids = {p.identifier.raw_id for p in call.list_participants()}
    assert USER_C in raw_ids and USER_B not in raw_ids
    assert call.get_call_properties().call_connection_state == "connected"


def test_hang_up_leaves_and_later_calls_are_404_8522(client, app_side: AppSide, recorder) -> None:
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.hang_up(is_for_everyone=False)
    assert recorder.responses[-1]["status"] == 204
    disconnected = app_side.wait_for("CallDisconnected", cid)[0]["event"]["data"]
    assert "resultInformation" in disconnected
    with pytest.raises(ResourceNotFoundError) as gone:
        call.get_call_properties()
    assert gone.value.error.code == "8522"
    assert recorder.responses[-1]["body"]["error"]["target"] == f"/calling/callConnections/{cid}"
    with pytest.raises(ResourceNotFoundError):
        call.hang_up(is_for_everyone=True)


def test_leaving_a_group_call_keeps_it_going_for_the_others(
    client, app_side: AppSide, control: Control
) -> None:
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("ParticipantsUpdated", cid, count=2)
    call.hang_up(is_for_everyone=False)
    app_side.wait_for("CallDisconnected", cid)
    [described] = [c for c in control.calls() if c["connections"][0]["callConnectionId"] == cid]
    assert described["ended"] is False
    assert {p["identifier"]["rawId"] for p in described["participants"]} == {USER_A, USER_B}


def test_terminate_ends_the_call_for_everyone(client, app_side: AppSide, control: Control) -> None:
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    call.hang_up(is_for_everyone=True)
    app_side.wait_for("CallDisconnected", cid)
    [described] = [c for c in control.calls() if c["connections"][0]["callConnectionId"] == cid]
    assert described["ended"] is True and described["participants"] == []


def test_remote_party_hanging_up_ends_a_one_to_one_call(client, app_side: AppSide, control: Control) -> None:
    _call, cid = connect_call(
        client,
        app_side,
        PhoneNumberIdentifier(PSTN_A),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    control.ok("POST", "/remote-hangups", {"callConnectionId": cid, "participant": {"phoneNumber": PSTN_A}})
    data = app_side.wait_for("CallDisconnected", cid)[0]["event"]["data"]
    assert (data["resultInformation"]["code"], data["resultInformation"]["subCode"]) == (200, 560000)


def test_remote_party_leaving_a_group_call_updates_the_roster(
    client, app_side: AppSide, control: Control
) -> None:
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("ParticipantsUpdated", cid, count=2)
    control.ok("POST", "/remote-hangups", {"callConnectionId": cid, "participant": {"rawId": USER_B}})
    roster = app_side.wait_for("ParticipantsUpdated", cid, count=3)[-1]["event"]["data"]
    assert USER_B not in {p["identifier"]["rawId"] for p in roster["participants"]}
    assert call.get_call_properties().call_connection_state == "connected"
    status, _reply = control.call(
        "POST", "/remote-hangups", {"callConnectionId": cid, "participant": {"rawId": USER_C}}
    )
    assert status == 404


def _participants(control: Control, cid: str) -> set[str]:
    return {p["identifier"]["rawId"] for p in control.ok("GET", f"/calls/{cid}")["participants"]}


def _dialing_finished(emulator: EmulatorThread, cid: str) -> None:
    """Wait (on the emulator's loop) until the task ringing the call's targets has returned."""

    async def finished() -> None:
        task = emulator.services.registry.connections[cid].dialing
        if task is not None:
            await asyncio.wait({task})

    emulator.run(finished())


def test_remote_hang_up_between_answer_and_connected_sends_nothing_after_disconnected(
    client, app_side: AppSide, control: Control, emulator: EmulatorThread
) -> None:
    control.settings(connectDelaySeconds=1.0)
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    cid = props.call_connection_id
    deadline = time.monotonic() + 5
    while USER_A not in _participants(control, cid):  # answered; CallConnected still pending
        assert time.monotonic() < deadline, "the target never answered"
        time.sleep(0.01)
    control.ok("POST", "/remote-hangups", {"callConnectionId": cid, "participant": {"rawId": USER_A}})
    app_side.wait_for("CallDisconnected", cid)
    _dialing_finished(emulator, cid)
    control.ok("GET", "/callbacks?wait=idle")
    assert [r["type"] for r in app_side.events(connection_id=cid)] == ["CallDisconnected"]
    [connection] = control.ok("GET", f"/calls/{cid}")["connections"]
    assert connection["state"] == "disconnected"
