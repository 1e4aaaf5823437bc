"""The rules routes and the incoming_call function through function_app.app, over the table twin."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, cast

import azure.functions as func
import pytest

from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.adapters.store.rules import RULES_TABLE
from callcontrol.composition import Services, use_services
from callcontrol.domain.errors import InvalidInput
from callcontrol.settings import load_settings
from handlers.wire.responses import CallListOut
from handlers.wire.rules_responses import EvaluationOut, RuleSetVersionListOut
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.inbound.support import AGENT, CALLEE, FakeAcs
from tests.unit.rules._support import VALID

PROBLEM = "application/problem+json"
PREMIUM_CALL = {
    "to": {"kind": "communicationUser", "rawId": CALLEE, "communicationUser": {"id": CALLEE}},
    "from": {"kind": "phoneNumber", "rawId": "4:+19005550100", "phoneNumber": {"value": "+19005550100"}},
    "serverCallId": "c2VydmVyLWNhbGw=",
    "correlationId": "corr-1",
}


@pytest.fixture
def backend() -> MemoryTableBackend:
    return MemoryTableBackend()


@pytest.fixture
def acs() -> FakeAcs:
    return FakeAcs()


@pytest.fixture(autouse=True)
def wired(backend: MemoryTableBackend, acs: FakeAcs) -> Iterator[None]:
    settings = load_settings({"RULES_CACHE_SECONDS": "5"})
    with use_services(lambda: Services(settings, backend=backend, gateway=cast(AcsGateway, acs))):
        yield


async def get_rules() -> func.HttpResponse:
    return await invoke("get_rules", http_request("GET", "rules"))


async def put_rules(body: object = None, *, raw: bytes | None = None,
                    if_match: str | None = None) -> func.HttpResponse:
    headers = {"If-Match": if_match} if if_match is not None else {}
    return await invoke("put_rules", http_request("PUT", "rules", body=body, raw=raw, headers=headers))


async def evaluate(body: object = None, *, raw: bytes | None = None,
                   params: dict[str, str] | None = None) -> func.HttpResponse:
    return await invoke("evaluate_rules", http_request("POST", "rules/evaluate", body=body, raw=raw,
                                                       params=params))


async def test_get_serves_the_shipped_default_with_an_etag() -> None:
    response = await get_rules()
    assert response.status_code == 200
    assert json_body(response) == {"rules": [], "defaultAction": {"type": "answer"}}
    assert response.headers["ETag"].startswith('"0-')


async def test_put_then_get_round_trips_with_a_new_etag() -> None:
    first = await put_rules(VALID)
    assert first.status_code == 200, first.get_body()
    fetched = await get_rules()
    assert fetched.headers["ETag"] == first.headers["ETag"]
    assert json_body(fetched) == json_body(first)
    # What GET returns is accepted back by PUT unchanged.
    second = await put_rules(json_body(fetched), if_match=fetched.headers["ETag"])
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]


async def test_put_without_if_match_once_a_set_exists_is_428() -> None:
    await put_rules(VALID)
    response = await put_rules(VALID)
    assert response.status_code == 428 and response.mimetype == PROBLEM
    assert "If-Match" in json_body(response)["detail"]


@pytest.mark.parametrize("if_match", ['"1-0000000000000000"', "W/\"{etag}\"", "junk"])
async def test_put_with_a_stale_or_weak_if_match_is_412_and_changes_nothing(if_match: str) -> None:
    first = await put_rules(VALID)
    etag = first.headers["ETag"]
    response = await put_rules(VALID, if_match=if_match.format(etag=etag.strip('"')))
    assert response.status_code == 412 and response.mimetype == PROBLEM
    assert (await get_rules()).headers["ETag"] == etag


async def test_put_accepts_an_unquoted_etag_and_star() -> None:
    first = await put_rules(VALID)
    second = await put_rules(VALID, if_match=first.headers["ETag"].strip('"'))
    assert second.status_code == 200
    assert (await put_rules(VALID, if_match="*")).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ((["rules", 2, "action", "type"], "voicemail"), "rules[2].action.type"),
        ((["rules", 1, "conditions", "timeWindows", 0, "timeZone"], "Mars/Olympus"),
         "rules[1].conditions.timeWindows[0].timeZone"),
        ((["rules", 1, "conditions", "timeWindows", 0, "timeZone"], "America"),
         "rules[1].conditions.timeWindows[0].timeZone"),
        ((["rules", 1, "conditions", "timeWindows", 0, "timeZone"], "x" * 300),
         "rules[1].conditions.timeWindows[0].timeZone"),
        ((["rules", 0, "id"], "front-desk"), "rules[2].id"),
        ((["rules", 1, "action", "target"], {"phoneNumber": "12345"}), "rules[1].action.target"),
    ],
)
async def test_an_invalid_rule_is_400_naming_index_and_field_and_nothing_is_stored(
    backend: MemoryTableBackend, change: tuple[list[Any], Any], field: str
) -> None:
    path, value = change
    payload = copy.deepcopy(VALID)
    target: Any = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    response = await put_rules(payload)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    problem = json_body(response)
    assert field in [e["field"] for e in problem["errors"]]
    assert await backend.query(RULES_TABLE) == []


@pytest.mark.parametrize("raw", [b"{oops", b"", b"[]", b'"rules"'])
async def test_malformed_put_bodies_are_400_and_store_nothing(backend: MemoryTableBackend,
                                                              raw: bytes) -> None:
    response = await put_rules(raw=raw)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert json_body(response)["errors"][0]["field"] in ("body", "(body)")
    assert await backend.query(RULES_TABLE) == []


async def test_an_invalid_put_leaves_the_stored_set_untouched() -> None:
    saved = await put_rules(VALID)
    bad = copy.deepcopy(VALID)
    bad["defaultAction"] = {"type": "redirect"}
    response = await put_rules(bad, if_match=saved.headers["ETag"])
    assert response.status_code == 400
    assert json_body(response)["errors"] == [{"field": "defaultAction.target", "reason": "is required"}]
    current = await get_rules()
    assert current.headers["ETag"] == saved.headers["ETag"]


async def test_versions_are_listed_and_retrievable() -> None:
    first = await put_rules(VALID)
    changed = copy.deepcopy(VALID)
    changed["defaultAction"] = {"type": "reject", "reason": "forbidden"}
    await put_rules(changed, if_match=first.headers["ETag"])
    listed = json_body(await invoke("list_rule_versions", http_request("GET", "rules/versions")))
    RuleSetVersionListOut.model_validate(listed)
    assert [(v["version"], v["source"], v["ruleCount"]) for v in listed["value"]] == [
        (2, "api", 3), (1, "api", 3)]
    old = await invoke("get_rule_version", http_request(
        "GET", "rules/versions/1", route_params={"version": "1"}))
    assert old.status_code == 200 and old.headers["ETag"] == first.headers["ETag"]
    assert json_body(old)["defaultAction"] == VALID["defaultAction"]


@pytest.mark.parametrize(("version", "status"),
                         [("99", 404), ("abc", 400), ("-1", 400), ("0", 200), ("²", 400)])
async def test_version_lookup_errors(version: str, status: int) -> None:
    response = await invoke("get_rule_version", http_request(
        "GET", f"rules/versions/{version}", route_params={"version": version}))
    assert response.status_code == status


@pytest.mark.parametrize("wrap", ["data", "event", "delivery"])
async def test_evaluate_explains_the_decision_and_touches_nothing(
    backend: MemoryTableBackend, acs: FakeAcs, wrap: str
) -> None:
    saved = await put_rules(VALID)
    before = copy.deepcopy(backend._tables)
    event = {"id": "evt-1", "eventType": "Microsoft.Communication.IncomingCall", "data": PREMIUM_CALL,
             "subject": "s", "eventTime": "2026-01-05T10:00:00Z", "dataVersion": "1.0"}
    body = {"data": PREMIUM_CALL, "event": event, "delivery": [event]}[wrap]
    response = await evaluate(body, params={"at": "2026-01-05T10:00:00+00:00"})
    assert response.status_code == 200, response.get_body()
    result = json_body(response)
    EvaluationOut.model_validate(result)
    assert result["ruleId"] == "block-premium"
    assert result["action"] == {"type": "reject", "reason": "forbidden"}
    assert result["matched"] == ["from +1900* matched"]
    assert (result["ruleSetVersion"], result["etag"]) == (1, saved.headers["ETag"])
    assert backend._tables == before and acs.sent == []


async def test_evaluate_lists_the_rules_skipped_on_the_way_to_the_default() -> None:
    await put_rules(VALID)
    call = {**PREMIUM_CALL, "from": {"rawId": "4:+14255550100"}}
    result = json_body(await evaluate(call, params={"at": "2026-01-03T10:00:00+00:00"}))  # a Saturday
    assert result["ruleId"] == "front-desk"
    assert [s["ruleId"] for s in result["skipped"]] == ["block-premium", "business-hours"]


@pytest.mark.parametrize(
    ("body", "params", "field"),
    [
        (b"{oops", None, "body"),
        ({"from": {"rawId": "4:+14255550100"}}, None, "to"),
        ({"to": "nobody"}, None, "to"),
        ({"eventType": "Microsoft.Communication.CallConnected", "data": PREMIUM_CALL}, None, "eventType"),
        (PREMIUM_CALL, {"at": "yesterday"}, "at"),
        (PREMIUM_CALL, {"at": "2026-01-05T10:00:00"}, "at"),
        (PREMIUM_CALL, {"at": "0001-01-01T00:30:00+00:00"}, "at"),
        # Issue 25: a list or object kind was a 500 (unhashable in the identifier reader).
        ({**PREMIUM_CALL, "from": {"kind": ["phoneNumber"], "rawId": "4:+14255550100"}}, None, "from"),
        ({**PREMIUM_CALL, "to": {"kind": {"x": 1}, "rawId": "4:+14255550100"}}, None, "to"),
    ],
)
async def test_evaluate_with_a_malformed_call_is_400(body: Any, params: dict[str, str] | None,
                                                     field: str) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await evaluate(raw=raw, params=params)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert json_body(response)["errors"][0]["field"] == field


def incoming_event(data: dict[str, Any], event_id: str = "evt-1",
                   event_type: str = "Microsoft.Communication.IncomingCall") -> func.EventGridEvent:
    return func.EventGridEvent(id=event_id, data=data, topic="t", subject="s", event_type=event_type,
                               event_time=None, data_version="1.0")


async def test_incoming_call_function_decides_by_the_put_rules_and_lists_inbound(acs: FakeAcs) -> None:
    await put_rules(VALID)
    await invoke("incoming_call", incoming_event({**PREMIUM_CALL, "incomingCallContext": "ctx-1"}))
    await invoke("incoming_call", incoming_event({**PREMIUM_CALL, "incomingCallContext": "ctx-1"}))
    assert [(s.action, s.detail) for s in acs.sent] == [("reject", "forbidden")]
    listed = json_body(await invoke("list_calls", http_request(
        "GET", "calls", params={"direction": "inbound"})))
    CallListOut.model_validate(listed)
    [call] = listed["value"]
    assert call["inbound"]["ruleId"] == "block-premium"
    assert (call["inbound"]["action"], call["inbound"]["outcome"]) == ("reject", "rejected")
    assert call["serverCallId"] == PREMIUM_CALL["serverCallId"] and call["state"] == "disconnected"


async def test_incoming_call_function_ignores_other_event_types(acs: FakeAcs) -> None:
    await invoke("incoming_call", incoming_event({}, event_type="Microsoft.Communication.CallEnded"))
    assert acs.sent == []


async def test_malformed_incoming_call_fails_the_invocation_naming_the_field(acs: FakeAcs) -> None:
    with pytest.raises(InvalidInput) as failure:
        await invoke("incoming_call", incoming_event({"to": {"rawId": AGENT}}))
    assert failure.value.problems[0].field == "data.incomingCallContext"
    assert acs.sent == []


async def test_a_missing_rules_file_fails_the_call_naming_the_setting(
    backend: MemoryTableBackend, acs: FakeAcs
) -> None:
    settings = load_settings({"RULES_FILE": "/nonexistent/rules.json"})
    with use_services(lambda: Services(settings, backend=backend, gateway=cast(AcsGateway, acs))):
        response = await get_rules()
        assert response.status_code == 500 and "RULES_FILE" in json_body(response)["detail"]
        from callcontrol.domain.errors import SettingError

        with pytest.raises(SettingError, match="RULES_FILE"):
            await invoke("incoming_call", incoming_event({**PREMIUM_CALL, "incomingCallContext": "c"}))
    assert acs.sent == []
