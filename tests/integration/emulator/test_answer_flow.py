"""Milestone 1: an IncomingCall reaches the app over Event Grid, the app answers with the
official SDK, and signed CallConnected + ParticipantsUpdated callbacks follow."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.communication.callautomation.aio import CallAutomationClient as AsyncCallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from emulator import EmulatorThread
from tests.integration.emulator.support import ACCESS_KEY, AppSide, post_json

CALLER = "+14255550100"
CALLEE = "+18005550123"


def place_call(emulator: EmulatorThread, **extra: Any) -> dict[str, Any]:
    body = {"from": {"phoneNumber": CALLER}, "to": {"phoneNumber": CALLEE}, **extra}
    status, reply = post_json(emulator.base_url + "/emulator/incoming-calls", body)
    assert status == 201, reply
    return reply  # type: ignore[no-any-return]


def test_answer_with_sync_sdk_returns_connecting_and_signed_callbacks_follow(
    emulator: EmulatorThread, app_side: AppSide
) -> None:
    placed = place_call(emulator)
    client = CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY))

    props = client.answer_call(
        placed["incomingCallContext"], app_side.url("/callbacks"), operation_context="op-answer"
    )

    assert props.call_connection_state == "connecting"
    assert props.server_call_id == placed["serverCallId"]
    assert props.correlation_id == placed["correlationId"]
    assert isinstance(props.source, PhoneNumberIdentifier)
    assert props.source.raw_id == "4:" + CALLER
    assert [t.raw_id for t in props.targets] == ["4:" + CALLEE]
    connection_id = props.call_connection_id

    connected = app_side.wait_for("CallConnected", connection_id)[0]
    updated = app_side.wait_for("ParticipantsUpdated", connection_id)[0]
    assert connected["received"] <= updated["received"]
    for record in (connected, updated):
        assert record["token_error"] is None
        assert record["claims"]["aud"] == app_side.audience
        assert record["claims"]["iss"] == emulator.base_url
        assert record["claims"]["exp"] - record["claims"]["iat"] == 300
        assert record["batch_size"] == 1
    event = connected["event"]
    assert event["source"] == event["subject"] == f"calling/callConnections/{connection_id}"
    assert event["data"]["operationContext"] == "op-answer"
    assert event["data"]["publicEventType"] == "Microsoft.Communication.CallConnected"
    assert event["data"]["version"] == "2026-03-12"
    data = updated["event"]["data"]
    assert data["sequenceNumber"] == 1
    assert [p["identifier"]["rawId"] for p in data["participants"]] == ["4:" + CALLER, "4:" + CALLEE]
    assert data["participants"][0]["identifier"]["phoneNumber"] == {"value": CALLER}

    got = client.get_call_connection(connection_id).get_call_properties()
    assert got.call_connection_state == "connected"


def test_incoming_call_is_validated_then_delivered_and_answered_during_delivery(
    emulator: EmulatorThread, app_side: AppSide
) -> None:
    answered: list[Any] = []

    async def answer(event: dict[str, Any]) -> None:
        # The app answers while Event Grid still waits for its reply: the emulator must cope.
        async with AsyncCallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY)) as client:
            answered.append(
                await client.answer_call(event["data"]["incomingCallContext"], app_side.url("/callbacks"))
            )

    app_side.on_incoming = answer
    placed = place_call(
        emulator,
        callerDisplayName="Jane",
        customContext={"sipHeaders": {"X-MS-Custom-a": "1"}, "voipHeaders": {"k": "v"}},
    )

    assert placed["deliveryStatus"] == 200
    kinds = [d["kind"] for d in app_side.eventgrid]
    assert kinds == ["SubscriptionValidation", "Notification"]
    delivery = app_side.eventgrid[1]
    assert delivery["headers"]["aeg-delivery-count"] == "0"
    [event] = delivery["body"]
    assert event["id"] == placed["eventId"]
    assert event["eventType"] == "Microsoft.Communication.IncomingCall"
    assert event["subject"] == f"/caller/4:{CALLER}/recipient/4:{CALLEE}"
    assert (event["dataVersion"], event["metadataVersion"]) == ("1.0", "1")
    assert event["topic"].startswith("/subscriptions/")
    data = event["data"]
    assert data["from"] == {"rawId": "4:" + CALLER, "kind": "phoneNumber", "phoneNumber": {"value": CALLER}}
    assert data["callerDisplayName"] == "Jane"
    assert data["customContext"]["sipHeaders"] == {"X-MS-Custom-a": "1"}
    assert data["incomingCallContext"] == placed["incomingCallContext"]
    assert data["serverCallId"] == placed["serverCallId"]
    assert answered and answered[0].call_connection_state == "connecting"
    app_side.wait_for("ParticipantsUpdated", answered[0].call_connection_id)

    # a second incoming call needs no second handshake
    place_call(emulator)
    assert [d["kind"] for d in app_side.eventgrid].count("SubscriptionValidation") == 1


def test_answer_twice_with_the_same_context_is_refused(emulator: EmulatorThread, app_side: AppSide) -> None:
    from azure.core.exceptions import HttpResponseError

    placed = place_call(emulator)
    client = CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY))
    client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    with pytest.raises(HttpResponseError) as failure:
        client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    assert failure.value.status_code == 409


def test_answer_by_acs_user_callee_uses_typed_identifiers(
    emulator: EmulatorThread, app_side: AppSide
) -> None:
    user = "8:acs:" + "1" * 8 + "_bot"
    status, placed = post_json(
        emulator.base_url + "/emulator/incoming-calls",
        {"from": {"rawId": "4:" + CALLER}, "to": {"communicationUserId": user}},
    )
    assert status == 201
    client = CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY))
    props = client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    assert isinstance(props.targets[0], CommunicationUserIdentifier)
    assert props.targets[0].raw_id == user


ANONYMOUS_WIRE = {
    "rawId": "4:anonymous",
    "kind": "phoneNumber",
    "phoneNumber": {"value": "anonymous", "isAnonymous": True},
}


def test_a_withheld_caller_id_rings_answers_and_can_be_removed(
    emulator: EmulatorThread, app_side: AppSide
) -> None:
    placed = place_call(emulator, **{"from": {"rawId": "4:anonymous"}})
    [delivery] = app_side.notifications()
    assert delivery["body"][0]["data"]["from"] == ANONYMOUS_WIRE
    client = CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY))
    props = client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    assert props.source.raw_id == "4:anonymous" and props.source.properties["is_anonymous"] is True
    roster = app_side.wait_for("ParticipantsUpdated", props.call_connection_id)[0]["event"]["data"]
    assert ANONYMOUS_WIRE in [p["identifier"] for p in roster["participants"]]
    call = client.get_call_connection(props.call_connection_id)
    anonymous = PhoneNumberIdentifier("anonymous", raw_id="4:anonymous")
    assert call.get_participant(anonymous).identifier.raw_id == "4:anonymous"
    call.remove_participant(anonymous)
    removed = app_side.wait_for("RemoveParticipantSucceeded", props.call_connection_id)[0]["event"]
    assert removed["data"]["participant"] == ANONYMOUS_WIRE


def test_a_caller_with_an_asserted_id_keeps_it_on_the_wire(
    emulator: EmulatorThread, app_side: AppSide
) -> None:
    place_call(emulator, **{"from": {"rawId": f"4:{CALLER}_a1b2"}})
    [delivery] = app_side.notifications()
    assert delivery["body"][0]["data"]["from"] == {
        "rawId": f"4:{CALLER}_a1b2",
        "kind": "phoneNumber",
        "phoneNumber": {"value": CALLER, "assertedId": "a1b2"},
    }


def test_an_anonymous_number_cannot_be_called(emulator: EmulatorThread, app_side: AppSide) -> None:
    client = CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY))
    with pytest.raises(HttpResponseError) as refused:
        client.create_call(
            PhoneNumberIdentifier("anonymous", raw_id="4:anonymous"),
            app_side.url("/callbacks"),
            source_caller_id_number=PhoneNumberIdentifier(CALLEE),
        )
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")
    status, reply = post_json(
        emulator.base_url + "/emulator/incoming-calls",
        {"from": {"phoneNumber": CALLER}, "to": {"rawId": "4:anonymous"}},
    )
    assert status == 400, reply
