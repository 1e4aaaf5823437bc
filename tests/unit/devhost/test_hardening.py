"""Regression tests for issue 13 item 9 and issue 15: what devhost answers to odd keys, deep bodies,
unkeyed webhook calls, and the host's empty-bodied 401/404 for a missing key, route or method."""

from __future__ import annotations

import http.client
import json
import socket
import uuid

import pytest

from devhost.server import BackgroundServer
from tests.unit.devhost.conftest import EVENTGRID_KEY, FUNCTION_KEY, MASTER_KEY, call
from tests.unit.devhost.sample_app import received

WEBHOOK = "/runtime/webhooks/EventGrid?functionName=record_event"
NOTIFY = {"aeg-event-type": "Notification", "Content-Type": "application/json"}


def _raw(server: BackgroundServer, method: str, path: str, headers: dict[str, bytes],
         body: bytes = b"") -> tuple[int, bytes]:
    """A request whose header bytes are sent as given (urllib would refuse non-ASCII ones)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _event() -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "subject": "s", "eventType": "t",
            "eventTime": "2024-05-01T10:11:12Z", "dataVersion": "1.0", "data": {}}


@pytest.mark.parametrize("key", [b"\xe9", "é".encode(), b"\xff\xfe", "ключ".encode()])
@pytest.mark.parametrize("path", ["/api/guarded", "/api/admin-only", WEBHOOK])
def test_a_non_ascii_key_header_is_401_not_500(server: BackgroundServer, key: bytes, path: str) -> None:
    method = "POST" if path == WEBHOOK else "GET"
    status, _ = _raw(server, method, path, {"x-functions-key": key, "aeg-event-type": b"Notification"},
                     json.dumps([_event()]).encode())
    assert status == 401


@pytest.mark.parametrize("code", ["%C3%A9", "%FF", "%ED%A0%80", "%F0%9F%94%91"])
def test_a_non_ascii_code_parameter_is_401_not_500(server: BackgroundServer, code: str) -> None:
    status, _ = _raw(server, "GET", f"/api/guarded?code={code}", {})
    assert status == 401


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_a_deeply_nested_event_grid_body_is_400(server: BackgroundServer, depth: int) -> None:
    before = len(received)
    body = b"[" * depth + b"]" * depth
    status, text = _raw(server, "POST", f"{WEBHOOK}&code={EVENTGRID_KEY}",
                        {k: v.encode() for k, v in NOTIFY.items()}, body)
    assert status == 400
    assert b"nested" in text
    assert len(received) == before


@pytest.mark.parametrize("digits", [4_301, 6_000, 100_000])
def test_an_event_grid_body_with_a_huge_integer_is_400(server: BackgroundServer, digits: int) -> None:
    """Issue 25: int() refuses a digit string over sys's limit with a ValueError, once a 500."""
    before = len(received)
    body = json.dumps([_event()]).replace('"data": {}', '"data": {"n": ' + "6" * digits + "}")
    status, text = _raw(server, "POST", f"{WEBHOOK}&code={EVENTGRID_KEY}",
                        {k: v.encode() for k, v in NOTIFY.items()}, body.encode())
    assert status == 400
    assert b"digits" in text
    assert len(received) == before


def test_nesting_up_to_the_limit_is_delivered(server: BackgroundServer) -> None:
    event = _event()
    deep: object = "leaf"
    for _ in range(60):  # the array, the event and its data make 63 levels with this
        deep = [deep]
    event["data"] = {"deep": deep}
    status, _ = _raw(server, "POST", f"{WEBHOOK}&code={EVENTGRID_KEY}",
                     {k: v.encode() for k, v in NOTIFY.items()}, json.dumps([event]).encode())
    assert status == 202
    assert event["id"] in received


@pytest.mark.parametrize(
    ("query", "headers"),
    [("", {}), ("&code=wrong", {}), (f"&code={FUNCTION_KEY}", {}), ("", {"x-functions-key": "wrong"}),
     (f"&code={EVENTGRID_KEY}", {"x-functions-key": "wrong"})],  # the header wins, as for HTTP keys
)
def test_the_event_grid_webhook_needs_the_system_key(
    server: BackgroundServer, query: str, headers: dict[str, str]
) -> None:
    event = _event()
    reply = call(f"{server.base_url}{WEBHOOK}{query}", "POST", json.dumps([event]).encode(),
                 {**NOTIFY, **headers})
    assert (reply.status, reply.body) == (401, b"")
    assert event["id"] not in received


@pytest.mark.parametrize(
    ("query", "headers"),
    [(f"&code={EVENTGRID_KEY}", {}), ("", {"x-functions-key": EVENTGRID_KEY}), (f"&code={MASTER_KEY}", {})],
)
def test_the_system_key_or_the_master_key_opens_the_webhook(
    server: BackgroundServer, query: str, headers: dict[str, str]
) -> None:
    event = _event()
    reply = call(f"{server.base_url}{WEBHOOK}{query}", "POST", json.dumps([event]).encode(),
                 {**NOTIFY, **headers})
    assert reply.status == 202
    assert event["id"] in received


def test_a_missing_or_wrong_key_is_an_empty_401_like_the_host(server: BackgroundServer) -> None:
    for reply in (call(f"{server.base_url}/api/guarded"), call(f"{server.base_url}/api/guarded?code=no")):
        assert (reply.status, reply.body) == (401, b"")
        assert reply.headers.get("Content-Type") is None


@pytest.mark.parametrize("path", ["/api/nowhere", "/", "/other/thing"])
def test_an_unknown_route_is_an_empty_404_like_the_host(server: BackgroundServer, path: str) -> None:
    reply = call(server.base_url + path)
    assert (reply.status, reply.body) == (404, b"")
    assert reply.headers.get("Content-Type") is None


def test_a_wrong_method_is_an_empty_404_like_the_host(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="devhost")
    reply = call(f"{server.base_url}/api/calls/abc", method="PUT", body=b"{}")
    assert (reply.status, reply.body) == (404, b"")
    assert reply.headers.get("Allow") is None
    # The hint the host does not give goes to the devhost log instead (route template, never the path).
    assert "PUT matches calls/{id} which allows DELETE, GET, POST" in caplog.text


@pytest.mark.parametrize("raw_code", [b"\xe9", "é".encode(), b"\xff"])
def test_raw_non_ascii_bytes_in_the_query_key_are_401(server: BackgroundServer, raw_code: bytes) -> None:
    # Not percent-encoded: only a raw socket sends such a request line.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        request_line = b"GET /api/guarded?code=" + raw_code + b" HTTP/1.1\r\n"
        connection.sendall(request_line + b"Host: x\r\nConnection: close\r\n\r\n")
        head = connection.recv(64)
    # aiohttp's parser refuses such a request line itself (400) before devhost sees it; never a 500.
    assert head.split()[1] in (b"400", b"401"), head
