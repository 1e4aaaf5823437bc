"""Traces and metrics through an in-memory exporter: the app's functions called as the host would,
ACS played by the emulator over HTTP through the official SDK, the store by its in-memory twin.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import azure.functions as func
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from callcontrol.adapters.callback_auth import CallbackAuthenticator
from callcontrol.composition import Services, close_services, services, use_services
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.domain.models import CallRecord, CallState
from callcontrol.settings import load_settings
from emulator import EmulatorConfig, EmulatorThread, start_in_thread
from tests.support.app import http_request, invoke
from tests.support.http import call_json
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.telemetry import Recorded, recording

ACCESS_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
RESOURCE_ID = str(uuid.uuid4())
CALLEE = "8:acs:spans_00000000-0000-0000-0000-000000000002"
CALLER = "+14255550142"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    running = start_in_thread(EmulatorConfig(access_key=ACCESS_KEY, resource_id=RESOURCE_ID,
                                             connect_delay_seconds=0.0))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def signer() -> TestSigner:
    return TestSigner("http://acs.test", RESOURCE_ID)


@pytest.fixture(autouse=True)
async def wired(emulator: EmulatorThread, signer: TestSigner) -> AsyncIterator[None]:
    async def keys() -> Mapping[str, Any]:
        return signer.jwks()

    settings = load_settings({
        "ACS_ENDPOINT": emulator.base_url, "ACS_ACCESS_KEY": ACCESS_KEY,
        "ACS_RESOURCE_ID": RESOURCE_ID,
        "CALLBACK_BASE_URL": "http://127.0.0.1:9",  # nobody listens: callbacks are posted by hand
    })
    backend = MemoryTableBackend()

    def factory() -> Services:
        auth = CallbackAuthenticator(issuer=signer.issuer, audience=RESOURCE_ID, fetch_jwks=keys)
        return Services(settings, backend=backend, authenticator=auth)

    with use_services(factory):
        yield
        await close_services()  # the gateway's HTTP session belongs to this test's loop


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    with recording() as spans:
        yield spans


def offer(emulator: EmulatorThread) -> dict[str, Any]:
    reply = call_json(f"{emulator.base_url}/emulator/incoming-calls", "POST",
                      {"from": {"phoneNumber": CALLER}, "to": {"communicationUserId": CALLEE}})
    assert reply.status in (200, 201), reply.text
    return dict(reply.json())


def incoming_call_event(placed: dict[str, Any]) -> func.EventGridEvent:
    data = {
        "to": {"kind": "communicationUser", "rawId": CALLEE, "communicationUser": {"id": CALLEE}},
        "from": {"kind": "phoneNumber", "rawId": f"4:{CALLER}", "phoneNumber": {"value": CALLER}},
        "serverCallId": placed["serverCallId"], "correlationId": placed["correlationId"],
        "incomingCallContext": placed["incomingCallContext"], "callerDisplayName": "",
    }
    return func.EventGridEvent(id=placed["eventId"], data=data, topic="t", subject="s",
                               event_type="Microsoft.Communication.IncomingCall", event_time=None,
                               data_version="1.0")


def one(spans: list[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


async def test_an_incoming_call_is_one_trace_with_the_decision_and_the_answer(
    emulator: EmulatorThread, recorded: Recorded,
) -> None:
    placed = offer(emulator)
    await invoke("incoming_call", incoming_call_event(placed))

    invocation = one(recorded.named("incoming_call"))
    attributes = dict(invocation.attributes or {})
    assert attributes["serverCallId"] == placed["serverCallId"]
    assert attributes["correlationId"] == placed["correlationId"]
    assert attributes["action"] == "answer" and attributes["outcome"] == "answered"
    assert attributes["callConnectionId"]  # learnt from ACS's answer
    answer = one(recorded.named("ACS answer"))
    assert dict(answer.attributes or {})["correlationId"] == placed["correlationId"]
    # azure-core's dependency span of the AnswerCall request, inside our span.
    http = [s for s in recorded.spans() if s.kind is SpanKind.CLIENT
            and ":answer" in str((s.attributes or {}).get("url.full", ""))]
    assert len(http) == 1
    assert {s.context.trace_id for s in recorded.spans()} == {invocation.context.trace_id}
    assert answer.parent is not None and answer.parent.span_id == invocation.context.span_id
    decisions = recorded.metric_points("callcontrol.inbound.decisions")
    assert [(dict(p.attributes)["outcome"], p.value) for p in decisions] == [("answered", 1)]


async def test_every_request_of_an_incoming_call_is_a_dependency_span_with_the_call_ids(
    emulator: EmulatorThread, recorded: Recorded,
) -> None:
    placed = offer(emulator)
    await invoke("incoming_call", incoming_call_event(placed))

    invocation = one(recorded.named("incoming_call"))
    requests = [s for s in recorded.spans() if s.kind is SpanKind.CLIENT]
    assert requests  # the store is the in-memory twin here: these are ACS's
    for span in requests:
        attributes = dict(span.attributes or {})
        # What was known when the request went out: the IncomingCall's ids, from the start.
        assert attributes["correlationId"] == placed["correlationId"], attributes
        assert attributes["serverCallId"] == placed["serverCallId"], attributes
        assert span.context.trace_id == invocation.context.trace_id


def callback(kind: str, call_id: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "source": f"calling/callConnections/{call_id}",
            "type": f"Microsoft.Communication.{kind}", "time": "2026-11-30T10:02:03Z",
            "specversion": "1.0", "datacontenttype": "application/json",
            "data": {"callConnectionId": call_id, "serverCallId": "srv", "correlationId": "corr"}}


async def post_callbacks(signer: TestSigner, body: list[dict[str, Any]],
                         secret: str | None) -> None:
    params = {SECRET_PARAMETER: secret} if secret is not None else None
    request = http_request("POST", "callbacks", body=body, params=params,
                           headers={"Authorization": signer.bearer()})
    response = await invoke("callbacks", request)
    assert response.status_code == 200, response.get_body()


async def test_a_callback_is_a_span_with_its_call_connection_id(
    signer: TestSigner, recorded: Recorded,
) -> None:
    call_id = str(uuid.uuid4())
    await post_callbacks(signer, [callback("CallConnected", call_id)], new_callback_secret())

    # ACS posts one event at a time: the invocation's span is the event's.
    invocation = dict(one(recorded.named("callbacks")).attributes or {})
    assert invocation["callConnectionId"] == call_id
    assert invocation["eventType"] == "CallConnected" and invocation["result"] == "applied"
    assert invocation["http.response.status_code"] == 200
    applied = recorded.metric_points("callcontrol.callbacks")
    assert [(dict(p.attributes)["result"], p.value) for p in applied] == [("applied", 1)]


async def test_a_batch_gets_a_span_per_event_each_with_its_call(
    signer: TestSigner, recorded: Recorded,
) -> None:
    # One request about two calls: the bare URI, which serves calls stored before secrets.
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for call_id in (first, second):
        await services().call_store.save(CallRecord(call_id, state=CallState.CONNECTING), None)
    await post_callbacks(signer, [callback("CallConnected", first), callback("CallConnected", second)],
                         None)

    spans = recorded.named("callback CallConnected")
    assert sorted(dict(s.attributes or {})["callConnectionId"] for s in spans) == sorted([first, second])
    invocation = one(recorded.named("callbacks"))
    assert all(s.parent is not None and s.parent.span_id == invocation.context.span_id for s in spans)


async def test_a_refused_callback_is_counted(recorded: Recorded) -> None:
    response = await invoke("callbacks", http_request("POST", "callbacks", body=[]))
    assert response.status_code == 401
    refused = recorded.metric_points("callcontrol.callbacks")
    assert [(dict(p.attributes)["result"], p.value) for p in refused] == [("refused", 1)]


async def test_a_failing_acs_request_is_an_error_span_with_the_acs_code(recorded: Recorded) -> None:
    missing = str(uuid.uuid4())
    response = await invoke("add_participant", http_request(
        "POST", f"calls/{missing}/participants", body={"participant": {"communicationUserId": CALLEE}},
        route_params={"callConnectionId": missing}))
    assert response.status_code == 404, response.get_body()

    failed = one(recorded.named("ACS add participant"))
    assert failed.status.status_code is StatusCode.ERROR
    attributes = dict(failed.attributes or {})
    assert attributes["acs.status"] == 404
    assert attributes["acs.code"] == "8522"
    assert attributes["callConnectionId"] == missing
    errors = recorded.metric_points("callcontrol.acs.errors")
    assert [(dict(p.attributes)["code"], p.value) for p in errors] == [("8522", 1)]
    refused = recorded.metric_points("callcontrol.actions")
    assert [(dict(p.attributes)["outcome"], p.value) for p in refused] == [("refused", 1)]
