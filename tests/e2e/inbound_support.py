"""Helpers for the inbound e2e tests: rule sets over the API, emulator settings, raw deliveries."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator
from tests.support.http import Reply, call

ANSWER_ALL: dict[str, Any] = {"rules": [], "defaultAction": {"type": "answer"}}
RuleSetter = Callable[[dict[str, Any]], None]


def put_rules(app: App, rule_set: dict[str, Any]) -> Reply:
    current = app.request("GET", "rules")
    assert current.status == 200, current.text
    reply = app.request("PUT", "rules", rule_set, headers={"If-Match": current.headers["ETag"]})
    assert reply.status == 200, reply.text
    return reply


@pytest.fixture(name="use_rules")
def use_rules_fixture(app: App) -> Iterator[RuleSetter]:
    """Put a rule set for one test; the shipped behaviour (answer all) comes back afterwards."""
    def use(rule_set: dict[str, Any]) -> None:
        put_rules(app, rule_set)

    yield use
    put_rules(app, ANSWER_ALL)


@pytest.fixture(name="emulator_settings")
def emulator_settings_fixture(emulator: Emulator) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Patch emulator settings for one test and put the originals back."""
    original = emulator.control("GET", "settings").json()
    touched: set[str] = set()

    def patch(changes: dict[str, Any]) -> None:
        touched.update(changes)
        reply = emulator.control("PATCH", "settings", changes)
        assert reply.status == 200, reply.text

    yield patch
    if touched:
        emulator.control("PATCH", "settings", {k: original[k] for k in touched})


def wire_identifier(short: dict[str, str]) -> dict[str, Any]:
    """An identifier as ACS puts it into IncomingCall."""
    if "phoneNumber" in short:
        number = short["phoneNumber"]
        return {"kind": "phoneNumber", "rawId": f"4:{number}", "phoneNumber": {"value": number}}
    user = short["communicationUserId"]
    return {"kind": "communicationUser", "rawId": user, "communicationUser": {"id": user}}


def raw_id(short: dict[str, str]) -> str:
    return f"4:{short['phoneNumber']}" if "phoneNumber" in short else short["communicationUserId"]


def incoming_event(placed: dict[str, Any], caller: dict[str, str], callee: dict[str, str]) -> dict[str, Any]:
    """The Event Grid event of an offer the emulator placed without delivering it."""
    return {
        "id": placed["eventId"],
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/e2e/providers/"
                 "Microsoft.Communication/communicationServices/acs-emulator",
        "subject": f"/caller/{raw_id(caller)}/recipient/{raw_id(callee)}",
        "data": {
            "to": wire_identifier(callee),
            "from": wire_identifier(caller),
            "serverCallId": placed["serverCallId"],
            "callerDisplayName": "",
            "incomingCallContext": placed["incomingCallContext"],
            "correlationId": placed["correlationId"],
        },
        "eventType": "Microsoft.Communication.IncomingCall",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": datetime.now(UTC).isoformat(),
    }


def deliver(webhook_url: str, event: dict[str, Any]) -> Reply:
    """One Event Grid delivery attempt, as Event Grid makes it."""
    return call(webhook_url, "POST", json.dumps([event]).encode(), {
        "Content-Type": "application/json", "aeg-event-type": "Notification",
        "aeg-subscription-name": "E2E", "aeg-delivery-count": "0",
        "aeg-output-event-id": event["id"],
    })


def undelivered_call(emulator: Emulator, caller: dict[str, str], callee: dict[str, str]) -> dict[str, Any]:
    """Place an incoming call while the emulator's webhook is off (the caller turns it off)."""
    placed = emulator.incoming_call(caller, callee)
    assert placed["deliveryStatus"] is None, placed
    return placed


def requests_for(emulator: Emulator, operation: str, context: str) -> list[dict[str, Any]]:
    reply = emulator.control("GET", f"requests?operation={operation}")
    assert reply.status == 200, reply.text
    return [r for r in reply.json()["value"]
            if isinstance(r.get("body"), dict) and r["body"].get("incomingCallContext") == context]


def inbound_calls(app: App, server_call_id: str) -> list[dict[str, Any]]:
    return [c for c in app.calls(direction="inbound") if c["serverCallId"] == server_call_id]


def new_id() -> str:
    return uuid.uuid4().hex[:8]
