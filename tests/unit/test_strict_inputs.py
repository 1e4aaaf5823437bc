"""Issue 13, items 4-8 and 10: input the hardening pass found accepted, crashing or leaking.

Each test reproduces one find through `function_app.app` (in-memory store twin, no ACS settings:
a request that got as far as ACS would fail with a 500 naming the missing setting) or through
the validator it concerns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import AzureError
from pydantic import ValidationError

from callcontrol.adapters.acs_wire import translate_error
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.domain.errors import (
    AcsErrorInfo,
    AcsRejected,
    AcsUnavailable,
    InvalidInput,
    StoreError,
)
from callcontrol.domain.identifiers import parse_strict_identifier
from callcontrol.domain.redaction import redact
from callcontrol.domain.rules.model import AnswerAction, Rule, check_party_pattern
from callcontrol.domain.rules.time_windows import TimeWindow
from handlers._http import error_response
from handlers._idempotency import _fingerprint
from handlers.wire.json_body import MAX_JSON_DEPTH, decode_json
from handlers.wire.requests import AddParticipantRequest, CreateCallRequest, validate_body
from tests.conftest import load_event
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.wiring import AUDIENCE, ISSUER, services_over

PHONE = "+14255550123"


@pytest.fixture(scope="module")
def signer() -> TestSigner:
    return TestSigner(ISSUER, AUDIENCE)


@pytest.fixture
def backend() -> MemoryTableBackend:
    return MemoryTableBackend()


@pytest.fixture(autouse=True)
def wired(signer: TestSigner, backend: MemoryTableBackend) -> Iterator[None]:
    with services_over(backend, signer):
        yield


def assert_problem(response: func.HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json_body(response)
    assert body["status"] == status
    return body


# --- 4: raw ids of unknown kind ---------------------------------------------------------------


@pytest.mark.parametrize("raw_id", ["..", ".", "../calls", "x/y", "a b", "%2E", "zz:\x85",
                                    "9:" + "1" * 300])
async def test_a_participant_raw_id_of_unknown_kind_is_validated(raw_id: str) -> None:
    response = await invoke("get_participant", http_request(
        "GET", "calls/c1/participants/x",
        route_params={"callConnectionId": "c1", "rawId": raw_id}))
    body = assert_problem(response, 400)
    assert body["errors"][0]["field"].startswith("path")


@pytest.mark.parametrize("call_id", ["..", ".", "a/b", "\x85", "\ud800", "x" * 300, "a\nb",
                                     "k:", "a:terminate", "a;b", "a@b"])
async def test_an_odd_call_connection_id_in_the_path_is_a_400(call_id: str) -> None:
    response = await invoke("get_call_events", http_request(
        "GET", "calls/x/events", route_params={"callConnectionId": call_id}))
    assert_problem(response, 400)


# --- 5: full-match patterns -------------------------------------------------------------------


@pytest.mark.parametrize("payload", [{"phoneNumber": PHONE + "\n"}, {"rawId": f"4:{PHONE}\n"},
                                     {"communicationUserId": "8:acs:x\n"}])
def test_an_identifier_with_a_trailing_newline_is_refused(payload: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        parse_strict_identifier(payload)


def test_a_caller_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InvalidInput):
        validate_body(CreateCallRequest, {"targets": [{"phoneNumber": PHONE}],
                                          "sourceCallerIdNumber": PHONE + "\n"})


@pytest.mark.parametrize("pattern", [PHONE + "\n", "+1425\n*", "8:acs:x\n", "4:anonymous\n"])
def test_a_party_pattern_with_a_trailing_newline_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        check_party_pattern(pattern)


def test_a_rule_id_or_clock_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate({"id": "r1\n", "action": {"type": "answer"}})
    with pytest.raises(ValidationError):
        TimeWindow.model_validate({"timeZone": "UTC", "start": "09:00\n", "end": "17:00"})


# --- 6: odd callback ids; a batch is all or nothing -------------------------------------------


def callback(call_id: str, event_id: str = "e-1") -> list[dict[str, Any]]:
    event = load_event("call_connected.json")[0]
    event["id"] = event_id
    event["data"]["callConnectionId"] = call_id
    return [event]


async def post_callback(body: object, authorization: str) -> func.HttpResponse:
    raw = json.dumps(body).encode()
    return await invoke("callbacks", http_request(
        "POST", "callbacks", raw=raw, headers={"Authorization": authorization}))


@pytest.mark.parametrize("call_id", ["\ud800", "abc\x85", "\U0001f600" * 512, "a\x00b", "..",
                                     "a/b", " lead", "x" * 257])
async def test_an_odd_callback_call_id_is_a_400_and_stores_nothing(
    call_id: str, signer: TestSigner, backend: MemoryTableBackend
) -> None:
    body = assert_problem(await post_callback(callback(call_id), signer.bearer()), 400)
    assert body["errors"][0]["field"] == "[0].data.callConnectionId"
    assert await backend.query("calls") == []


@pytest.mark.parametrize("event_id", ["\udfff", "e\x9f", "e" * 600])
async def test_an_odd_event_id_is_a_400(event_id: str, signer: TestSigner,
                                        backend: MemoryTableBackend) -> None:
    body = assert_problem(await post_callback(callback("call-1", event_id), signer.bearer()), 400)
    assert body["errors"][0]["field"] == "[0].id"
    assert await backend.query("calls") == []


async def test_a_batch_with_one_bad_event_applies_none(
    signer: TestSigner, backend: MemoryTableBackend
) -> None:
    batch = callback("call-1", "e-1") + callback("call-2\x85", "e-2")
    assert_problem(await post_callback(batch, signer.bearer()), 400)
    assert await backend.query("calls") == []


# --- 7: the idempotency fingerprint ignores the Host ------------------------------------------


def test_the_fingerprint_ignores_host_and_scheme() -> None:
    def request(base: str) -> func.HttpRequest:
        return func.HttpRequest(method="POST", url=f"{base}/api/calls/c1/hangup", headers={},
                                params={}, route_params={}, body=b'{"forEveryone":true}')

    assert _fingerprint(request("http://127.0.0.1:7071")) == _fingerprint(
        request("http://localhost:7071"))
    assert _fingerprint(request("http://localhost")) != _fingerprint(func.HttpRequest(
        method="POST", url="http://localhost/api/calls/c2/hangup", headers={}, params={},
        route_params={}, body=b'{"forEveryone":true}'))


# --- 8: error bodies expose no internals; Retry-After; ACS 401/403 ----------------------------


def test_a_storage_failure_hides_its_cause_and_says_when_to_retry() -> None:
    response = error_response(StoreError(
        "read from calls failed: Cannot connect to host 127.0.0.1:10002 ssl:default "
        "[Connect call failed] RequestId:3f6c0e7e-0002-0045-5f1e-8a0000000000"))
    body = assert_problem(response, 503)
    assert "127.0.0.1" not in body["detail"] and "RequestId" not in body["detail"]
    assert int(response.headers["Retry-After"]) >= 1


def test_an_acs_transport_failure_hides_its_cause() -> None:
    translated = translate_error(AzureError("Cannot connect to host 127.0.0.1:8089 ssl:default"),
                            "get call")
    assert isinstance(translated, AcsUnavailable)
    response = error_response(translated)
    body = assert_problem(response, 503)
    assert "127.0.0.1" not in body["detail"]


@pytest.mark.parametrize("acs_status", [401, 403])
def test_acs_refusing_the_apps_credentials_is_not_the_clients_401(acs_status: int) -> None:
    response = error_response(AcsRejected(
        "ACS refused get call: HMAC signature does not match",
        AcsErrorInfo(acs_status, "Unauthorized", "HMAC signature does not match")))
    assert 502 <= response.status_code <= 503
    body = json_body(response)
    assert "HMAC" not in body["detail"]


# --- 10: the fuzzing finds ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    {"phoneNumber": PHONE, "communicationUserId": "8:acs:x_y"},
    {"communicationUserId": "8:acs:x_y", "microsoftTeamsUserId": "abc"},
    {"phoneNumber": PHONE, "microsoftTeamsAppId": "abc"},
])
def test_an_identifier_with_two_kinds_is_refused(payload: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        parse_strict_identifier(payload)


def test_a_huge_integer_is_a_400_not_a_crash() -> None:
    with pytest.raises(InvalidInput):
        decode_json(b'{"invitationTimeoutSeconds": ' + b"9" * 5000 + b"}")


async def test_add_participant_with_a_huge_integer_is_a_400() -> None:
    raw = (b'{"participant": {"communicationUserId": "8:acs:x_y"}, '
           b'"invitationTimeoutSeconds": ' + b"9" * 5000 + b"}")
    response = await invoke("add_participant", http_request(
        "POST", "calls/c1/participants", raw=raw, route_params={"callConnectionId": "c1"}))
    assert_problem(response, 400)


@pytest.mark.parametrize("raw", [b"[]", b"null", b"true", b"1", b'"x"'])
@pytest.mark.parametrize("route", ["hang_up", "remove_participant", "mute_participant",
                                   "cancel_add_participant"])
async def test_an_optional_body_must_be_an_object(raw: bytes, route: str) -> None:
    params = {"callConnectionId": "c1", "rawId": "8:acs:x_y", "invitationId": "i1"}
    response = await invoke(route, http_request("POST", "calls/c1/x", raw=raw,
                                                route_params=params))
    body = assert_problem(response, 400)
    assert body["errors"][0]["field"] == "body"


def test_a_rule_operation_context_is_capped_like_the_api() -> None:
    AnswerAction.model_validate({"type": "answer", "operationContext": "x" * 512})
    with pytest.raises(ValidationError):
        AnswerAction.model_validate({"type": "answer", "operationContext": "x" * 60_000})


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/UTC", "right/UTC"])
def test_only_iana_time_zones_are_accepted(zone: str) -> None:
    with pytest.raises(ValidationError):
        TimeWindow.model_validate({"timeZone": zone, "start": "09:00", "end": "17:00"})
    TimeWindow.model_validate({"timeZone": "Europe/Berlin", "start": "09:00", "end": "17:00"})


@pytest.mark.parametrize("text", ["127.0.0.1", "10.20.30.40:10002", "version 12.7.0",
                                  "2026-11-30T08:54:37"])
def test_redaction_leaves_addresses_and_versions_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_still_hides_phone_numbers() -> None:
    assert PHONE not in redact(f"calling {PHONE} now")
    assert "4255550123" not in redact("dialled 425-555-0123")


def test_add_participant_request_refuses_two_kinds() -> None:
    with pytest.raises(InvalidInput):
        validate_body(AddParticipantRequest, {
            "participant": {"phoneNumber": PHONE, "communicationUserId": "8:acs:x_y"}})


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1.5e400"])
def test_a_non_json_number_literal_is_refused(literal: bytes) -> None:
    # 1e999 is JSON, but no float holds it: Python reads it as inf, served back as Infinity.
    # Python's json reads them; RFC 8259 has no such numbers, and no client could read them back.
    with pytest.raises(InvalidInput) as caught:
        decode_json(b'{"timeoutSeconds": ' + literal + b"}")
    [problem] = caught.value.problems
    assert problem.field == "body" and literal.decode() in problem.reason


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1.5e400"])
async def test_a_callback_with_a_non_json_number_is_refused_and_stores_nothing(
    literal: str, signer: TestSigner, backend: MemoryTableBackend
) -> None:
    # Was stored (200) and served back by GET /api/calls/{id}/events as `NaN`: not JSON.
    raw = json.dumps(load_event("call_connected.json")).replace(
        '"callConnectionId"', f'"odd": {literal}, "callConnectionId"', 1).encode()
    response = await invoke("callbacks", http_request(
        "POST", "callbacks", raw=raw, params={SECRET_PARAMETER: new_callback_secret()},
        headers={"Authorization": signer.bearer()}))
    assert assert_problem(response, 400)["errors"][0]["field"] == "body"
    assert await backend.query("calls") == []


async def test_a_callback_nested_near_the_recursion_limit_is_a_400_never_a_500(
    signer: TestSigner, backend: MemoryTableBackend
) -> None:
    # Was a 500 from about 930 levels: decoded, then too deep to encode for storage.
    events, secret = load_event("call_connected.json"), new_callback_secret()
    statuses: dict[int, int] = {}
    for depth in range(850, 1001, 5):
        event = json.dumps([{**events[0], "id": f"e-{depth}"}])  # each one new, to be stored
        raw = event.replace('"callConnectionId"', f'"deep": {"[" * depth}{"]" * depth}, '
                            '"callConnectionId"', 1).encode()
        response = await invoke("callbacks", http_request(
            "POST", "callbacks", raw=raw, params={SECRET_PARAMETER: secret},
            headers={"Authorization": signer.bearer()}))
        statuses[depth] = response.status_code
        if response.status_code == 400:
            assert assert_problem(response, 400)["errors"][0]["field"] == "body"
    assert 500 not in statuses.values(), statuses
    assert set(statuses.values()) == {400}, statuses
    assert await backend.query("calls") == []


def test_a_body_deeper_than_the_limit_is_refused_and_one_at_it_is_read() -> None:
    assert decode_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(InvalidInput) as caught:
        decode_json(b'{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}")
    assert caught.value.problems[0].field == "body"


def test_a_repeated_member_name_is_refused_not_read_as_the_last() -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_json(b'{"a": {"b": 1, "b": 2}}')
    [problem] = caught.value.problems
    assert problem.field == "body" and "'b'" in problem.reason


@pytest.mark.parametrize("raw", [
    # Two flows named alike: the first was dropped without a word.
    b'{"rules": [], "defaultAction": {"type": "flow", "flow": "f"}, "flows": {'
    b'"f": {"steps": [{"id": "a", "type": "hangup"}]}, "f": {"steps": [{"id": "b", "type": "hangup"}]}}}',
    # Key 1 given twice in a menu: the caller pressing 1 went where the second said.
    b'{"rules": [], "defaultAction": {"type": "flow", "flow": "f"}, "flows": {"f": {"steps": ['
    b'{"id": "m", "type": "menu", "prompt": {"file": "https://media.example.com/m.wav"},'
    b' "choices": {"1": "a", "1": "b"}, "fallback": "a"},'
    b' {"id": "a", "type": "hangup"}, {"id": "b", "type": "hangup"}]}}}',
])
async def test_a_rule_set_with_a_repeated_member_is_refused_and_stores_nothing(
    raw: bytes, backend: MemoryTableBackend
) -> None:
    response = await invoke("put_rules", http_request("PUT", "rules", raw=raw))
    assert assert_problem(response, 400)["errors"][0]["field"] == "body"
    assert await backend.query("rules") == []
