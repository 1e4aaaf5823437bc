"""Operations through the whole offline stack: the reconciler run by hand (POST /api/jobs/...)
catches up a CallDisconnected the emulator dropped; retention, run the same way,
deletes a call past its retention (written back-dated into Azurite) and keeps a current one;
GET /api/ready checks the real
settings, Azurite, the emulator with the app's key, and the emulator's signing keys; a table
deleted under the running app comes back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableServiceClient

from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.store.backend import safe_key
from callcontrol.adapters.store.call_index import day_table
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore
from callcontrol.domain.models import CallRecord, CallState
from callcontrol.domain.reconciliation import NOT_FOUND_AT_ACS, RECONCILIATION_EVENT
from tests.e2e.conftest import App, Emulator, acs_user, eventually, run_job
from tests.support.http import call_json
from tools.stack import Stack


@pytest.fixture
def faults_cleared(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.control("DELETE", "callback-faults")
    emulator.control("DELETE", "faults")


def stored(app: App, call_id: str, **filters: str) -> dict[str, Any] | None:
    """The stored record as the listing shows it (no live ACS view merged in)."""
    query = "&".join(f"{k}={v}" for k, v in {"limit": "500", **filters}.items())
    reply = app.request("GET", f"calls?{query}")
    assert reply.status == 200, reply.text
    return next((c for c in reply.json()["value"] if c["callConnectionId"] == call_id), None)


def test_the_reconciler_ends_a_call_whose_disconnect_was_lost(
    stack: Stack, app: App, emulator: Emulator, faults_cleared: None,
) -> None:
    reply = app.request("POST", "calls", {"targets": [acs_user()]})
    assert reply.status == 201, reply.text
    call_id = str(reply.json()["callConnectionId"])
    eventually(lambda: (stored(app, call_id) or {}).get("state") == "connected", what="connected")
    dropped = emulator.control("POST", "callback-faults",
                               {"mode": "drop", "eventType": "CallDisconnected", "count": 1})
    assert dropped.status == 201, dropped.text
    hung_up = emulator.control("POST", "remote-hangups", {"callConnectionId": call_id})
    assert hung_up.status == 204, hung_up.text
    emulator.control("GET", "callbacks?wait=idle")
    assert emulator.control("GET", "callback-faults").json()["value"] == []  # it was dropped
    left_open = stored(app, call_id)
    assert left_open is not None and left_open["state"] == "connected"  # what the loss leaves

    run_job(stack, "reconciler")

    ended = eventually(lambda: stored(app, call_id, state="disconnected"),
                       what="the reconciler ended the call")
    assert ended["endReason"]["message"] == NOT_FOUND_AT_ACS
    assert stored(app, call_id, state="connected") is None  # gone from the open index
    entries = [e for e in app.events(call_id) if e["type"] == RECONCILIATION_EVENT]
    assert [e["data"]["action"] for e in entries] == ["callEnded"]
    assert app.call(call_id)["state"] == "disconnected"

    run_job(stack, "reconciler")  # again: nothing more to do for this call
    emulator.control("GET", "callbacks?wait=idle")
    assert [e["type"] for e in app.events(call_id)].count(RECONCILIATION_EVENT) == 1


async def test_retention_runs_through_the_admin_api(stack: Stack, app: App) -> None:
    reply = app.request("POST", "calls", {"targets": [acs_user()]})
    assert reply.status == 201, reply.text
    current = str(reply.json()["callConnectionId"])
    old = f"retention-{uuid.uuid4()}"
    created = datetime.now(UTC) - timedelta(days=40)  # past the 30 days calls are kept
    async with TableServiceClient.from_connection_string(
            stack.azurite.connection_string) as tables:
        backend = AzureTableBackend(tables)
        await CallStore(backend).save(CallRecord(
            old, state=CallState.DISCONNECTED, created_at=created,
            updated_at=created + timedelta(minutes=5)), None)
        assert await backend.query(CALLS_TABLE, partition=safe_key(old))  # what must go
        assert stored(app, old) is not None
        old_day = day_table(created)

        run_job(stack, "retention")

        async def left() -> list[object]:
            """The old call's rows: its record, and its index rows in its day's table (which
            retention drops once empty; a listing racing the drop may re-create it, empty)."""
            rows: list[object] = [*await backend.query(CALLS_TABLE, partition=safe_key(old))]
            # Read straight, not through a backend, which would re-create a dropped table.
            with contextlib.suppress(ResourceNotFoundError):
                rows += [row async for row in tables.get_table_client(old_day).list_entities()]
            return rows

        for _ in range(200):  # a table drop may lag the run that asked for it
            if not await left():
                break
            await asyncio.sleep(0.1)
        assert await left() == [], "retention left the 40-day-old call's rows"
    assert stored(app, old) is None
    assert stored(app, current) is not None  # nothing of today is 30 days old


def ready(stack: Stack) -> tuple[int, dict[str, Any]]:
    reply = call_json(f"{stack.app_url}/api/ready", "GET", None,
                      {"x-functions-key": stack.function_key})
    return reply.status, dict(reply.json())


def test_ready_checks_every_dependency(stack: Stack) -> None:
    status, body = ready(stack)
    assert status == 200, body
    assert body["status"] == "ready"
    checks = {c["name"]: c for c in body["checks"]}
    assert set(checks) == {"settings", "tableStorage", "acs", "callbackKeys"}
    for check in checks.values():
        assert check["ok"] and check["durationMs"] >= 0 and check["message"], check
    assert "404" in checks["acs"]["message"]


def test_ready_needs_the_function_key(stack: Stack) -> None:
    reply = call_json(f"{stack.app_url}/api/ready")
    assert reply.status == 401


@pytest.mark.parametrize("status", [401, 403])
def test_ready_says_what_to_fix_when_acs_refuses_the_credential(
    stack: Stack, emulator: Emulator, faults_cleared: None, status: int,
) -> None:
    # Several uses: the minute tick may start a job that looks calls up; the fixture clears
    # what is left.
    fault = emulator.control("POST", "faults", {"operation": "GetCall", "status": status,
                                                "count": 20})
    assert fault.status == 201, fault.text
    code, body = ready(stack)
    assert code == 503, body
    assert body["status"] == "notReady"
    [acs] = [c for c in body["checks"] if c["name"] == "acs"]
    assert not acs["ok"]
    assert f"HTTP {status}" in acs["message"]
    assert "ACS_ACCESS_KEY" in acs["message"]  # the stack authenticates with a key
    assert acs["message"] in body["summary"]
    assert all(c["ok"] for c in body["checks"] if c["name"] != "acs")


async def test_a_table_deleted_while_the_app_runs_is_recreated(stack: Stack, app: App) -> None:
    first = app.request("POST", "calls", {"targets": [acs_user()]})
    assert first.status == 201, first.text  # the app has used (and cached) its tables
    async with TableServiceClient.from_connection_string(
            stack.azurite.connection_string) as tables:
        await tables.delete_table("calls")
        await tables.delete_table("callindex")
    again = app.request("POST", "calls", {"targets": [acs_user()]})
    assert again.status == 201, again.text
    call_id = str(again.json()["callConnectionId"])
    assert stored(app, call_id) is not None
    assert app.request("GET", f"calls/{call_id}/events").status == 200
