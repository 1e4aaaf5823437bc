"""The whole offline stack (Azurite + ACS emulator + devhost serving function_app) over real HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from tests.support.http import Reply, call_json
from tools.stack import Stack, start_stack

T = TypeVar("T")


NEVER = "0 0 0 1 1 *"  # midnight on January 1st: not during a test run
E2E_TIMER_SETTINGS = {"RECONCILE_SCHEDULE": NEVER, "RETENTION_SCHEDULE": NEVER,
                      "RECONCILE_AFTER_MINUTES": "0"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stack-logs")
    # Timers run only when a test asks (admin invocation), and then look at every open call.
    running = start_stack(log_dir=logs, app_overrides=E2E_TIMER_SETTINGS)
    try:
        yield running
    finally:
        running.stop()
        _print_logs_on_failure(logs)


def _print_logs_on_failure(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name} (last lines) ---", *tail, sep="\n")


class App:
    """The function app as a client sees it: /api routes with the function key."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def url(self, path: str) -> str:
        return f"{self.stack.app_url}/api/{path}"

    def request(self, method: str, path: str, payload: object = None,
                headers: dict[str, str] | None = None) -> Reply:
        return call_json(self.url(path), method, payload,
                         {"x-functions-key": self.stack.function_key, **(headers or {})})

    def call(self, call_id: str) -> dict[str, Any]:
        reply = self.request("GET", f"calls/{call_id}")
        assert reply.status == 200, reply.text
        return dict(reply.json())

    def events(self, call_id: str) -> list[dict[str, Any]]:
        reply = self.request("GET", f"calls/{call_id}/events")
        assert reply.status == 200, reply.text
        return list(reply.json()["value"])

    def calls(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        reply = self.request("GET", f"calls?{query}")
        assert reply.status == 200, reply.text
        return list(reply.json()["value"])


def run_job(stack: Stack, name: str) -> dict[str, Any] | None:
    """Run a scheduled job now, as an operator would: POST /api/jobs/{name}, master key; the
    answer comes when the job has ended, with its counts."""
    reply = call_json(f"{stack.app_url}/api/jobs/{name}", "POST", None,
                      {"x-functions-key": stack.master_key})
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["job"] == name, body
    counts: dict[str, Any] | None = body["counts"]
    return counts


class Emulator:
    """The emulator's control API (its phone network, request log and faults)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def control(self, method: str, path: str, payload: object = None) -> Reply:
        return call_json(f"{self.stack.emulator_url}/emulator/{path}", method, payload)

    def incoming_call(self, caller: dict[str, str], callee: dict[str, str],
                      **extra: object) -> dict[str, Any]:
        reply = self.control("POST", "incoming-calls", {"from": caller, "to": callee, **extra})
        assert reply.status in (200, 201, 202), reply.text
        return dict(reply.json())

    def requests(self) -> list[dict[str, Any]]:
        reply = self.control("GET", "requests")
        assert reply.status == 200, reply.text
        body = reply.json()
        return list(body["value"] if isinstance(body, dict) else body)


@pytest.fixture(scope="session")
def app(stack: Stack) -> App:
    return App(stack)


@pytest.fixture(scope="session")
def emulator(stack: Stack) -> Emulator:
    return Emulator(stack)


def eventually(check: Callable[[], T | None], *, timeout: float = 15, what: str = "") -> T:
    """Poll until `check` returns something truthy: callbacks are asynchronous."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check.__name__}; last saw {last!r}")


def acs_user() -> dict[str, str]:
    return {"communicationUserId": f"8:acs:e2e_{uuid.uuid4()}"}


def pstn(number: str | None = None) -> dict[str, str]:
    return {"phoneNumber": number or f"+1425555{uuid.uuid4().int % 10000:04d}"}


def encoded(raw_id: str) -> str:
    return quote(raw_id, safe="")
