"""HTTP triggers over real HTTP: routing, methods, keys, request building and response rendering."""

from __future__ import annotations

import threading

import pytest

from devhost.server import BackgroundServer
from tests.unit.devhost import sample_app
from tests.unit.devhost.conftest import FUNCTION_KEY, MASTER_KEY, Reply, call


def test_route_parameter_reaches_the_function(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/calls/abc-123")
    assert reply.status == 200
    assert reply.json() == {"function": "get_call", "id": "abc-123"}


def test_literal_segment_beats_parameter_whatever_the_registration_order(server: BackgroundServer) -> None:
    # get_call (calls/{id}) is registered before calls_openapi (calls/openapi).
    assert call(f"{server.base_url}/api/calls/openapi").json() == {"function": "calls_openapi"}


def test_constrained_parameter_beats_plain_parameter(server: BackgroundServer) -> None:
    assert call(f"{server.base_url}/api/items/42").json() == {"function": "item_by_number", "n": "42"}
    assert call(f"{server.base_url}/api/items/forty").json() == {"function": "item_by_name", "name": "forty"}


def test_same_route_is_split_by_method_between_functions(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/calls/openapi", method="POST", body=b"")
    # calls/openapi is GET only, so a POST falls through to calls/{id} (POST, DELETE).
    assert reply.json() == {"function": "change_call", "method": "POST", "id": "openapi"}


def test_literals_match_case_insensitively_and_a_trailing_slash_is_ignored(server: BackgroundServer) -> None:
    assert call(f"{server.base_url}/API/Calls/OpenAPI/").json() == {"function": "calls_openapi"}


def test_percent_encoded_segment_is_decoded(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/calls/c1/participants/4%3A%2B14255550123")
    assert reply.json() == {"id": "c1", "rawId": "4:+14255550123"}


def test_catch_all_and_optional_parameters(server: BackgroundServer) -> None:
    assert call(f"{server.base_url}/api/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}
    assert call(f"{server.base_url}/api/pages").json() == {"page": None}
    assert call(f"{server.base_url}/api/pages/7").json() == {"page": "7"}


@pytest.mark.parametrize("path", ["/api/nowhere", "/api/calls/a/b", "/calls/abc", "/", "/api"])
def test_unmatched_path_is_404(server: BackgroundServer, path: str) -> None:
    assert call(server.base_url + path).status == 404


def test_function_level_needs_a_key(server: BackgroundServer) -> None:
    assert call(f"{server.base_url}/api/guarded").status == 401
    assert call(f"{server.base_url}/api/guarded?code=wrong").status == 401
    assert call(f"{server.base_url}/api/guarded", headers={"x-functions-key": "wrong"}).status == 401


@pytest.mark.parametrize("key", [FUNCTION_KEY, MASTER_KEY])
def test_function_level_accepts_function_or_master_key_in_header_or_query(
    server: BackgroundServer, key: str
) -> None:
    by_header = call(f"{server.base_url}/api/guarded", headers={"x-functions-key": key})
    by_query = call(f"{server.base_url}/api/guarded?code={key}")
    assert (by_header.status, by_header.text) == (200, "function level ok")
    assert (by_query.status, by_query.text) == (200, "function level ok")


def test_header_key_wins_over_query_key(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/guarded?code={FUNCTION_KEY}", headers={"x-functions-key": "wrong"})
    assert reply.status == 401


def test_admin_level_takes_only_the_master_key(server: BackgroundServer) -> None:
    assert call(f"{server.base_url}/api/admin-only?code={FUNCTION_KEY}").status == 401
    assert call(f"{server.base_url}/api/admin-only").status == 401
    reply = call(f"{server.base_url}/api/admin-only", headers={"x-functions-key": MASTER_KEY})
    assert (reply.status, reply.text) == (200, "admin level ok")


def test_request_is_built_from_the_wire_and_context_is_bound(server: BackgroundServer) -> None:
    reply = call(
        f"{server.base_url}/api/echo?a=1&b=two&a=3",
        method="PUT",
        body=b'{"hello": "world"}',
        headers={"X-Sample": "value", "Content-Type": "application/json"},
    )
    assert reply.status == 200
    echoed = reply.json()
    assert isinstance(echoed, dict)
    assert echoed["method"] == "PUT"
    assert echoed["url"] == f"{server.base_url}/api/echo?a=1&b=two&a=3"
    assert echoed["params"] == {"a": "1,3", "b": "two"}
    assert echoed["header"] == "value"
    assert echoed["content_type"] == "application/json"
    assert echoed["body"] == '{"hello": "world"}'
    assert echoed["function_name"] == "echo"
    assert echoed["loop_running"] is True
    assert len(str(echoed["invocation_id"])) == 36


def test_each_invocation_gets_its_own_id(server: BackgroundServer) -> None:
    ids = {str(_echo_json(server)["invocation_id"]) for _ in range(3)}
    assert len(ids) == 3


def _echo_json(server: BackgroundServer) -> dict[str, object]:
    echoed = call(f"{server.base_url}/api/echo", method="POST", body=b"").json()
    assert isinstance(echoed, dict)
    return echoed


def test_response_status_headers_mimetype_and_charset_are_rendered(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/custom")
    assert reply.status == 418
    assert reply.headers["X-Custom"] == "yes"
    assert reply.headers["Set-Cookie"] == "a=1"
    assert reply.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert reply.body == b"<p>hi</p>"


def test_json_mimetype_gets_no_charset(server: BackgroundServer) -> None:
    assert call(f"{server.base_url}/api/calls/x").headers["Content-Type"] == "application/json"


def test_function_name_decorator_and_str_return(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/plain-text", method="PATCH", body=b"")
    assert (reply.status, reply.text) == (200, "hello PATCH")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_none_return_is_204(server: BackgroundServer) -> None:
    reply = call(f"{server.base_url}/api/nothing")
    assert (reply.status, reply.body) == (204, b"")


@pytest.mark.parametrize("path", ["/api/boom", "/api/wrong-type"])
def test_failing_function_is_500_without_internals(
    server: BackgroundServer, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    reply = call(server.base_url + path)
    assert reply.status == 500
    assert "Traceback" not in reply.text
    assert "secret internal detail" not in reply.text
    assert "invocation id" in reply.text
    assert any(record.exc_info for record in caplog.records if record.name == "devhost.http_adapter")


def test_sync_function_runs_off_the_event_loop(server: BackgroundServer) -> None:
    sample_app.release_blocked.clear()
    replies: list[Reply] = []
    waiter = threading.Thread(target=lambda: replies.append(call(f"{server.base_url}/api/block")))
    waiter.start()
    try:
        # Served only if the blocked sync function is not holding the loop.
        assert call(f"{server.base_url}/api/release", method="POST", body=b"").status == 200
    finally:
        sample_app.release_blocked.set()
        waiter.join(10)
    assert replies[0].text == "released"
