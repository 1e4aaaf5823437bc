"""The Event Grid webhook over real HTTP: handshake, deliveries, failures and bad input."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest

from devhost.server import BackgroundServer
from tests.support.shared import shared_root
from tests.unit.devhost.conftest import EVENTGRID_KEY, Reply, call
from tests.unit.devhost.sample_app import received

NOTIFY = {"aeg-event-type": "Notification", "Content-Type": "application/json"}


def _webhook(server: BackgroundServer, function: str = "record_event") -> str:
    return f"{server.base_url}/runtime/webhooks/EventGrid?functionName={function}&code={EVENTGRID_KEY}"


def _event(**data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/x/resourceGroups/y/providers/"
        "Microsoft.Communication/communicationServices/z",
        "subject": "/caller/4:+14255550100/recipient/4:+14255550199",
        "eventType": "Microsoft.Communication.IncomingCall",
        "eventTime": "2024-05-01T10:11:12.1234567Z",
        "dataVersion": "1.0",
        "data": data,
    }


def _post(url: str, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    return call(url, method="POST", body=body, headers=NOTIFY if headers is None else headers)


def test_subscription_validation_answers_the_code_without_invoking(server: BackgroundServer) -> None:
    validation = _event(validationCode="code-123", validationUrl="https://example.invalid/validate")
    validation["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent"
    reply = _post(_webhook(server), [validation], {"aeg-event-type": "SubscriptionValidation"})
    assert reply.status == 200
    assert reply.json() == {"validationResponse": "code-123"}
    assert validation["id"] not in received


def test_notification_with_two_events_invokes_twice_and_answers_202(server: BackgroundServer) -> None:
    first, second = _event(n=1), _event(n=2)
    reply = _post(_webhook(server), [first, second])
    assert reply.status == 202
    assert received[first["id"]]["data"] == {"n": 1}
    assert received[second["id"]]["data"] == {"n": 2}
    recorded = received[first["id"]]
    assert recorded["type"] == "EventGridEvent"
    assert recorded["event_type"] == "Microsoft.Communication.IncomingCall"
    assert recorded["subject"] == first["subject"]
    assert recorded["topic"] == first["topic"]
    assert recorded["data_version"] == "1.0"
    assert recorded["event_time"] == datetime.datetime(2024, 5, 1, 10, 11, 12, 123456, tzinfo=datetime.UTC)


def test_single_event_object_is_accepted(server: BackgroundServer) -> None:
    event = _event(single=True)
    assert _post(_webhook(server), event).status == 202
    assert received[event["id"]]["data"] == {"single": True}


def test_one_failing_event_makes_the_delivery_500(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = _event(n=1), _event(fail=True)
    reply = _post(_webhook(server), [good, bad])
    assert reply.status == 500
    assert "1 of 2" in reply.text
    assert "event asked to fail" not in reply.text
    assert good["id"] in received and bad["id"] not in received
    assert any("event asked to fail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_function_name_and_path_are_case_insensitive(server: BackgroundServer) -> None:
    event = _event(casing=True)
    url = f"{server.base_url}/RUNTIME/webhooks/eventgrid?functionName=Record_Event&code={EVENTGRID_KEY}"
    assert _post(url, [event]).status == 202
    assert event["id"] in received


def test_cloud_event_reaches_an_async_function_with_context(server: BackgroundServer) -> None:
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": "/subscriptions/x/providers/Microsoft.Communication/communicationServices/z",
        "type": "Microsoft.Communication.IncomingCall",
        "specversion": "1.0",
        "time": "2024-05-01T10:11:12Z",
        "data": {"cloud": True},
    }
    assert _post(_webhook(server, "async_event"), [event]).status == 202
    assert received[event["id"]] == {"function": "async_event", "type": "CloudEvent", "data": {"cloud": True}}


def test_cloud_events_options_handshake(server: BackgroundServer) -> None:
    reply = call(
        _webhook(server), method="OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}
    )
    assert reply.status == 200
    assert reply.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_unknown_function_is_404(server: BackgroundServer) -> None:
    assert _post(_webhook(server, "no_such_function"), [_event()]).status == 404


def test_http_function_is_not_an_event_grid_function(server: BackgroundServer) -> None:
    assert _post(_webhook(server, "echo"), [_event()]).status == 404


@pytest.mark.parametrize(
    ("headers", "payload", "reason"),
    [
        ({"Content-Type": "application/json"}, [_event()], "aeg-event-type is missing"),
        ({"aeg-event-type": "Bogus"}, [_event()], "unknown value 'Bogus'"),
        (NOTIFY, b"[{not json", "not valid JSON"),
        (NOTIFY, [], "empty array"),
        (NOTIFY, ["a string"], "not a JSON object"),
        (NOTIFY, [{"id": "x", "data": {}}], "lacks required field(s): eventType"),
        (NOTIFY, [{**_event(), "eventTime": "yesterday"}], "yesterday"),
        ({"aeg-event-type": "SubscriptionValidation"}, [_event()], "validationCode"),
    ],
)
def test_bad_deliveries_are_400_and_say_why(
    server: BackgroundServer, headers: dict[str, str], payload: Any, reason: str
) -> None:
    before = len(received)
    reply = _post(_webhook(server), payload, headers)
    assert reply.status == 400
    assert reason in reply.text
    assert len(received) == before


def test_missing_function_name_is_400(server: BackgroundServer) -> None:
    reply = _post(f"{server.base_url}/runtime/webhooks/EventGrid?code={EVENTGRID_KEY}", [_event()])
    assert reply.status == 400
    assert "functionName" in reply.text


def test_subscription_deletion_is_acknowledged(server: BackgroundServer) -> None:
    assert _post(_webhook(server), [_event()], {"aeg-event-type": "SubscriptionDeletion"}).status == 202


@pytest.mark.parametrize(
    ("file_name", "function"),
    [
        ("incoming_call.eventgrid-schema.json", "record_event"),
        ("incoming_call.cloudevents-schema.json", "async_event"),
    ],
)
def test_documented_incoming_call_payloads_are_delivered(
    server: BackgroundServer, file_name: str, function: str
) -> None:
    path = shared_root() / "acs-contract" / "events" / "eventgrid" / file_name
    if not path.exists():
        pytest.skip(f"shared ACS contract payload {path} not found (set ACS_SHARED_DIR)")
    payload = json.loads(path.read_text(encoding="utf-8"))
    events = payload if isinstance(payload, list) else [payload]
    for event in events:
        event["id"] = str(uuid.uuid4())  # the sample ids are shared by other tests' payloads
    assert _post(_webhook(server, function), events).status == 202
    assert all(event["id"] in received for event in events)


def test_documented_validation_handshake(server: BackgroundServer) -> None:
    folder = shared_root() / "acs-contract" / "events" / "eventgrid"
    request, response = (
        folder / "subscription_validation_event.eventgrid-schema.json",
        folder / "subscription_validation_response.json",
    )
    if not request.exists() or not response.exists():
        pytest.skip(f"shared ACS contract payloads not found under {folder} (set ACS_SHARED_DIR)")
    reply = _post(
        _webhook(server), json.loads(request.read_text()), {"aeg-event-type": "SubscriptionValidation"}
    )
    assert reply.status == 200
    assert reply.json() == json.loads(response.read_text())
