"""Handlers through function_app.app with func.HttpRequest, over the in-memory store twin."""

from __future__ import annotations

import json
from collections.abc import Iterator

import azure.functions as func
import pytest

from callcontrol.composition import Services, use_services
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.settings import load_settings
from tests.conftest import load_event
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.wiring import AUDIENCE, ISSUER, services_over

CALL_ID = load_event("call_connected.json")[0]["data"]["callConnectionId"]
SECRET = new_callback_secret()  # the call's own callback URI: the bare one takes no new calls


@pytest.fixture
def signer() -> TestSigner:
    return TestSigner(ISSUER, AUDIENCE)


@pytest.fixture
def backend() -> MemoryTableBackend:
    return MemoryTableBackend()


@pytest.fixture(autouse=True)
def wired(signer: TestSigner, backend: MemoryTableBackend) -> Iterator[None]:
    with services_over(backend, signer):
        yield


async def post_callback(body: object, authorization: str | None) -> func.HttpResponse:
    headers = {"Authorization": authorization} if authorization else {}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await invoke("callbacks", http_request("POST", "callbacks", raw=raw, headers=headers,
                                                  params={SECRET_PARAMETER: SECRET}))


async def test_callbacks_then_get_call_shows_connected(signer: TestSigner) -> None:
    for name in ("call_connected.json", "participants_updated.json"):
        response = await post_callback(load_event(name), signer.bearer())
        assert response.status_code == 200, response.get_body()
    # get_call also asks ACS (covered end to end); the stored view is what the list shows.
    response = await invoke("list_calls", http_request("GET", "calls"))
    assert response.status_code == 200
    [call] = json_body(response)["value"]
    assert call["state"] == "connected"
    assert len(call["participants"]) == 2
    events = json_body(await invoke("get_call_events", http_request(
        "GET", f"calls/{CALL_ID}/events", route_params={"callConnectionId": CALL_ID})))
    assert [e["type"].split(".")[-1] for e in events["value"]] == [
        "CallConnected", "ParticipantsUpdated"]


async def test_redelivered_callback_is_stored_once(signer: TestSigner) -> None:
    first = json_body(await post_callback(load_event("call_connected.json"), signer.bearer()))
    again = json_body(await post_callback(load_event("call_connected.json"), signer.bearer()))
    assert (first["applied"], again["duplicates"]) == (1, 1)
    events = json_body(await invoke("get_call_events", http_request(
        "GET", "x", route_params={"callConnectionId": CALL_ID})))
    assert len(events["value"]) == 1


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "expired", "wrong-audience", "foreign-key"],
)
async def test_unauthenticated_callbacks_get_401_and_store_nothing(
    authorization: str | None, signer: TestSigner, backend: MemoryTableBackend
) -> None:
    header = {
        "expired": signer.bearer(lifetime=-120),
        "wrong-audience": signer.bearer(aud="someone-else"),
        "foreign-key": TestSigner(ISSUER, AUDIENCE).bearer(),
    }.get(authorization or "", authorization)
    response = await post_callback(load_event("call_connected.json"), header)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert await backend.query("calls") == []


@pytest.mark.parametrize("raw", [b"{oops", b'{"id": "not-an-array"}', b"[]", b'[{"id": 1}]'])
async def test_malformed_callback_bodies_get_400_problem(raw: bytes, signer: TestSigner,
                                                         backend: MemoryTableBackend) -> None:
    response = await post_callback(raw, signer.bearer())
    assert response.status_code == 400
    problem = json_body(response)
    assert problem["status"] == 400 and problem["errors"][0]["field"]
    assert await backend.query("calls") == []


async def test_unknown_call_is_a_404_problem() -> None:
    response = await invoke("get_call_events", http_request(
        "GET", "calls/nope/events", route_params={"callConnectionId": "nope"}))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "nope" in json_body(response)["detail"]


async def test_health_needs_nothing() -> None:
    response = await invoke("health", http_request("GET", "health"))
    assert json_body(response) == {"status": "ok"}


async def test_missing_setting_is_named_not_a_crash() -> None:
    with use_services(lambda: Services(load_settings({}))):
        response = await invoke("get_call", http_request(
            "GET", "calls/x", route_params={"callConnectionId": "x"}))
    assert response.status_code == 500
    assert "CallStateStorage" in json_body(response)["detail"]


async def test_malformed_incoming_call_event_fails_the_invocation() -> None:
    event = func.EventGridEvent(
        id="1", data={"to": {"phoneNumber": "+14255550100"}}, topic="t", subject="s",
        event_type="Microsoft.Communication.IncomingCall", event_time=None, data_version="1.0")
    from callcontrol.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="incomingCallContext"):
        await invoke("incoming_call", event)


async def test_list_calls_filters_by_state(signer: TestSigner) -> None:
    await post_callback(load_event("call_connected.json"), signer.bearer())
    listed = json_body(await invoke("list_calls", http_request(
        "GET", "calls", params={"state": "connected"})))
    assert [c["callConnectionId"] for c in listed["value"]] == [CALL_ID]
    none = json_body(await invoke("list_calls", http_request(
        "GET", "calls", params={"state": "disconnected"})))
    assert none["value"] == []


async def test_list_calls_refuses_an_unknown_state() -> None:
    response = await invoke("list_calls", http_request("GET", "calls", params={"state": "zzz"}))
    assert response.status_code == 400
    assert json_body(response)["errors"][0]["field"] == "state"
