"""Reject, redirect, context expiry, and calls to numbers of this resource raising IncomingCall."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.communication.callautomation.aio import CallAutomationClient as AsyncClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator import EmulatorThread
from tests.integration.emulator.support import (
    ACCESS_KEY,
    CALLER_ID,
    PSTN_A,
    PSTN_B,
    USER_A,
    USER_B,
    AppSide,
    Control,
    ResponseRecorder,
    connect_call,
)

RESOURCE_NUMBER = "+18005550999"


def _call_state(control: Control, server_call_id: str) -> dict[str, Any]:
    [call] = [c for c in control.calls() if c["serverCallId"] == server_call_id]
    return call


@pytest.mark.parametrize("reason", ["none", "busy", "forbidden"])
def test_reject_is_204_without_callbacks_and_ends_the_call(
    client: CallAutomationClient,
    control: Control,
    app_side: AppSide,
    recorder: ResponseRecorder,
    reason: str,
) -> None:
    placed = control.incoming(PSTN_A, CALLER_ID)
    client.reject_call(placed["incomingCallContext"], call_reject_reason=reason)
    assert recorder.responses[-1]["status"] == 204
    assert _call_state(control, placed["serverCallId"])["ended"] is True
    with pytest.raises(ResourceNotFoundError):
        client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    assert app_side.callbacks == []


def test_reject_with_an_unknown_reason_is_400(client: CallAutomationClient, control: Control) -> None:
    from tests.integration.emulator.support import signed_request

    placed = control.incoming(PSTN_A, CALLER_ID)
    body = f'{{"incomingCallContext": "{placed["incomingCallContext"]}", "callRejectReason": "rude"}}'
    status, _, reply = signed_request(
        control.base.removesuffix("/emulator"),
        "POST",
        "/calling/callConnections:reject?api-version=2026-03-12",
        body.encode(),
    )
    assert (status, reply["error"]["code"]) == (400, "8523")


def test_redirect_to_an_external_number_connects_caller_and_target(
    client: CallAutomationClient, control: Control, app_side: AppSide
) -> None:
    placed = control.incoming(PSTN_A, CALLER_ID)
    client.redirect_call(placed["incomingCallContext"], PhoneNumberIdentifier(PSTN_B))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        roster = {
            p["identifier"]["rawId"] for p in _call_state(control, placed["serverCallId"])["participants"]
        }
        if roster == {"4:" + PSTN_A, "4:" + PSTN_B}:
            break
        time.sleep(0.02)
    assert roster == {"4:" + PSTN_A, "4:" + PSTN_B}
    assert app_side.callbacks == []


def test_redirect_to_an_acs_user_raises_a_new_incoming_call(
    client: CallAutomationClient, control: Control, app_side: AppSide
) -> None:
    placed = control.incoming(PSTN_A, CALLER_ID)
    client.redirect_call(placed["incomingCallContext"], CommunicationUserIdentifier(USER_A))
    deadline = time.monotonic() + 5
    while len(app_side.notifications()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    [_first, second] = app_side.notifications()
    event = second["body"][0]
    assert event["data"]["to"]["rawId"] == USER_A
    assert event["data"]["from"]["rawId"] == "4:" + PSTN_A
    assert event["data"]["serverCallId"] == placed["serverCallId"]
    assert event["data"]["incomingCallContext"] != placed["incomingCallContext"]
    props = client.answer_call(event["data"]["incomingCallContext"], app_side.url("/callbacks"))
    app_side.wait_for("CallConnected", props.call_connection_id)


def test_incoming_call_context_expires(
    client: CallAutomationClient, control: Control, app_side: AppSide
) -> None:
    control.settings(incomingCallTtlSeconds=0.2)
    placed = control.incoming(PSTN_A, CALLER_ID)
    time.sleep(0.3)
    with pytest.raises(ResourceNotFoundError) as expired:
        client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    assert expired.value.error.code == "8522"
    assert _call_state(control, placed["serverCallId"])["ended"] is True


def test_unknown_context_is_400_8523(client: CallAutomationClient, app_side: AppSide) -> None:
    with pytest.raises(HttpResponseError) as refused:
        client.answer_call("not-a-context", app_side.url("/callbacks"))
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")


@pytest.fixture
def answering_app(emulator: EmulatorThread, app_side: AppSide, control: Control) -> list[Any]:
    """The app answers every IncomingCall to a number of this resource while it is delivered."""
    control.ok("PUT", "/resource-numbers", {"numbers": [RESOURCE_NUMBER]})
    answered: list[Any] = []

    async def answer(event: dict[str, Any]) -> None:
        async with AsyncClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY)) as aio_client:
            answered.append(
                await aio_client.answer_call(
                    event["data"]["incomingCallContext"], app_side.url("/callbacks/second-leg")
                )
            )

    app_side.on_incoming = answer
    return answered


def test_add_participant_to_a_resource_number_goes_through_incoming_call(
    client: CallAutomationClient, app_side: AppSide, answering_app: list[Any]
) -> None:
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.add_participant(
        PhoneNumberIdentifier(RESOURCE_NUMBER), source_caller_id_number=PhoneNumberIdentifier(CALLER_ID)
    )
    app_side.wait_for("AddParticipantSucceeded", cid)
    [event] = app_side.notifications()[-1]["body"]
    assert event["data"]["to"]["rawId"] == "4:" + RESOURCE_NUMBER
    assert event["data"]["from"]["rawId"] == "4:" + CALLER_ID
    [second_leg] = answering_app
    assert second_leg.server_call_id == call.get_call_properties().server_call_id
    app_side.wait_for("CallConnected", second_leg.call_connection_id)


def test_transfer_to_a_resource_number_rejected_by_the_app_fails(
    client: CallAutomationClient, emulator: EmulatorThread, app_side: AppSide, control: Control
) -> None:
    control.ok("PUT", "/resource-numbers", {"numbers": [RESOURCE_NUMBER]})

    async def reject(event: dict[str, Any]) -> None:
        async with AsyncClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY)) as aio_client:
            await aio_client.reject_call(event["data"]["incomingCallContext"], call_reject_reason="busy")

    app_side.on_incoming = reject
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_B))
    call.transfer_call_to_participant(PhoneNumberIdentifier(RESOURCE_NUMBER))
    failed = app_side.wait_for("CallTransferFailed", cid)[0]["event"]["data"]
    assert failed["resultInformation"]["code"] == 486


def test_create_call_to_a_resource_number_connects_when_the_app_answers(
    client: CallAutomationClient, app_side: AppSide, answering_app: list[Any]
) -> None:
    props = client.create_call(
        PhoneNumberIdentifier(RESOURCE_NUMBER),
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    app_side.wait_for("CallConnected", props.call_connection_id)
    assert len(answering_app) == 1


def test_resource_numbers_come_from_the_cli_config_too(app_side: AppSide) -> None:
    from emulator import start_in_thread
    from tests.integration.emulator.conftest import make_config

    running = start_in_thread(make_config(app_side, resource_numbers=frozenset({RESOURCE_NUMBER})))
    try:
        numbers = Control(running.base_url).ok("GET", "/resource-numbers")["numbers"]
        assert numbers == [RESOURCE_NUMBER]
    finally:
        running.stop()
