"""callIntelligenceOptions on AnswerCall and CreateCall: the official SDK's
`cognitive_services_endpoint` reaches the emulator in the swagger's shape, is kept on the call
connection (a text prompt needs it), and a malformed one is ACS's 400/8523."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient, CommunicationUserIdentifier

from emulator import EmulatorThread
from tests.integration.emulator.support import (
    PSTN_A,
    USER_A,
    AppSide,
    Control,
    connect_call,
    signed_request,
)
from tests.integration.emulator.swagger import Swagger

ENDPOINT = "https://ai-test.cognitiveservices.azure.com/"
API = "?api-version=2026-03-12"


def connection_of(control: Control, connection_id: str) -> dict[str, Any]:
    for call in control.calls():
        for connection in call["connections"]:
            if connection["callConnectionId"] == connection_id:
                found: dict[str, Any] = connection
                return found
    raise AssertionError(f"no connection {connection_id}")


def last_body(control: Control, operation: str) -> dict[str, Any]:
    body: dict[str, Any] = control.requests(operation)[-1]["body"]
    return body


def test_answer_carries_the_endpoint_in_the_swagger_shape(
    client: CallAutomationClient, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    placed = control.incoming(PSTN_A, USER_A)
    props = client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"),
                               cognitive_services_endpoint=ENDPOINT)

    body = last_body(control, "AnswerCall")
    assert body["callIntelligenceOptions"] == {"cognitiveServicesEndpoint": ENDPOINT}
    swagger.validate(body, "AnswerCallRequest")
    assert connection_of(control, props.call_connection_id)["cognitiveServicesEndpoint"] == ENDPOINT


def test_create_carries_the_endpoint_in_the_swagger_shape(
    client: CallAutomationClient, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    _, connection_id = connect_call(client, app_side, CommunicationUserIdentifier(USER_A),
                                    cognitive_services_endpoint=ENDPOINT)

    body = last_body(control, "CreateCall")
    assert body["callIntelligenceOptions"] == {"cognitiveServicesEndpoint": ENDPOINT}
    swagger.validate(body, "CreateCallRequest")
    assert connection_of(control, connection_id)["cognitiveServicesEndpoint"] == ENDPOINT


def test_without_the_option_the_connection_has_no_endpoint(
    client: CallAutomationClient, app_side: AppSide, control: Control
) -> None:
    _, connection_id = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))

    assert "callIntelligenceOptions" not in last_body(control, "CreateCall")
    assert connection_of(control, connection_id)["cognitiveServicesEndpoint"] is None


BAD_OPTIONS = [
    "https://ai.cognitiveservices.azure.com/",  # not an object
    {"cognitiveServicesEndpoint": 5},
    {"cognitiveServicesEndpoint": "not a url"},
    {"cognitiveServicesEndpoint": ENDPOINT, "speechKey": "x"},  # the swagger allows one member
]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_a_malformed_option_is_400_8523_and_leaves_the_offer_answerable(
    emulator: EmulatorThread, app_side: AppSide, control: Control, swagger: Swagger, options: Any,
) -> None:
    placed = control.incoming(PSTN_A, USER_A)
    answer = {"incomingCallContext": placed["incomingCallContext"],
              "callbackUri": app_side.url("/callbacks"), "callIntelligenceOptions": options}
    create = {"targets": [{"rawId": USER_A}], "callbackUri": app_side.url("/callbacks"),
              "callIntelligenceOptions": options}
    for suffix, body in ((":answer", answer), ("", create)):
        status, _, reply = signed_request(emulator.base_url, "POST",
                                          f"/calling/callConnections{suffix}{API}",
                                          json.dumps(body).encode())
        assert (status, reply["error"]["code"]) == (400, "8523"), (suffix, reply)
        assert "callIntelligenceOptions" in reply["error"]["message"] or (
            "cognitiveServicesEndpoint" in reply["error"]["message"]), reply
        swagger.validate(reply, "CommunicationErrorResponse")

    # Refused before the offer was claimed: a well-formed answer still works.
    answer["callIntelligenceOptions"] = {"cognitiveServicesEndpoint": ENDPOINT}
    status, _, reply = signed_request(emulator.base_url, "POST",
                                      f"/calling/callConnections:answer{API}",
                                      json.dumps(answer).encode())
    assert status == 200, reply
