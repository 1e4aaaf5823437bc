"""Fault injection: REST statuses and latency, repeatability under retries, callback faults."""

from __future__ import annotations

import json
import time
import uuid

from azure.communication.callautomation import CommunicationUserIdentifier

from emulator import EmulatorThread
from tests.integration.emulator.support import (
    USER_A,
    AppSide,
    Control,
    connect_call,
    signed_request,
)


def test_429_with_retry_after_is_retried_by_the_sdk(client, app_side: AppSide, control: Control) -> None:
    _, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.ok(
        "POST", "/faults", {"operation": "GetCall", "status": 429, "count": 2, "retryAfterSeconds": 0.1}
    )
    props = client.get_call_connection(cid).get_call_properties()
    assert props.call_connection_state == "connected"
    statuses = [entry["status"] for entry in control.requests("GetCall")]
    assert statuses == [429, 429, 200]
    assert control.ok("GET", "/faults")["value"] == []


def test_503_on_answer_is_retried_with_the_same_repeatability_id_and_acts_once(
    client, app_side: AppSide, control: Control
) -> None:
    placed = control.incoming("+14255550100", "+18005550123")
    control.ok("POST", "/faults", {"operation": "AnswerCall", "status": 503})
    props = client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    answers = control.requests("AnswerCall")
    assert [a["status"] for a in answers] == [503, 200]
    ids = {a["headers"]["Repeatability-Request-ID"] for a in answers}
    assert len(ids) == 1
    [call] = [c for c in control.calls() if c["serverCallId"] == placed["serverCallId"]]
    assert [c["callConnectionId"] for c in call["connections"]] == [props.call_connection_id]


def test_a_repeated_repeatability_id_returns_the_first_response_and_acts_once(
    emulator: EmulatorThread, app_side: AppSide, control: Control
) -> None:
    body = json.dumps(
        {
            "targets": [{"rawId": USER_A, "communicationUser": {"id": USER_A}}],
            "callbackUri": app_side.url("/callbacks"),
        }
    ).encode()
    headers = {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": "Mon, 01 Jun 2026 12:00:00 GMT",
    }
    path = "/calling/callConnections?api-version=2024-09-15"
    first = signed_request(emulator.base_url, "POST", path, body, headers)
    again = signed_request(emulator.base_url, "POST", path, body, headers)
    assert first[0] == again[0] == 201
    assert first[2] == again[2]
    assert again[1]["Repeatability-Result"] == "accepted"
    assert len(control.calls()) == 1
    status, _, reply = signed_request(
        emulator.base_url, "POST", path, body, {"Repeatability-Request-ID": "not-a-uuid"}
    )
    assert (status, reply["error"]["code"]) == (400, "8523")


def test_a_replayed_response_keeps_the_first_responses_chain_id(
    emulator: EmulatorThread, app_side: AppSide
) -> None:
    body = json.dumps(
        {
            "targets": [{"rawId": USER_A, "communicationUser": {"id": USER_A}}],
            "callbackUri": app_side.url("/callbacks"),
        }
    ).encode()
    create = {"Repeatability-Request-ID": str(uuid.uuid4())}
    path = "/calling/callConnections?api-version=2026-03-12"
    first = signed_request(emulator.base_url, "POST", path, body, create)
    again = signed_request(emulator.base_url, "POST", path, body, create)
    correlation_id = first[2]["correlationId"]
    assert first[1]["X-Microsoft-Skype-Chain-ID"] == correlation_id
    assert again[1]["X-Microsoft-Skype-Chain-ID"] == correlation_id
    app_side.wait_for("CallConnected", first[2]["callConnectionId"])

    terminate = {"Repeatability-Request-ID": str(uuid.uuid4())}
    path = f"/calling/callConnections/{first[2]['callConnectionId']}:terminate?api-version=2026-03-12"
    ended = signed_request(emulator.base_url, "POST", path, b"", terminate)
    replayed = signed_request(emulator.base_url, "POST", path, b"", terminate)
    assert ended[0] == replayed[0] == 204
    chain_ids = {ended[1]["X-Microsoft-Skype-Chain-ID"], replayed[1]["X-Microsoft-Skype-Chain-ID"]}
    assert chain_ids == {correlation_id}


def test_latency_fault_delays_the_response(client, app_side: AppSide, control: Control) -> None:
    _, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.ok("POST", "/faults", {"operation": "*", "latencySeconds": 0.3})
    started = time.monotonic()
    client.get_call_connection(cid).get_call_properties()
    assert time.monotonic() - started >= 0.3
    assert control.requests("GetCall")[-1]["fault"] == "latency 0.3s"


def test_fault_requests_are_validated(control: Control) -> None:
    assert control.call("POST", "/faults", {"operation": "GetCall"})[0] == 400
    assert control.call("POST", "/faults", {"operation": "GetCall", "status": 200})[0] == 400
    assert control.call("POST", "/faults", {"status": 500})[0] == 400
    assert control.call("POST", "/callback-faults", {"mode": "explode"})[0] == 400


def test_callback_duplicate(client, app_side: AppSide, control: Control) -> None:
    control.ok("POST", "/callback-faults", {"mode": "duplicate", "eventType": "CallConnected"})
    _, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    first, second = app_side.wait_for("CallConnected", cid, count=2)
    assert first["event"]["id"] == second["event"]["id"]


def test_callback_drop(client, app_side: AppSide, control: Control) -> None:
    control.ok("POST", "/callback-faults", {"mode": "drop", "eventType": "CallConnected"})
    _, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.ok("GET", "/callbacks?wait=idle")
    assert app_side.events("CallConnected", cid) == []
    dropped = [c for c in control.ok("GET", "/callbacks")["value"] if c["fault"] == "drop"]
    assert [d["type"] for d in dropped] == ["Microsoft.Communication.CallConnected"]


def test_callback_reorder(client, app_side: AppSide, control: Control) -> None:
    control.ok("POST", "/callback-faults", {"mode": "reorder", "eventType": "CallConnected"})
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    app_side.wait_for("CallConnected", props.call_connection_id)
    order = [r["type"] for r in app_side.events(connection_id=props.call_connection_id)]
    assert order == ["ParticipantsUpdated", "CallConnected"]


def test_callback_delay(client, app_side: AppSide, control: Control) -> None:
    control.ok(
        "POST", "/callback-faults", {"mode": "delay", "eventType": "CallConnected", "delaySeconds": 0.3}
    )
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    connected = app_side.wait_for("CallConnected", props.call_connection_id)[0]
    updated = app_side.wait_for("ParticipantsUpdated", props.call_connection_id)[0]
    assert connected["received"] - updated["received"] >= 0.25
