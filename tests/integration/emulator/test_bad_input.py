"""Bad input gets ACS's status and error body (400/8523, 404/8522, 401), never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import EmulatorThread
from tests.integration.emulator.support import USER_A, AppSide, connect_call, signed_request
from tests.integration.emulator.swagger import Swagger

API = "?api-version=2026-03-12"
ACTIONS = (
    "participants:add",
    "participants:remove",
    "participants:mute",
    "participants:cancelAddParticipant",
    ":transferToParticipant",
)
TOP_LEVEL = ("", ":answer", ":reject", ":redirect")


@pytest.fixture
def live_call(client, app_side: AppSide) -> str:
    _, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    return cid


def _post(emulator: EmulatorThread, path: str, body: bytes) -> tuple[int, Any]:
    status, _, reply = signed_request(emulator.base_url, "POST", path + API, body)
    return status, reply


def _action_path(cid: str, action: str) -> str:
    separator = "" if action.startswith(":") else "/"
    return f"/calling/callConnections/{cid}{separator}{action}"


@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b'"text"', b"null", b"42"])
def test_malformed_bodies_are_400_8523_everywhere(
    emulator: EmulatorThread, live_call: str, swagger: Swagger, body: bytes
) -> None:
    paths = [f"/calling/callConnections{suffix}" for suffix in TOP_LEVEL]
    paths += [_action_path(live_call, action) for action in ACTIONS]
    for path in paths:
        status, reply = _post(emulator, path, body)
        assert (status, reply["error"]["code"]) == (400, "8523"), path
        swagger.validate(reply, "CommunicationErrorResponse")


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("", {"callbackUri": "http://x/cb"}),
        ("", {"targets": [], "callbackUri": "http://x/cb"}),
        ("", {"targets": [{"rawId": USER_A}]}),
        ("", {"targets": [{"rawId": USER_A}], "callbackUri": "not a uri"}),
        ("", {"targets": [{"phoneNumber": {"value": "12"}}], "callbackUri": "http://x/cb"}),
        ("", {"targets": [{"communicationUser": {}}], "callbackUri": "http://x/cb"}),
        ("", {"targets": "8:acs:x", "callbackUri": "http://x/cb"}),
        (":answer", {"callbackUri": "http://x/cb"}),
        (":answer", {"incomingCallContext": 5, "callbackUri": "http://x/cb"}),
        (":redirect", {"incomingCallContext": "c"}),
        (":reject", {}),
    ],
)
def test_missing_fields_and_wrong_identifier_shapes_are_400_8523(
    emulator: EmulatorThread, suffix: str, body: dict[str, Any]
) -> None:
    status, reply = _post(emulator, "/calling/callConnections" + suffix, json.dumps(body).encode())
    assert (status, reply["error"]["code"]) == (400, "8523")
    assert reply["error"]["message"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("participants:add", {}),
        ("participants:add", {"participantToAdd": {"kind": "communicationUser"}}),
        ("participants:add", {"participantToAdd": {"rawId": USER_A}, "invitationTimeoutInSeconds": "9"}),
        ("participants:remove", {"participantToRemove": []}),
        ("participants:mute", {"targetParticipants": {"rawId": USER_A}}),
        ("participants:mute", {"targetParticipants": []}),
        ("participants:cancelAddParticipant", {"invitationId": 3}),
        (":transferToParticipant", {"transferee": {"rawId": USER_A}}),
        (":transferToParticipant", {"targetParticipant": {"phoneNumber": "+1"}}),
    ],
)
def test_mid_call_bad_bodies_are_400_8523(
    emulator: EmulatorThread, live_call: str, action: str, body: dict[str, Any]
) -> None:
    status, reply = _post(emulator, _action_path(live_call, action), json.dumps(body).encode())
    assert (status, reply["error"]["code"]) == (400, "8523")


def test_unknown_call_ids_are_404_8522_for_every_operation(emulator: EmulatorThread) -> None:
    for action in (*ACTIONS, ":terminate"):
        status, reply = _post(emulator, _action_path("nope", action), b"{}")
        assert (status, reply["error"]["code"]) == (404, "8522"), action
    for method, path in (
        ("GET", "/calling/callConnections/nope"),
        ("DELETE", "/calling/callConnections/nope"),
        ("GET", "/calling/callConnections/nope/participants"),
        ("GET", "/calling/callConnections/nope/participants/8%3Aacs%3Ax"),
    ):
        status, _, reply = signed_request(emulator.base_url, method, path + API)
        assert (status, reply["error"]["code"]) == (404, "8522"), path


def test_unknown_paths_and_methods_are_acs_errors_not_crashes(emulator: EmulatorThread) -> None:
    status, _, reply = signed_request(emulator.base_url, "GET", "/calling/nothing" + API)
    assert status == 404 and "error" in reply
    status, _, reply = signed_request(emulator.base_url, "PUT", "/calling/callConnections/x" + API, b"{}")
    assert status == 405 and "error" in reply


def test_a_wrong_key_is_401(emulator: EmulatorThread) -> None:
    status, _, reply = signed_request(
        emulator.base_url, "GET", "/calling/callConnections/x" + API, key="d3Jvbmcta2V5"
    )
    assert status == 401 and reply["error"]["code"] == "7509"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "targets",
                    "callbackUri",
                    "incomingCallContext",
                    "target",
                    "rawId",
                    "participantToAdd",
                    "participantToRemove",
                    "targetParticipants",
                    "targetParticipant",
                    "invitationId",
                    "phoneNumber",
                    "communicationUser",
                    "id",
                    "value",
                    "kind",
                    "operationContext",
                    "callRejectReason",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON, action=st.sampled_from(TOP_LEVEL + ACTIONS))
def test_random_json_never_crashes_the_emulator(
    emulator: EmulatorThread, live_call: str, swagger: Swagger, body: Any, action: str
) -> None:
    path = "/calling/callConnections" + action if action in TOP_LEVEL else _action_path(live_call, action)
    status, reply = _post(emulator, path, json.dumps(body).encode())
    assert status < 500
    if status >= 400:
        swagger.validate(reply, "CommunicationErrorResponse")


@pytest.mark.parametrize("uri", ["http://[bad", "https://[::1/cb", "http://]x[/cb"])
def test_unparsable_callback_uris_are_400_8523_not_500(
    emulator: EmulatorThread, live_call: str, uri: str
) -> None:
    user = {"rawId": USER_A, "communicationUser": {"id": USER_A}}
    other = {"communicationUser": {"id": USER_A + "-other"}}
    requests = [
        ("/calling/callConnections", {"targets": [user], "callbackUri": uri}, "callbackUri"),
        ("/calling/callConnections:answer", {"incomingCallContext": "c", "callbackUri": uri}, "callbackUri"),
        (
            "/calling/callConnections:connect",
            {"callLocator": {"kind": "groupCallLocator", "groupCallId": "g"}, "callbackUri": uri},
            "callbackUri",
        ),
        (
            _action_path(live_call, ":transferToParticipant"),
            {"targetParticipant": other, "operationCallbackUri": uri},
            "operationCallbackUri",
        ),
        (
            _action_path(live_call, "participants:add"),
            {"participantToAdd": other, "operationCallbackUri": uri},
            "operationCallbackUri",
        ),
        (
            _action_path(live_call, "participants:remove"),
            {"participantToRemove": user, "operationCallbackUri": uri},
            "operationCallbackUri",
        ),
        (
            _action_path(live_call, "participants:cancelAddParticipant"),
            {"invitationId": "i", "operationCallbackUri": uri},
            "operationCallbackUri",
        ),
    ]
    for path, body, field in requests:
        status, reply = _post(emulator, path, json.dumps(body).encode())
        assert (status, reply["error"]["code"]) == (400, "8523"), path
        assert field in reply["error"]["message"], path
