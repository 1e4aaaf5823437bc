"""Every response and callback the emulator produced in a full scenario, checked against the
official swagger (schemas built at run time) and field by field against recorded live payloads."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.core.exceptions import HttpResponseError

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
from tests.integration.emulator.swagger import Swagger

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,7}\+00:00$")
LIVE_EXTRA_DATA = {"version", "publicEventType", "resultInformation", "operationContext"}


def _run_scenario(client: CallAutomationClient, app_side: AppSide, control: Control) -> None:
    """Touch every operation once, successes and typical refusals."""
    placed = control.incoming(
        PSTN_A,
        CALLER_ID,
        callerDisplayName="Caller",
        customContext={"sipHeaders": {"userToUser": "00"}, "voipHeaders": {"a": "b"}},
    )
    answered = client.answer_call(
        placed["incomingCallContext"], app_side.url("/callbacks"), operation_context="answer"
    )
    app_side.wait_for("ParticipantsUpdated", answered.call_connection_id)
    call, cid = connect_call(
        client,
        app_side,
        CommunicationUserIdentifier(USER_A),
        CommunicationUserIdentifier(USER_B),
        operation_context="create",
    )
    call.get_call_properties()
    list(call.list_participants())
    call.get_participant(CommunicationUserIdentifier(USER_A))
    call.add_participant(
        PhoneNumberIdentifier(PSTN_B),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
        operation_context="add",
    )
    app_side.wait_for("AddParticipantSucceeded", cid)
    control.endpoint(USER_C, "decline")
    call.add_participant(CommunicationUserIdentifier(USER_C))
    app_side.wait_for("AddParticipantFailed", cid)
    control.endpoint(USER_C, "answer", delay=5)
    invitation = call.add_participant(CommunicationUserIdentifier(USER_C)).invitation_id
    call.cancel_add_participant_operation(invitation, operation_context="cancel")
    app_side.wait_for("CancelAddParticipantSucceeded", cid)
    call.mute_participant(CommunicationUserIdentifier(USER_A), operation_context="mute")
    call.remove_participant(PhoneNumberIdentifier(PSTN_B), operation_context="remove")
    app_side.wait_for("RemoveParticipantSucceeded", cid)
    for refused in (
        lambda: call.get_participant(CommunicationUserIdentifier("8:acs:nobody")),
        lambda: client.get_call_connection("no-such-call").get_call_properties(),
        lambda: call.mute_participant(PhoneNumberIdentifier(CALLER_ID)),
    ):
        with pytest.raises(HttpResponseError):
            refused()
    control.endpoint(USER_C, "answer")
    call.transfer_call_to_participant(
        CommunicationUserIdentifier(USER_C), transferee=CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("CallTransferAccepted", cid)
    _, solo = connect_call(client, app_side, CommunicationUserIdentifier(USER_B))
    client.get_call_connection(solo).transfer_call_to_participant(CommunicationUserIdentifier(USER_A))
    app_side.wait_for("CallDisconnected", solo)
    control.endpoint("4:" + PSTN_B, "busy")
    _, failing = connect_call(client, app_side, CommunicationUserIdentifier(USER_C))
    client.get_call_connection(failing).transfer_call_to_participant(PhoneNumberIdentifier(PSTN_B))
    app_side.wait_for("CallTransferFailed", failing)
    props = client.create_call(
        PhoneNumberIdentifier(PSTN_B),
        app_side.url("/callbacks"),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    app_side.wait_for("CreateCallFailed", props.call_connection_id)
    rejected = control.incoming(PSTN_A, CALLER_ID)
    client.reject_call(rejected["incomingCallContext"])
    redirected = control.incoming(PSTN_A, CALLER_ID)
    client.redirect_call(redirected["incomingCallContext"], PhoneNumberIdentifier(PSTN_A))
    call.hang_up(is_for_everyone=False)
    client.get_call_connection(answered.call_connection_id).hang_up(is_for_everyone=True)
    app_side.wait_for("CallDisconnected", cid)


@pytest.fixture
def scenario(
    client: CallAutomationClient, app_side: AppSide, control: Control, recorder: ResponseRecorder
) -> ResponseRecorder:
    _run_scenario(client, app_side, control)
    control.ok("GET", "/callbacks?wait=idle")
    return recorder


def _swagger_path(swagger: Swagger, method: str, path: str) -> str:
    for template, operations in swagger.spec["paths"].items():
        if method.lower() not in operations:
            continue
        pattern = re.escape(template)
        pattern = pattern.replace(re.escape("{callConnectionId}"), "[^/:]+")
        pattern = pattern.replace(re.escape("{participantRawId}"), "[^/]+")
        if re.fullmatch(pattern, path):
            return template
    raise AssertionError(f"no swagger path for {method} {path}")


def test_every_response_matches_the_swagger(scenario: ResponseRecorder, swagger: Swagger) -> None:
    seen: set[tuple[str, str]] = set()
    for response in scenario.responses:
        template = _swagger_path(swagger, response["method"], response["path"])
        seen.add((response["method"], template))
        if response["status"] >= 400:
            swagger.validate(response["body"], "CommunicationErrorResponse")
            continue
        declared = swagger.spec["paths"][template][response["method"].lower()]["responses"]
        assert str(response["status"]) in declared, (response["status"], template)
        definition = swagger.response_definition(template, response["method"], response["status"])
        if definition is None:
            assert response["body"] is None
        else:
            swagger.validate(response["body"], definition)
    call_control = {
        (method.upper(), path)
        for path, operations in swagger.spec["paths"].items()
        for method, operation in operations.items()
        if operation.get("operationId", "").removeprefix("CallConnection_")
        in {
            "CreateCall",
            "AnswerCall",
            "RedirectCall",
            "RejectCall",
            "GetCall",
            "HangupCall",
            "TerminateCall",
            "TransferToParticipant",
            "GetParticipants",
            "GetParticipant",
            "AddParticipant",
            "RemoveParticipant",
            "CancelAddParticipant",
            "Mute",
        }
    }
    assert call_control <= seen, call_control - seen


def test_every_callback_matches_the_swagger_and_carries_a_valid_token(
    scenario: ResponseRecorder, app_side: AppSide, swagger: Swagger
) -> None:
    types = set()
    for record in app_side.events():
        assert record["token_error"] is None
        swagger.validate_callback(record["event"])
        types.add(record["type"])
    assert types >= {
        "CallConnected",
        "ParticipantsUpdated",
        "AddParticipantSucceeded",
        "AddParticipantFailed",
        "CancelAddParticipantSucceeded",
        "RemoveParticipantSucceeded",
        "CallTransferAccepted",
        "CallTransferFailed",
        "CreateCallFailed",
        "CallDisconnected",
    }


def test_incoming_call_events_match_the_schema_and_the_official_example(
    scenario: ResponseRecorder, app_side: AppSide, swagger: Swagger, acs_contract: Path
) -> None:
    example = json.loads((acs_contract / "events/eventgrid/incoming_call.eventgrid-schema.json").read_text())
    recorded = json.loads(
        (acs_contract / "events/callbacks/recorded-2023-09/IncomingCall.data.pstn.json").read_text()
    )
    notifications = app_side.notifications()
    assert notifications
    for delivery in notifications:
        [event] = delivery["body"]
        swagger.validate_incoming_call(event)
        assert set(event) == set(example)
        assert set(event["data"]) == set(example["data"]) - {"onBehalfOfCallee"}
        assert set(recorded) <= set(event["data"])
        assert set(event["data"]["customContext"]) == set(example["data"]["customContext"])
        assert event["subject"] == (
            f"/caller/{event['data']['from']['rawId']}/recipient/{event['data']['to']['rawId']}"
        )
        assert (event["dataVersion"], event["metadataVersion"]) == (
            example["dataVersion"],
            example["metadataVersion"],
        )
        assert delivery["headers"]["aeg-event-type"] == "Notification"
        assert delivery["headers"]["aeg-output-event-id"] == event["id"]
    assert notifications[0]["body"][0]["data"]["customContext"]["sipHeaders"] == {"userToUser": "00"}


def _recorded(acs_contract: Path, name: str) -> dict[str, Any]:
    loaded = json.loads((acs_contract / "events/callbacks" / name).read_text())
    return loaded[0] if isinstance(loaded, list) else loaded


def _same_shape(ours: Any, theirs: Any, where: str) -> None:
    """Every field the live payload has, ours has too, with the same JSON type (recursively)."""
    assert type(ours) is type(theirs) or {type(ours), type(theirs)} <= {int, float}, where
    if isinstance(theirs, dict) and "kind" in theirs and ours.get("kind") != theirs["kind"]:
        # identifiers of different kinds: each must be in full form for its own kind
        assert {"rawId", "kind", ours["kind"]} <= set(ours), where
        return
    if isinstance(theirs, dict):
        missing = set(theirs) - set(ours)
        assert not missing, f"{where}: missing {missing}"
        for key in theirs:
            _same_shape(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list) and theirs and ours:
        _same_shape(ours[0], theirs[0], f"{where}[0]")


@pytest.mark.parametrize(
    "recording",
    [
        "recorded-2023-09/CallConnected.json",
        "recorded-2023-09/CallDisconnected.json",
        "recorded-2023-09/ParticipantsUpdated.json",
        "recorded-2023-09/ParticipantsUpdated.pstn.json",
        "other-captures/CallTransferAccepted.json",
    ],
)
def test_callbacks_have_the_fields_of_the_live_recordings(
    scenario: ResponseRecorder, app_side: AppSide, acs_contract: Path, recording: str
) -> None:
    live = _recorded(acs_contract, recording)
    kind = live["type"].rsplit(".", 1)[-1]
    ours = app_side.events(kind)
    assert ours, kind
    for record in ours:
        event = record["event"]
        assert list(event) == list(live), "envelope fields and their order"
        _same_shape(event, live, kind)
        assert set(event["data"]) - set(live["data"]) <= LIVE_EXTRA_DATA
        assert TIME.match(event["time"]) and TIME.match(live["time"])
        assert (
            event["source"]
            == event["subject"]
            == f"calling/callConnections/{event['data']['callConnectionId']}"
        )
        assert base64.b64decode(event["data"]["serverCallId"]).startswith(b"https://")
        assert event["data"]["publicEventType"] == event["type"]


def test_call_disconnected_has_the_fields_of_the_2024_live_data(
    scenario: ResponseRecorder, app_side: AppSide, acs_contract: Path
) -> None:
    live = _recorded(acs_contract, "other-captures/CallDisconnected.data.2024-09-15.json")
    for record in app_side.events("CallDisconnected"):
        data = record["event"]["data"]
        _same_shape(data, {k: v for k, v in live.items() if k != "operationContext"}, "CallDisconnected")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d(-preview)?", data["version"])


def test_rest_bodies_have_the_fields_of_recorded_live_exchanges(
    scenario: ResponseRecorder, acs_contract: Path
) -> None:
    recorded: dict[tuple[str, str, int], Any] = {}
    for path in sorted((acs_contract / "examples/recorded-http").glob("*.json")):
        for entry in json.loads(path.read_text())["Entries"]:
            operation = re.sub(r"^https://[^/]+", "", entry["RequestUri"]).split("?")[0]
            operation = re.sub(r"callConnections/[0-9a-f-]{36}", "callConnections/{id}", operation)
            recorded.setdefault(
                (entry["RequestMethod"], operation, entry["StatusCode"]), entry["ResponseBody"]
            )
    checked = 0
    for response in scenario.responses:
        path = re.sub(r"callConnections/[0-9a-f-]{36}", "callConnections/{id}", response["path"])
        live = recorded.get((response["method"], path, response["status"]))
        if live is None:
            continue
        checked += 1
        if live == {}:
            assert response["body"] in ({}, {"operationContext": response["body"].get("operationContext")})
        elif live is not None:
            live = {
                k: v
                for k, v in live.items()
                if k not in ("mediaSubscriptionId", "dataSubscriptionId", "mediaStreamingSubscription")
            }
            if path == "/calling/callConnections:answer":
                live.pop("answeredBy", None)
            _same_shape(response["body"], live, f"{response['method']} {path}")
    assert checked >= 6


def test_the_schema_check_rejects_what_acs_would_not_send(swagger: Swagger) -> None:
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        swagger.validate({"callConnectionId": "x", "mediaSubscriptionId": "y"}, "CallConnectionProperties")
    with pytest.raises(jsonschema.ValidationError):
        swagger.validate({"error": {"code": 8522}}, "CommunicationErrorResponse")
    with pytest.raises(jsonschema.ValidationError):
        swagger.validate_callback(
            {
                "id": "1",
                "source": "s",
                "specversion": "1.0",
                "type": "Microsoft.Communication.CallConnected",
                "data": {"callConnectionId": "c", "sequenceNumber": 1},
            }
        )
