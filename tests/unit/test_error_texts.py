"""What a client reads in a 400: plain reasons naming the field, never pydantic's internals (a
model's class name, a raw regex), the same text in `detail` as in `errors[]`, and every bad
query parameter of GET /api/calls reported, unknown ones included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.wiring import AUDIENCE, ISSUER, services_over

PHONE = {"phoneNumber": "+14255550123"}
CALL = {"callConnectionId": "abc"}


@pytest.fixture(autouse=True)
def wired() -> Iterator[None]:
    with services_over(MemoryTableBackend(), TestSigner(ISSUER, AUDIENCE)):
        yield


async def problem_of(name: str, path: str, body: object,
                     route: dict[str, str] | None = None) -> dict[str, Any]:
    response = await invoke(name, http_request("POST", path, body=body, route_params=route or {}))
    assert response.status_code == 400, response.get_body()
    assert response.mimetype == "application/problem+json"
    return dict(json_body(response))


def reasons(problem: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in problem["errors"]}


INTERNALS = re.compile(r"instance of|IdentifierIn|Input should|String should|\^|\[0-9\]|\\\+|\{\d")


@pytest.mark.parametrize(("body", "field", "wanted"), [
    ({"targets": ["+14255550123"]}, "targets[0]", "phoneNumber"),
    ({"targets": [PHONE], "sourceCallerIdNumber": "12345"}, "sourceCallerIdNumber", "E.164"),
    ({"targets": [PHONE], "sourceCallerIdNumber": 5}, "sourceCallerIdNumber", "string"),
    ({"targets": []}, "targets", "at least 1"),
    ({"targets": [PHONE], "sourceDisplayName": "x" * 300}, "sourceDisplayName", "at most 256"),
    ({"targets": [PHONE], "operationContext": ""}, "operationContext", "at least 1"),
    ({"targets": PHONE}, "targets", "array"),
])
async def test_create_call_reasons_are_plain(body: object, field: str, wanted: str) -> None:
    problem = await problem_of("create_call", "calls", body)
    reason = reasons(problem)[field]
    assert wanted in reason, reason
    assert not INTERNALS.search(reason), reason
    assert not INTERNALS.search(problem["detail"]), problem["detail"]


async def test_transfer_without_an_identifier_object_says_what_one_looks_like() -> None:
    problem = await problem_of("transfer_call", "calls/abc/transfer", {"target": None}, CALL)
    reason = reasons(problem)["target"]
    assert "phoneNumber" in reason and "rawId" in reason and not INTERNALS.search(reason), reason


async def test_add_reasons_name_the_limits() -> None:
    problem = await problem_of("add_participant", "calls/abc/participants",
                               {"participant": PHONE, "invitationTimeoutSeconds": 300}, CALL)
    assert reasons(problem) == {"invitationTimeoutSeconds": "must be at most 180"}


async def test_acs_own_name_for_the_invitation_timeout_gets_a_hint() -> None:
    problem = await problem_of("add_participant", "calls/abc/participants",
                               {"participant": PHONE, "invitationTimeoutInSeconds": 30}, CALL)
    assert "invitationTimeoutSeconds" in reasons(problem)["invitationTimeoutInSeconds"]


async def test_a_misspelt_field_gets_the_nearest_name() -> None:
    problem = await problem_of("create_call", "calls", {"targets": [PHONE], "sourceCallerId": "+18005550100"})
    assert "sourceCallerIdNumber" in reasons(problem)["sourceCallerId"]


async def test_the_detail_says_what_the_reasons_say_unredacted() -> None:
    # The log redaction turned the example in the detail into "+…0123", not in errors[].reason.
    problem = await problem_of("create_call", "calls", {"targets": [{"phoneNumber": "14255550123"}]})
    reason = reasons(problem)["targets[0].phoneNumber"]
    assert "+14255550123" in reason
    assert reason in problem["detail"]


async def list_calls(params: dict[str, str]) -> Any:
    return await invoke("list_calls", http_request("GET", "calls", params=params))


async def test_an_unknown_query_parameter_is_refused_by_name() -> None:
    response = await list_calls({"status": "connected"})  # `state` is the filter
    assert response.status_code == 400
    problem = json_body(response)
    assert [e["field"] for e in problem["errors"]] == ["status"]
    assert "state" in problem["errors"][0]["reason"]


async def test_every_bad_query_parameter_is_reported() -> None:
    response = await list_calls({"state": "zzz", "limit": "0", "since": "yesterday", "colour": "red"})
    assert response.status_code == 400
    assert {e["field"] for e in json_body(response)["errors"]} == {"state", "limit", "since", "colour"}


async def test_the_function_key_parameter_is_not_a_filter() -> None:
    response = await list_calls({"code": "the-function-key", "state": "connected"})
    assert response.status_code == 200
