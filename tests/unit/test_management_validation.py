"""Bad input on every management route: a 400 problem naming the field, before ACS is reached.

No gateway is configured here (no ACS settings): a request that got past validation would fail
with a configuration error instead of the expected 400, so these tests prove validation comes
first. Nothing is stored either.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callcontrol.composition import Services, use_services
from callcontrol.settings import load_settings
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend

CALL = {"callConnectionId": "call-1"}
ACS_USER = "8:acs:11111111-2222-4333-8444-555555555555_0001"


@pytest.fixture
def backend() -> MemoryTableBackend:
    return MemoryTableBackend()


@pytest.fixture(autouse=True)
def wired(backend: MemoryTableBackend) -> Iterator[None]:
    with use_services(lambda: Services(load_settings({}), backend=backend)):
        yield


CASES = [
    # (function, route params, raw body, field named in the problem)
    ("create_call", {}, b"{", "body"),
    ("create_call", {}, b"[]", "body"),
    ("create_call", {}, b"{}", "targets"),
    ("create_call", {}, b'{"targets": []}', "targets"),
    ("create_call", {}, b'{"targets": [{"phoneNumber": "555"}]}', "targets[0].phoneNumber"),
    ("create_call", {}, b'{"targets": [{"phoneNumber": "+14255550123"}]}', "sourceCallerIdNumber"),
    ("create_call", {}, b'{"targets": [{"rawId": "8:acs:x"}], "colour": "red"}', "colour"),
    ("create_call", {}, b'{"targets": [{"rawId": "8:acs:x"}], "sourceCallerIdNumber": "12"}',
     "sourceCallerIdNumber"),
    # Issue 25 (fuzz tier): ACS refused a party named twice, the app passed it on.
    ("create_call", {}, b'{"targets": [{"rawId": "8:acs:x"}, {"rawId": "8:acs:x"}]}', "targets[1]"),
    ("create_call", {}, b'{"targets": [{"communicationUserId": "8:acs:x"}, {"rawId": "8:acs:y"}, '
     b'{"rawId": "8:acs:x"}]}', "targets[2]"),
    ("hang_up", CALL, b'{"forEveryone": "yes"}', "forEveryone"),
    ("transfer_call", CALL, b"{}", "target"),
    ("transfer_call", CALL, b'{"target": {"communicationUserId": "bob"}}',
     "target.communicationUserId"),
    ("add_participant", CALL, b'{"participant": {"rawId": "8:acs:x"}, '
     b'"invitationTimeoutSeconds": 181}', "invitationTimeoutSeconds"),
    ("add_participant", CALL, b'{"participant": {"rawId": "8:acs:x"}, '
     b'"invitationTimeoutSeconds": -1}', "invitationTimeoutSeconds"),
    ("add_participant", CALL, b'{"participant": {"phoneNumber": "+14255550123"}}',
     "sourceCallerIdNumber"),
    ("remove_participant", {**CALL, "rawId": "4:123"}, b"", "path.rawId"),
    ("mute_participant", {**CALL, "rawId": "4:+14255550123"}, b"", "path.rawId"),
    ("mute_participant", {**CALL, "rawId": ACS_USER}, b'{"operationContext": ""}',
     "operationContext"),
    ("cancel_add_participant", {**CALL, "invitationId": "i"}, b'{"extra": 1}', "extra"),
]


@pytest.mark.parametrize(("function", "params", "body", "field"), CASES)
async def test_bad_input_is_a_400_naming_the_field(
    function: str, params: dict[str, str], body: bytes, field: str, backend: MemoryTableBackend
) -> None:
    response = await invoke(function, http_request("POST", "x", raw=body, route_params=params))
    assert response.status_code == 400, response.get_body()
    assert response.mimetype == "application/problem+json"
    problem = json_body(response)
    assert field in [e["field"] for e in problem["errors"]]
    assert await backend.query("calls") == []


async def test_body_size_is_limited() -> None:
    body = b'{"targets": [' + b'{"rawId": "8:acs:x"},' * 5000 + b'{"rawId": "8:acs:x"}]}'
    response = await invoke("create_call", http_request("POST", "calls", raw=body))
    assert response.status_code == 413


async def test_bad_idempotency_key_is_refused() -> None:
    response = await invoke("hang_up", http_request(
        "POST", "x", raw=b"{}", route_params=CALL, headers={"Idempotency-Key": "x" * 300}))
    assert response.status_code == 400
    assert json_body(response)["errors"][0]["field"] == "Idempotency-Key"


async def test_default_caller_id_satisfies_a_pstn_target(backend: MemoryTableBackend) -> None:
    # With DEFAULT_CALLER_ID set, validation passes and the request goes on to ACS — which is
    # not configured here, so the failure is the configuration one, not a 400.
    with use_services(lambda: Services(load_settings({"DEFAULT_CALLER_ID": "+14255550100"}),
                                       backend=backend)):
        response = await invoke("create_call", http_request(
            "POST", "calls", raw=b'{"targets": [{"phoneNumber": "+14255550123"}]}'))
    assert response.status_code == 500
    assert "ACS_ENDPOINT" in json_body(response)["detail"]


async def test_deeply_nested_json_is_a_400_not_a_crash() -> None:
    response = await invoke("create_call", http_request("POST", "calls", raw=b"[" * 30000))
    assert response.status_code == 400
