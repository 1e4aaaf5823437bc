"""Small helpers the fault tests share: calls over the API, bounded waits, the emulator's log."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, eventually
from tests.support.http import Reply, call_json

CALLER_ID = "+14255550000"


def connected_call(app: App, *targets: dict[str, str]) -> str:
    reply = app.request("POST", "calls", {"targets": list(targets), "sourceCallerIdNumber": CALLER_ID})
    assert reply.status == 201, reply.text
    call_id = str(reply.json()["callConnectionId"])
    eventually(lambda: app.call(call_id)["state"] == "connected", what="the call to connect")
    return call_id


def answered_within(seconds: float, app: App, method: str, path: str, payload: object = None,
                    headers: dict[str, str] | None = None) -> Reply:
    """One request that must be answered before `seconds` (a deadline the contract sets, such as
    Event Grid's 30 s): no answer by then fails the test instead of hanging it."""
    started = time.monotonic()
    try:
        return call_json(app.url(path), method, payload,
                         {"x-functions-key": app.stack.function_key, **(headers or {})},
                         timeout=seconds)
    except TimeoutError:
        pytest.fail(f"{method} {path} got no answer within {seconds:.0f} s "
                    f"(waited {time.monotonic() - started:.1f} s)")


def emulator_requests(emulator: Emulator, operation: str) -> list[dict[str, Any]]:
    reply = emulator.control("GET", f"requests?operation={operation}")
    assert reply.status == 200, reply.text
    return list(reply.json()["value"])


def operations(app: App, call_id: str) -> list[dict[str, Any]]:
    return list(app.call(call_id)["operations"])
