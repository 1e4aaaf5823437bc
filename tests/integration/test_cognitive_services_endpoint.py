"""COGNITIVE_SERVICES_ENDPOINT reaches ACS on every answer and create: the app's functions called as
the host calls them, ACS played by the emulator over HTTP through the official SDK, the store by
Azurite. Set, the endpoint is in the request's callIntelligenceOptions exactly as
configured; unset, the request has no callIntelligenceOptions at all."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import azure.functions as func
import pytest

from callcontrol.composition import Services, close_services, use_services
from callcontrol.domain.errors import SettingError
from callcontrol.settings import COGNITIVE_SERVICES_ENDPOINT, load_settings
from emulator import EmulatorConfig, EmulatorThread, start_in_thread
from tests.conftest import azurite_backend
from tests.support.app import http_request, invoke, json_body
from tests.support.http import call_json
from tools.azurite import Azurite

ACCESS_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
RESOURCE_ID = str(uuid.uuid4())
CALLER = "+14255550143"
ENDPOINT = "https://ai-prompts.cognitiveservices.azure.com/"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    running = start_in_thread(EmulatorConfig(access_key=ACCESS_KEY, resource_id=RESOURCE_ID,
                                             connect_delay_seconds=0.0))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(params=[ENDPOINT, None], ids=["set", "unset"])
async def endpoint(request: pytest.FixtureRequest, emulator: EmulatorThread,
                   azurite: Azurite) -> AsyncIterator[str | None]:
    values = {"ACS_ENDPOINT": emulator.base_url, "ACS_ACCESS_KEY": ACCESS_KEY,
              "ACS_RESOURCE_ID": RESOURCE_ID,
              "CALLBACK_BASE_URL": "http://127.0.0.1:9"}  # callbacks are not the subject here
    if request.param is not None:
        values[COGNITIVE_SERVICES_ENDPOINT] = request.param
    settings = load_settings(values)
    backend = azurite_backend(azurite)
    with use_services(lambda: Services(settings, backend=backend)):
        try:
            yield request.param
        finally:
            await close_services()  # the gateway's HTTP session belongs to this test's loop
            await backend.close()


def emulator_requests(emulator: EmulatorThread, operation: str) -> list[dict[str, Any]]:
    reply = call_json(f"{emulator.base_url}/emulator/requests?operation={operation}", "GET")
    assert reply.status == 200, reply.text
    return list(reply.json()["value"])


def expected_options(endpoint: str | None) -> dict[str, str] | None:
    return None if endpoint is None else {"cognitiveServicesEndpoint": endpoint}


async def test_answer_names_the_endpoint_only_when_set(
    emulator: EmulatorThread, endpoint: str | None,
) -> None:
    callee = f"8:acs:prompts_{uuid.uuid4()}"
    placed = call_json(f"{emulator.base_url}/emulator/incoming-calls", "POST",
                       {"from": {"phoneNumber": CALLER}, "to": {"communicationUserId": callee}})
    assert placed.status in (200, 201), placed.text
    offer = placed.json()
    data = {
        "to": {"kind": "communicationUser", "rawId": callee, "communicationUser": {"id": callee}},
        "from": {"kind": "phoneNumber", "rawId": f"4:{CALLER}", "phoneNumber": {"value": CALLER}},
        "serverCallId": offer["serverCallId"], "correlationId": offer["correlationId"],
        "incomingCallContext": offer["incomingCallContext"], "callerDisplayName": "",
    }
    await invoke("incoming_call", func.EventGridEvent(
        id=offer["eventId"], data=data, topic="t", subject="s", event_time=None,
        event_type="Microsoft.Communication.IncomingCall", data_version="1.0"))

    [answer] = [r for r in emulator_requests(emulator, "AnswerCall")
                if r["body"]["incomingCallContext"] == offer["incomingCallContext"]]
    assert answer["status"] == 200, answer
    assert answer["body"].get("callIntelligenceOptions") == expected_options(endpoint)


async def test_create_names_the_endpoint_only_when_set(
    emulator: EmulatorThread, endpoint: str | None,
) -> None:
    target = f"8:acs:prompts_{uuid.uuid4()}"
    response = await invoke("create_call", http_request(
        "POST", "calls", body={"targets": [{"communicationUserId": target}]}))
    assert response.status_code == 201, response.get_body()
    assert json_body(response)["callConnectionId"]

    [create] = [r for r in emulator_requests(emulator, "CreateCall")
                if r["body"]["targets"][0]["rawId"] == target]
    assert create["status"] == 201, create
    assert create["body"].get("callIntelligenceOptions") == expected_options(endpoint)


@pytest.mark.parametrize("value", ["http://ai.cognitiveservices.azure.com/", "ai.example",
                                   "https://", "https://ai.example/?key=1", "https://[::1"])
def test_a_value_acs_cannot_use_is_refused_with_the_settings_name(value: str) -> None:
    with pytest.raises(SettingError) as refused:
        _ = load_settings({COGNITIVE_SERVICES_ENDPOINT: value}).cognitive_services_endpoint
    assert COGNITIVE_SERVICES_ENDPOINT in str(refused.value)


def test_the_endpoint_is_kept_as_given_and_blank_is_unset() -> None:
    assert load_settings({COGNITIVE_SERVICES_ENDPOINT: ENDPOINT}).cognitive_services_endpoint == (
        ENDPOINT)
    assert load_settings({COGNITIVE_SERVICES_ENDPOINT: " "}).cognitive_services_endpoint is None
    assert load_settings({}).cognitive_services_endpoint is None


async def test_a_malformed_setting_refuses_create_with_its_name_and_sends_nothing(
    emulator: EmulatorThread, azurite: Azurite,
) -> None:
    settings = load_settings({"ACS_ENDPOINT": emulator.base_url, "ACS_ACCESS_KEY": ACCESS_KEY,
                              "ACS_RESOURCE_ID": RESOURCE_ID, "CALLBACK_BASE_URL": "http://127.0.0.1:9",
                              COGNITIVE_SERVICES_ENDPOINT: "http://ai.example/"})
    target = f"8:acs:prompts_{uuid.uuid4()}"
    backend = azurite_backend(azurite)
    with use_services(lambda: Services(settings, backend=backend)):
        try:
            response = await invoke("create_call", http_request(
                "POST", "calls", body={"targets": [{"communicationUserId": target}]}))
        finally:
            await close_services()
            await backend.close()

    # A configuration fault, not the caller's: a problem naming the setting, never its value.
    assert (response.status_code, response.mimetype) == (500, "application/problem+json")
    problem = json_body(response)
    assert COGNITIVE_SERVICES_ENDPOINT in problem["detail"] and "ai.example" not in problem["detail"]
    assert not [r for r in emulator_requests(emulator, "CreateCall")
                if r["body"]["targets"][0]["rawId"] == target]
