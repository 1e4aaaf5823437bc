"""ACS failing under the running app: slower than the request timeout, and refusing the app's
own credentials. After an ambiguous failure (ACS may have acted) the client's retry with the same
Idempotency-Key recovers the operation as it stands: never a conflict, never a second one."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import App, Emulator, acs_user, eventually
from tests.faults.support import connected_call, emulator_requests, operations

SLOWER_THAN_THE_TIMEOUT = {"operation": "AddParticipant", "latencySeconds": 4, "count": 1}


def roster(app: App, call_id: str) -> set[str]:
    return {p["identifier"]["rawId"] for p in app.call(call_id)["participants"]}


def add_with_slow_acs(app: App, emulator: Emulator, call_id: str,
                      body: dict[str, Any], key: str) -> None:
    """The first attempt: ACS takes longer than the app waits, but does add the participant."""
    emulator.control("POST", "faults", SLOWER_THAN_THE_TIMEOUT)
    try:
        first = app.request("POST", f"calls/{call_id}/participants", body,
                            {"Idempotency-Key": key})
    finally:
        emulator.control("DELETE", "faults")
    assert first.status == 503, first.text
    assert int(first.headers["Retry-After"]) >= 1
    who = body["participant"]["communicationUserId"]
    eventually(lambda: who in roster(app, call_id), what="ACS to add the participant anyway")


def test_a_retry_after_acs_timed_out_returns_the_operation_not_a_conflict(
    app: App, emulator: Emulator
) -> None:
    call_id = connected_call(app, acs_user())
    context, key = f"add-{uuid.uuid4()}", str(uuid.uuid4())
    body = {"participant": acs_user(), "operationContext": context}
    add_with_slow_acs(app, emulator, call_id, body, key)

    retry = app.request("POST", f"calls/{call_id}/participants", body, {"Idempotency-Key": key})
    assert retry.status == 202, retry.text
    accepted = retry.json()
    assert accepted["operationContext"] == context
    assert accepted["invitationId"]
    assert [op for op in operations(app, call_id) if op["operationContext"] == context]
    eventually(lambda: [op["status"] for op in operations(app, call_id)
                        if op["operationContext"] == context] == ["succeeded"],
               what="the one operation to succeed")


def test_a_retry_without_a_context_is_the_same_operation_not_a_second(
    app: App, emulator: Emulator
) -> None:
    call_id = connected_call(app, acs_user())
    who, key = acs_user(), str(uuid.uuid4())
    body = {"participant": who}
    add_with_slow_acs(app, emulator, call_id, body, key)

    retry = app.request("POST", f"calls/{call_id}/participants", body, {"Idempotency-Key": key})
    assert retry.status == 202, retry.text

    def adds() -> list[dict[str, Any]]:
        return [op for op in operations(app, call_id) if op["kind"] == "addParticipant"
                and op["target"]["rawId"] == who["communicationUserId"]]

    assert len(adds()) == 1, adds()
    assert adds()[0]["operationContext"] == retry.json()["operationContext"]
    eventually(lambda: [op["status"] for op in adds()] == ["succeeded"],
               what="the add to be settled as succeeded")
    assert app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True}).status == 202
    eventually(lambda: app.call(call_id)["state"] == "disconnected", what="the hang-up")
    assert [op["status"] for op in adds()] == ["succeeded"]


def test_acs_refusing_the_apps_credentials_is_never_the_clients_401(
    app: App, emulator: Emulator
) -> None:
    call_id = connected_call(app, acs_user())
    for status in (401, 403):
        emulator.control("POST", "faults", {"operation": "GetParticipants", "status": status,
                                            "count": 5})
        try:
            reply = app.request("GET", f"calls/{call_id}/participants")
        finally:
            emulator.control("DELETE", "faults")
        assert reply.status in (502, 503), reply.text
        assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert emulator_requests(emulator, "GetParticipants")
