"""The control API itself: listing, settings, validation of its own input, reset."""

from __future__ import annotations

import base64
from typing import Any

from azure.communication.callautomation import CommunicationUserIdentifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.emulator.support import (
    USER_A,
    AppSide,
    Control,
    connect_call,
    signed_request,
)

OTHER_KEY = base64.b64encode(b"not-the-emulator-key").decode()


def test_calls_and_requests_are_listed(client, app_side: AppSide, control: Control) -> None:
    _, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    [call] = control.calls()
    assert call["connections"][0]["callConnectionId"] == cid
    assert call["connections"][0]["state"] == "connected"
    assert USER_A in {p["identifier"]["rawId"] for p in call["participants"]}
    described = control.ok("GET", f"/calls/{cid}")
    assert described["serverCallId"] == call["serverCallId"]
    assert control.call("GET", "/calls/unknown")[0] == 404
    [create] = control.requests("CreateCall")
    assert create["status"] == 201 and create["body"]["targets"][0]["rawId"] == USER_A
    assert "Authorization" not in create["headers"]


def test_settings_round_trip_and_refuse_nonsense(control: Control) -> None:
    updated = control.settings(ringTimeoutSeconds=5, participantsPageSize=2, incomingCallTtlSeconds=9)
    assert (updated["ringTimeoutSeconds"], updated["participantsPageSize"]) == (5, 2)
    assert control.ok("GET", "/settings")["incomingCallTtlSeconds"] == 9
    for bad in (
        {"ringTimeoutSeconds": -1},
        {"participantsPageSize": 0},
        {"nope": 1},
        {"eventWebhook": 5},
        {"resourceNumbers": ["12"]},
    ):
        assert control.call("PATCH", "/settings", bad)[0] == 400, bad


def test_endpoint_behaviors_are_validated_and_listed(control: Control) -> None:
    control.endpoint("4:+14255550199", "busy", delay=0.5)
    [rule] = control.ok("GET", "/endpoints")["value"]
    assert rule == {
        "endpoint": {
            "rawId": "4:+14255550199",
            "kind": "phoneNumber",
            "phoneNumber": {"value": "+14255550199"},
        },
        "behavior": "busy",
        "delaySeconds": 0.5,
    }
    assert control.call("PUT", "/endpoints", {"endpoint": {"rawId": USER_A}, "behavior": "sing"})[0] == 400
    assert control.call("PUT", "/endpoints", {"behavior": "busy"})[0] == 400
    assert control.call("PUT", "/endpoints", {"endpoint": {"rawId": USER_A}, "delaySeconds": -1})[0] == 400
    control.ok("DELETE", "/endpoints")
    assert control.ok("GET", "/endpoints")["value"] == []


def test_incoming_call_input_is_validated(control: Control) -> None:
    for bad in (
        {},
        {"from": {"phoneNumber": "+14255550100"}},
        {"from": {"phoneNumber": "12"}, "to": {"phoneNumber": "+18005550123"}},
        {
            "from": {"rawId": "4:+14255550100"},
            "to": {"rawId": "4:+18005550123"},
            "customContext": {"sipHeaders": {"a": 1}},
        },
        {"from": {"rawId": "4:+14255550100"}, "to": {"rawId": "4:+18005550123"}, "callerDisplayName": 3},
    ):
        status, reply = control.call("POST", "/incoming-calls", bad)
        assert status == 400 and reply["error"]["message"], bad
    assert control.call("POST", "/incoming-calls", None)[0] == 400


def test_reset_forgets_calls_logs_faults_and_behaviors(client, app_side: AppSide, control: Control) -> None:
    connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    control.endpoint(USER_A, "busy")
    control.ok("POST", "/faults", {"operation": "GetCall", "status": 500})
    control.settings(ringTimeoutSeconds=1)
    control.ok("POST", "/reset")
    assert control.calls() == [] and control.requests() == []
    assert control.ok("GET", "/faults")["value"] == [] and control.ok("GET", "/endpoints")["value"] == []
    assert control.ok("GET", "/settings")["ringTimeoutSeconds"] == 60
    assert control.ok("GET", "/callbacks")["value"] == []


CONTROL_KEYS = st.sampled_from(
    [
        "from",
        "to",
        "phoneNumber",
        "rawId",
        "endpoint",
        "behavior",
        "delaySeconds",
        "numbers",
        "operation",
        "status",
        "count",
        "latencySeconds",
        "mode",
        "eventType",
        "callConnectionId",
        "participant",
        "retainPrevious",
        "customContext",
        "sipHeaders",
        "ringTimeoutSeconds",
    ]
)
CONTROL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(CONTROL_KEYS | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)
CONTROL_WRITES = [
    ("POST", "/incoming-calls"),
    ("PUT", "/endpoints"),
    ("PUT", "/resource-numbers"),
    ("POST", "/remote-hangups"),
    ("POST", "/faults"),
    ("POST", "/callback-faults"),
    ("PATCH", "/settings"),
    ("POST", "/keys:rotate"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=CONTROL_JSON, target=st.sampled_from(CONTROL_WRITES))
def test_random_control_input_is_refused_cleanly(
    control: Control, body: Any, target: tuple[str, str]
) -> None:
    status, reply = control.call(target[0], target[1], body)
    assert status < 500, (status, reply)
    if status >= 400:
        assert reply["error"]["message"]


def test_request_log_shows_what_arrived(emulator, control: Control) -> None:
    path = "/calling/callConnections:answer?api-version=2026-03-12"
    body = b'{"incomingCallContext": "nope", "callbackUri": "http://127.0.0.1:9/cb"}'
    client_request_id = "0f2c6a8e-8d1e-4c51-9d43-0d5c1d1f2a11"
    assert (
        signed_request(emulator.base_url, "POST", path, body, {"x-ms-client-request-id": client_request_id})[
            0
        ]
        == 400
    )
    assert signed_request(emulator.base_url, "POST", path, b"not json", key=OTHER_KEY)[0] == 401
    assert signed_request(emulator.base_url, "POST", path, b"plain text")[0] == 400
    logged, forged, text = control.requests("AnswerCall")
    assert logged["method"] == "POST" and logged["path"] == "/calling/callConnections:answer"
    assert logged["rawPath"] == path and logged["query"] == {"api-version": "2026-03-12"}
    assert logged["body"] == {"incomingCallContext": "nope", "callbackUri": "http://127.0.0.1:9/cb"}
    assert logged["headers"]["x-ms-client-request-id"] == client_request_id
    assert "x-ms-date" in logged["headers"] and "Authorization" not in logged["headers"]
    assert logged["status"] == 400 and logged["durationMs"] >= 0 and "fault" not in logged
    # A request that failed authentication is logged without its body.
    assert forged["status"] == 401 and forged["body"] is None
    assert text["body"] == "plain text"
