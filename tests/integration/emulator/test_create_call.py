"""CreateCall (1:1 and group) driven through the official sync client, with each phone behaviour."""

from __future__ import annotations

import time

import pytest
from azure.communication.callautomation import (
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.integration.emulator.support import (
    CALLER_ID,
    PSTN_A,
    PSTN_B,
    USER_A,
    AppSide,
    Control,
    ResponseRecorder,
)


def test_create_call_to_acs_user_is_201_connecting_then_connected(
    client, app_side: AppSide, recorder: ResponseRecorder
) -> None:
    props = client.create_call(
        CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"), operation_context="op-create"
    )
    assert props.call_connection_state == "connecting"
    assert props.server_call_id is None  # live CreateCall 201s carry none
    assert isinstance(props.targets[0], CommunicationUserIdentifier)
    created = recorder.responses[-1]
    assert created["status"] == 201
    assert created["body"]["sourceDisplayName"] == ""
    assert created["headers"]["X-Microsoft-Skype-Chain-ID"] == created["body"]["correlationId"]
    assert created["headers"]["Repeatability-Result"] == "accepted"

    connected = app_side.wait_for("CallConnected", props.call_connection_id)[0]["event"]
    assert connected["data"]["operationContext"] == "op-create"
    roster = app_side.wait_for("ParticipantsUpdated", props.call_connection_id)[0]["event"]["data"]
    raw_ids = {p["identifier"]["rawId"] for p in roster["participants"]}
    assert raw_ids == {USER_A, props.source.raw_id}
    assert roster["sequenceNumber"] == 1
    state = client.get_call_connection(props.call_connection_id).get_call_properties()
    assert state.call_connection_state == "connected"
    assert state.server_call_id == connected["data"]["serverCallId"]


def test_pstn_target_without_caller_id_is_refused_like_acs(client, app_side: AppSide) -> None:
    with pytest.raises(HttpResponseError) as refused:
        client.create_call(PhoneNumberIdentifier(PSTN_A), app_side.url("/callbacks"))
    assert refused.value.status_code == 400
    assert refused.value.error.code == "8523"


def test_pstn_call_with_caller_id_connects(client, app_side: AppSide) -> None:
    props = client.create_call(
        PhoneNumberIdentifier(PSTN_A),
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
        source_display_name="Bot",
    )
    assert props.source_caller_id_number.raw_id == "4:" + CALLER_ID
    assert props.source_display_name == "Bot"
    app_side.wait_for("CallConnected", props.call_connection_id)


def test_group_call_connects_with_the_targets_that_answer(
    client, app_side: AppSide, control: Control
) -> None:
    control.endpoint("4:" + PSTN_B, "decline")
    props = client.create_call(
        [CommunicationUserIdentifier(USER_A), PhoneNumberIdentifier(PSTN_B)],
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    roster = app_side.wait_for("ParticipantsUpdated", props.call_connection_id)[0]["event"]["data"]
    raw_ids = {p["identifier"]["rawId"] for p in roster["participants"]}
    assert USER_A in raw_ids and "4:" + PSTN_B not in raw_ids
    assert app_side.events("CreateCallFailed", props.call_connection_id) == []


@pytest.mark.parametrize(
    ("behavior", "code", "sub_code"),
    [("busy", 486, 560486), ("decline", 603, 0), ("unreachable", 480, 10037), ("noAnswer", 487, 10004)],
)
def test_failed_call_reports_create_call_failed_then_disconnected(
    client, app_side: AppSide, control: Control, behavior: str, code: int, sub_code: int
) -> None:
    control.settings(ringTimeoutSeconds=0.2)
    control.endpoint("4:" + PSTN_A, behavior)
    props = client.create_call(
        PhoneNumberIdentifier(PSTN_A),
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
        operation_context="ctx",
    )
    failed = app_side.wait_for("CreateCallFailed", props.call_connection_id)[0]["event"]["data"]
    assert failed["resultInformation"]["code"] == code
    assert failed["resultInformation"]["subCode"] == sub_code
    assert failed["operationContext"] == "ctx"
    app_side.wait_for("CallDisconnected", props.call_connection_id)
    assert app_side.events("CallConnected", props.call_connection_id) == []
    with pytest.raises(ResourceNotFoundError):
        client.get_call_connection(props.call_connection_id).get_call_properties()


def test_answer_after_a_delay_keeps_the_call_connecting_until_then(
    client, app_side: AppSide, control: Control
) -> None:
    control.endpoint(USER_A, "answer", delay=0.3)
    started = time.monotonic()
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    state = client.get_call_connection(props.call_connection_id).get_call_properties()
    assert state.call_connection_state == "connecting"
    connected = app_side.wait_for("CallConnected", props.call_connection_id)[0]
    assert connected["received"] - started >= 0.3


def test_hanging_up_while_ringing_cancels_the_call(client, app_side: AppSide, control: Control) -> None:
    control.endpoint(USER_A, "answer", delay=5)
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    client.get_call_connection(props.call_connection_id).hang_up(is_for_everyone=False)
    app_side.wait_for("CallDisconnected", props.call_connection_id)
    assert app_side.events("CallConnected", props.call_connection_id) == []


def _offer_statuses(control: Control, cid: str) -> list[str]:
    return [offer["status"] for offer in control.ok("GET", f"/calls/{cid}")["offers"]]


@pytest.mark.parametrize("for_everyone", [False, True])
def test_ending_a_ringing_call_stops_every_ring_and_cancels_the_apps_offer(
    client, app_side: AppSide, control: Control, for_everyone: bool
) -> None:
    resource_number = "+18005550199"
    control.ok("PUT", "/resource-numbers", {"numbers": [resource_number]})
    control.endpoint("4:" + PSTN_B, "noAnswer")
    props = client.create_call(
        [PhoneNumberIdentifier(resource_number), PhoneNumberIdentifier(PSTN_B)],
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    cid = props.call_connection_id
    deadline = time.monotonic() + 5
    while not app_side.notifications():  # the app's number is ringing (IncomingCall delivered)
        assert time.monotonic() < deadline, "no IncomingCall for the resource number"
        time.sleep(0.01)
    assert _offer_statuses(control, cid) == ["pending"]
    client.get_call_connection(cid).hang_up(is_for_everyone=for_everyone)
    app_side.wait_for("CallDisconnected", cid)
    deadline = time.monotonic() + 5
    while _offer_statuses(control, cid) != ["canceled"]:
        assert time.monotonic() < deadline, f"offer still {_offer_statuses(control, cid)}"
        time.sleep(0.01)
