"""Timers and the admin invocation API over a real devhost: schedules that fire, 202/401/404/400."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from devhost.auth import resolve_keys
from devhost.server import BackgroundServer, run_in_background
from devhost.settings import HostConfig
from tests.support.http import Reply, call
from tests.unit.devhost import timer_app

FUNCTION_KEY, MASTER_KEY, EVENTGRID_KEY = "timer-fn-key", "timer-master-key", "timer-eg-key"


@pytest.fixture(scope="module")
def timer_server() -> Iterator[BackgroundServer]:
    settings = {"DEVHOST_FUNCTION_KEY": FUNCTION_KEY, "DEVHOST_MASTER_KEY": MASTER_KEY,
                "DEVHOST_EVENTGRID_KEY": EVENTGRID_KEY, "TIMER_APP_SCHEDULE": "*/1 * * * * *"}
    config = HostConfig(keys=resolve_keys(settings), app_settings=settings)
    with run_in_background(timer_app.app, config) as running:
        yield running


def _eventually(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _admin(server: BackgroundServer, name: str, body: object = None, key: str | None = MASTER_KEY,
           raw: bytes | None = None) -> Reply:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-functions-key"] = key
    payload = raw if raw is not None else json.dumps({"input": ""} if body is None else body).encode()
    return call(f"{server.base_url}/admin/functions/{name}", "POST", payload, headers)


def test_a_one_second_timer_runs_on_its_schedule(timer_server: BackgroundServer) -> None:
    start = len(timer_app.runs_of("every_second"))
    _eventually(lambda: len(timer_app.runs_of("every_second")) >= start + 3)
    recent = timer_app.runs_of("every_second")[-3:]
    gaps = [later[2] - earlier[2] for earlier, later in itertools.pairwise(recent)]
    assert all(0.5 < gap < 1.5 for gap in gaps), gaps  # once a second, not in a burst
    assert not any(past_due for _, past_due, _ in recent)


def test_a_schedule_from_an_app_setting_runs(timer_server: BackgroundServer) -> None:
    _eventually(lambda: len(timer_app.runs_of("from_setting")) >= 2)


def test_a_failing_timer_is_logged_and_keeps_running(
    timer_server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    _eventually(lambda: len(timer_app.runs_of("always_fails")) >= 2)
    assert call(f"{timer_server.base_url}/api/ping").text == "pong"  # the host is still serving
    _eventually(lambda: any(r.exc_info and "always_fails" in r.getMessage() for r in caplog.records))


def test_admin_invocation_runs_a_timer_now_and_answers_202(timer_server: BackgroundServer) -> None:
    before = len(timer_app.runs_of("yearly"))
    reply = _admin(timer_server, "yearly")
    assert (reply.status, reply.body) == (202, b"")
    _eventually(lambda: len(timer_app.runs_of("yearly")) == before + 1)
    assert timer_app.runs_of("yearly")[-1][1] is False  # past_due


def test_admin_invocation_name_is_case_insensitive_and_code_works(timer_server: BackgroundServer) -> None:
    before = len(timer_app.runs_of("yearly"))
    url = f"{timer_server.base_url}/admin/functions/YEARLY?code={MASTER_KEY}"
    reply = call(url, "POST", b'{"input": null}')
    assert reply.status == 202
    _eventually(lambda: len(timer_app.runs_of("yearly")) == before + 1)


@pytest.mark.parametrize("key", [None, "wrong", FUNCTION_KEY, EVENTGRID_KEY])
def test_admin_invocation_needs_the_master_key(timer_server: BackgroundServer, key: str | None) -> None:
    before = len(timer_app.runs_of("yearly"))
    reply = _admin(timer_server, "yearly", key=key)
    assert (reply.status, reply.body) == (401, b"")
    assert _admin(timer_server, "no_such_function", key=key).status == 401  # the key is checked first
    time.sleep(0.2)
    assert len(timer_app.runs_of("yearly")) == before


@pytest.mark.parametrize("name", ["no_such_function", "ping"])  # ping is an HTTP function
def test_admin_invocation_of_an_unknown_function_is_404(timer_server: BackgroundServer, name: str) -> None:
    reply = _admin(timer_server, name)
    assert (reply.status, reply.body) == (404, b"")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"", "not valid JSON"), (b"[]", "JSON object"), (b'{"input": {"a": 1}}', "input must be"),
     (b"[" * 5000 + b"]" * 5000, "nested deeper"),
     # Issue 25: int() refuses over 4,300 digits with a ValueError that was a 500.
     (b'{"input": ' + b"9" * 6000 + b"}", "digits"),
     (b'{"input": "x", "n": -' + b"1" * 6000 + b"}", "digits")],
)
def test_admin_invocation_with_a_bad_body_is_400(
    timer_server: BackgroundServer, raw: bytes, reason: str
) -> None:
    reply = _admin(timer_server, "yearly", raw=raw)
    assert reply.status == 400
    assert reason in reply.text


def test_other_admin_paths_and_methods_are_404_but_still_keyed(timer_server: BackgroundServer) -> None:
    assert call(f"{timer_server.base_url}/admin/host/status").status == 401
    reply = call(f"{timer_server.base_url}/admin/host/status", headers={"x-functions-key": MASTER_KEY})
    assert reply.status == 404
    reply = call(f"{timer_server.base_url}/admin/functions/yearly", headers={"x-functions-key": MASTER_KEY})
    assert reply.status == 404


def test_admin_invocation_of_an_event_grid_function(timer_server: BackgroundServer) -> None:
    event = {"id": str(uuid.uuid4()), "subject": "s", "eventType": "t", "eventTime": "2024-05-01T10:11:12Z",
             "dataVersion": "1.0", "data": {"via": "admin"}}
    assert _admin(timer_server, "on_event", {"input": json.dumps(event)}).status == 202
    _eventually(lambda: timer_app.events.get(event["id"]) == {"via": "admin"})
    bad = _admin(timer_server, "on_event", {"input": json.dumps({"id": "x"})})
    assert bad.status == 400 and "lacks required field" in bad.text
    huge = json.dumps({"input": '{"id": "x", "data": {"n": ' + "7" * 6000 + "}}"})
    refused = _admin(timer_server, "on_event", raw=huge.encode())
    assert refused.status == 400 and "digits" in refused.text  # was a 500 (issue 25)
