"""Regressions of issue 25 (deliverable 5) in GET /api/calls, on both table backends: odd digits in
`limit`, bounds at or before 1970, tokens nested deep or tampered with, and a `next` link that
carried the function key and the request's Host."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import pytest

from callcontrol.adapters.store.backend import TableBackend
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
    store = Services(load_settings({}), backend=backend).call_store
    for n in range(count):
        created = T0 + timedelta(seconds=n)
        await store.save(CallRecord(f"c{n:03d}", state=CallState.CONNECTED,
                                    direction=Direction.INBOUND, created_at=created,
                                    updated_at=created), None)


async def get(params: dict[str, str], *, headers: dict[str, str] | None = None,
              url: str | None = None) -> tuple[int, Any]:
    request = http_request("GET", "calls", params=params, headers=headers)
    if url is not None:
        request = func.HttpRequest(method="GET", url=url, headers=headers or {}, params=params,
                                   body=b"")
    response = await invoke("list_calls", request)
    return response.status_code, json_body(response)


# superscript two, Arabic-Indic five, fullwidth five, and mixed with ASCII digits
@pytest.mark.parametrize("raw", ["\u00b2", "\u0665", "\uff15", "1\u00b2", "\u20750"])
async def test_a_limit_in_other_digits_is_a_400_naming_limit(raw: str) -> None:
    status, body = await get({"limit": raw})
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["limit"]


@pytest.mark.parametrize("since", ["1970-01-01T00:00:00Z", "1969-12-31T23:00:00Z",
                                   "0001-01-01T00:00:00+00:00"])
async def test_a_since_at_or_before_1970_bounds_nothing(backend: TableBackend, since: str) -> None:
    await seed(backend, 3)
    status, body = await get({"since": since})
    assert status == 200
    assert [c["callConnectionId"] for c in body["value"]] == ["c002", "c001", "c000"]


@pytest.mark.parametrize("until", ["1970-01-01T00:00:00Z", "1969-12-31T23:00:00Z",
                                   "0001-01-01T00:00:00+00:00"])
async def test_an_until_at_or_before_1970_selects_nothing(backend: TableBackend, until: str) -> None:
    await seed(backend, 3)
    status, body = await get({"until": until})
    assert status == 200
    assert body["value"] == [] and "next" not in body


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("depth", [10, 100_000])
async def test_a_deeply_nested_token_is_a_400_naming_the_token(backend: TableBackend,
                                                               depth: int) -> None:
    await seed(backend, 3)
    token = _b64(b"[" * depth + b"]" * depth)
    status, body = await get({"continuationToken": token})
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["continuationToken"]


async def test_a_token_edited_to_skip_ahead_is_refused(backend: TableBackend) -> None:
    await seed(backend, 6)
    _, first = await get({"limit": "2"})
    _, second = await get({"limit": "2", "continuationToken": first["continuationToken"]})
    # Rewrite the first token's cursor to the second's: a forged position, same filters.
    forged = _forge(first["continuationToken"], _cursor(second["continuationToken"]))
    status, body = await get({"limit": "2", "continuationToken": forged})
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["continuationToken"]
    # An unsigned token of the earlier format (a bare payload) is refused too.
    bare = _b64(json.dumps(_payload(first["continuationToken"])).encode())
    status, body = await get({"limit": "2", "continuationToken": bare})
    assert status == 400 and body["errors"][0]["field"] == "continuationToken"


@pytest.mark.parametrize("token", ["\u00f2G<\u00ff.\u00bd\u0010", "abc.\u00e9t\u00e9", "\u00e9t\u00e9.abc"])
async def test_a_token_with_characters_outside_ascii_is_a_400_not_a_500(backend: TableBackend,
                                                                     token: str) -> None:
    """Found by the fuzz tier: the signature check raised on non-ASCII text (compare_digest)."""
    await seed(backend, 1)
    status, body = await get({"continuationToken": token})
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["continuationToken"]


def _payload(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    decoded = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    assert isinstance(decoded, dict)
    return decoded


def _cursor(token: str) -> str:
    return str(_payload(token)["k"])


def _forge(token: str, cursor: str) -> str:
    parts = token.split(".")
    payload = {**_payload(token), "k": cursor}
    return ".".join([_b64(json.dumps(payload, separators=(",", ":")).encode()), *parts[1:]])


async def test_the_next_link_carries_neither_the_function_key_nor_the_host(
    backend: TableBackend,
) -> None:
    await seed(backend, 3)
    status, body = await get({"limit": "1", "code": "s3cr3t-function-key"},
                             headers={"Host": "evil.example"},
                             url="https://evil.example/api/calls?limit=1&code=s3cr3t-function-key")
    assert status == 200
    link = urlsplit(body["next"])
    assert "s3cr3t" not in body["next"] and "evil.example" not in body["next"]
    assert (link.scheme, link.netloc, link.path) == ("", "", "/api/calls")
    assert dict(parse_qsl(link.query)) == {"limit": "1",
                                           "continuationToken": body["continuationToken"]}
