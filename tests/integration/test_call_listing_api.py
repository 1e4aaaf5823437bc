"""GET /api/calls through function_app.app, on both table backends: pages, `next`, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.calls import CallStore
from callcontrol.composition import Services, use_services
from callcontrol.domain.models import CallRecord, CallState, Direction
from callcontrol.settings import load_settings
from tests.support.app import http_request, invoke, json_body

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wired(backend: TableBackend) -> Iterator[None]:
    with use_services(lambda: Services(load_settings({}), backend=backend)):
        yield


async def seed(backend: TableBackend, count: int) -> None:
    store = CallStore(backend)
    for n in range(count):
        created = T0 + timedelta(seconds=n)
        await store.save(CallRecord(f"c{n:03d}", state=CallState.CONNECTED,
                                    direction=Direction.INBOUND if n % 2 else Direction.OUTBOUND,
                                    created_at=created, updated_at=created), None)


async def get(params: dict[str, str]) -> tuple[int, str, Any]:
    response = await invoke("list_calls", http_request("GET", "calls", params=params))
    return response.status_code, response.mimetype, json_body(response)


async def test_pages_follow_their_next_links_to_the_end(backend: TableBackend) -> None:
    await seed(backend, 12)
    status, _, body = await get({"limit": "5", "direction": "outbound"})
    assert status == 200
    listed = [c["callConnectionId"] for c in body["value"]]
    while "next" in body:
        link = urlsplit(body["next"])
        assert link.path == "/api/calls"
        params = dict(parse_qsl(link.query))
        assert params["direction"] == "outbound" and params["limit"] == "5"
        assert params["continuationToken"] == body["continuationToken"]
        status, _, body = await get(params)
        assert status == 200
        listed += [c["callConnectionId"] for c in body["value"]]
    assert listed == [f"c{n:03d}" for n in range(10, -1, -2)]
    assert "continuationToken" not in body


async def test_the_default_page_holds_50_calls(backend: TableBackend) -> None:
    await seed(backend, 52)
    status, _, body = await get({})
    assert status == 200 and len(body["value"]) == 50 and body["next"]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"continuationToken": "not-a-token"}, "continuationToken"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-11-24T09:00:00"}, "until"),  # no offset: ambiguous
    ({"since": "2026-11-24T10:00:00Z", "until": "2026-11-24T09:00:00Z"}, "until"),
    ({"state": "ringing"}, "state"),
    ({"direction": "sideways"}, "direction"),
])
async def test_bad_parameters_are_a_400_naming_the_field(
    backend: TableBackend, params: dict[str, str], field: str,
) -> None:
    status, mimetype, body = await get(params)
    assert status == 400
    assert mimetype == "application/problem+json"
    assert [e["field"] for e in body["errors"]] == [field]


async def test_a_token_reused_with_other_filters_is_refused(backend: TableBackend) -> None:
    await seed(backend, 4)
    _, _, first = await get({"limit": "2"})
    status, _, body = await get({"limit": "2", "state": "connected",
                                 "continuationToken": first["continuationToken"]})
    assert status == 400
    assert body["errors"][0]["field"] == "continuationToken"


async def test_since_and_until_select_a_window(backend: TableBackend) -> None:
    await seed(backend, 10)
    status, _, body = await get({"since": "2026-11-24T09:00:03Z",
                                 "until": "2026-11-24T09:00:06+00:00"})
    assert status == 200
    assert [c["callConnectionId"] for c in body["value"]] == ["c005", "c004", "c003"]
