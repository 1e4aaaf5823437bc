"""The emulator's Event Grid topic, driven by the official azure-eventgrid publisher client and
delivering to a real loopback subscriber: handshake, filters, retries, dead letters, faults."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken, AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from emulator import EmulatorConfig, EmulatorThread, start_in_thread
from tests.integration.emulator.subscriber import Subscriber
from tests.integration.emulator.support import ACCESS_KEY, RESOURCE_ID
from tests.integration.emulator.swagger import EVENTGRID, Swagger
from tests.support.http import Reply, call, call_json

TOPIC_KEY = "bG9jYWwtdG9waWMta2V5LWZvci10ZXN0cy1vbmx5IQ=="
BATCH = "application/cloudevents-batch+json; charset=utf-8"


@pytest.fixture
def topic() -> Iterator[EmulatorThread]:
    # The real schedule (10 s, 30 s, 1 min, ...) compressed a thousandfold: 10 ms, 30 ms, 60 ms, ...
    config = EmulatorConfig(access_key=ACCESS_KEY, resource_id=RESOURCE_ID, topic_key=TOPIC_KEY,
                            topic_retry_factor=0.001)
    running = start_in_thread(config)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    running = Subscriber().start()
    try:
        yield running
    finally:
        running.stop()


class EntraStandIn:
    """A TokenCredential: mints JWTs shaped like Entra's for the scope asked."""

    def __init__(self, audience: str = "https://eventgrid.azure.net", lifetime: int = 600) -> None:
        self.audience = audience
        self.lifetime = lifetime
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        expires = int(time.time()) + self.lifetime
        claims = {"aud": self.audience, "iss": "https://sts.windows.net/tenant/", "exp": expires,
                  "nbf": int(time.time()) - 5, "oid": "00000000-0000-0000-0000-0000000000aa"}
        token = jwt.encode(claims, "not-a-real-signing-secret-0123456789", algorithm="HS256")
        return AccessToken(token, expires)


def endpoint(topic: EmulatorThread) -> str:
    return f"{topic.base_url}/api/events"


def key_client(topic: EmulatorThread, key: str = TOPIC_KEY) -> EventGridPublisherClient:
    return EventGridPublisherClient(endpoint(topic), AzureKeyCredential(key))


def control(topic: EmulatorThread, path: str, method: str = "GET", payload: object = None) -> Reply:
    return call_json(f"{topic.base_url}/emulator/eventgrid{path}", method, payload)


def subscribe(topic: EmulatorThread, subscriber: Subscriber, name: str, **extra: Any) -> Reply:
    return control(topic, "/subscriptions", "POST",
                   {"name": name, "endpointUrl": subscriber.url(name), **extra})


def event(event_type: str = "call.connected", subject: str = "calls/c-1", **data: Any) -> CloudEvent:
    return CloudEvent(source="/callcontrol/test", type=event_type, subject=subject, data=data or {"n": 1})


def received_events(topic: EmulatorThread) -> list[dict[str, Any]]:
    return [entry["event"] for entry in control(topic, "/events").json()["value"]]


def publish_raw(topic: EmulatorThread, body: bytes, content_type: str = BATCH,
                headers: dict[str, str] | None = None, query: str = "?api-version=2018-01-01") -> Reply:
    all_headers = {"Content-Type": content_type, "aeg-sas-key": TOPIC_KEY, **(headers or {})}
    return call(endpoint(topic) + query, "POST", body, all_headers)


def cloud_event_dict(**overrides: Any) -> dict[str, Any]:
    base = {"specversion": "1.0", "id": "e-1", "source": "/s", "type": "t", "data": {"a": 1}}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


# publishing and delivery ------------------------------------------------------------------------
def test_sdk_publish_with_the_key_reaches_a_handshaken_subscriber_once_per_event_in_order(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    created = subscribe(topic, subscriber, "crm")
    assert created.status == 201, created.text
    assert created.json()["provisioningState"] == "Succeeded"
    assert subscriber.handshakes == [{"path": "crm", "origin": "eventgrid.azure.net"}]

    events = [event(subject=f"calls/c-{i}", n=i) for i in range(5)]
    key_client(topic).send(events)

    subscriber.wait_for(lambda: len(subscriber.received("crm")) == 5)
    got = subscriber.received("crm")
    assert [d.event_id for d in got] == [e.id for e in events]
    first = got[0]
    assert first.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert isinstance(first.event, dict)  # one event per request, not an array
    assert first.event["data"] == {"n": 0}
    assert first.event["specversion"] == "1.0"
    assert first.headers["aeg-event-type"] == "Notification"
    assert first.headers["aeg-subscription-name"] == "CRM"
    assert first.headers["aeg-delivery-count"] == "0"
    assert first.headers["aeg-output-event-id"] == events[0].id
    assert [e["id"] for e in received_events(topic)] == [e.id for e in events]
    publishes = control(topic, "/publishes").json()["value"]
    assert publishes == [{**publishes[0], "status": 200, "auth": "key", "eventCount": 5, "error": None}]


def test_first_attempts_to_a_slow_subscriber_go_one_at_a_time_in_publish_order(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    assert subscribe(topic, subscriber, "slow-reader").status == 201
    subscriber.answer_delay_seconds = 0.05
    events = [event(n=i) for i in range(6)]
    key_client(topic).send(events[:3])
    key_client(topic).send(events[3:])
    subscriber.wait_for(lambda: len(subscriber.received("slow-reader")) == 6)
    assert [d.event_id for d in subscriber.received("slow-reader")] == [e.id for e in events]
    assert subscriber.max_in_flight == 1


def test_what_is_delivered_is_a_cloud_event_by_event_grids_own_schema(
    topic: EmulatorThread, subscriber: Subscriber, swagger: Swagger
) -> None:
    assert subscribe(topic, subscriber, "schema").status == 201
    key_client(topic).send([event(), CloudEvent(source="/s", type="bin", data=b"\x00\x01raw")])
    subscriber.wait_for(lambda: len(subscriber.received("schema")) == 2)
    for delivery in subscriber.received("schema"):
        swagger.validate(delivery.event, "CloudEventEvent", EVENTGRID)
    assert subscriber.received("schema")[1].event["data_base64"] == "AAFyYXc="


def test_a_token_credential_publishes_and_bad_tokens_are_401(topic: EmulatorThread) -> None:
    credential = EntraStandIn()
    client = EventGridPublisherClient(endpoint(topic), credential)
    # azure-core refuses bearer tokens over plain http unless told otherwise per call.
    client.send([event(event_type="via.token")], enforce_https=False)
    assert credential.scopes == ["https://eventgrid.azure.net/.default"]
    assert received_events(topic)[-1]["type"] == "via.token"
    assert control(topic, "/publishes").json()["value"][-1]["auth"] == "bearer"

    for refused in (EntraStandIn(audience="https://storage.azure.com"), EntraStandIn(lifetime=-3600)):
        with pytest.raises(ClientAuthenticationError):
            EventGridPublisherClient(endpoint(topic), refused).send([event()], enforce_https=False)
    not_a_jwt = publish_raw(topic, json.dumps([cloud_event_dict()]).encode(),
                            headers={"aeg-sas-key": "", "Authorization": "Bearer opaque"})
    assert not_a_jwt.status == 401


def test_a_wrong_or_missing_key_is_401_in_event_grids_envelope(topic: EmulatorThread) -> None:
    with pytest.raises(ClientAuthenticationError) as raised:
        key_client(topic, key="wrong").send([event()])
    assert raised.value.status_code == 401
    body = json.dumps([cloud_event_dict()]).encode()
    missing = call(endpoint(topic), "POST", body, {"Content-Type": BATCH})
    assert missing.status == 401
    assert missing.json()["error"]["code"] == "Unauthorized"
    assert received_events(topic) == []


# validation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "target"),
    [
        ([cloud_event_dict(specversion=None)], BATCH, "specversion"),
        ([cloud_event_dict(specversion="0.3")], BATCH, "specversion"),
        ([cloud_event_dict(id=None)], BATCH, "events[0].id"),
        ([cloud_event_dict(), cloud_event_dict(source="")], BATCH, "events[1].source"),
        ([cloud_event_dict(type=7)], BATCH, "events[0].type"),
        ([cloud_event_dict(time="yesterday")], BATCH, "events[0].time"),
        ([cloud_event_dict(Bad_Name="x")], BATCH, "Bad_Name"),
        ([cloud_event_dict(data_base64="AA==")], BATCH, "data_base64"),
        ([], BATCH, "no events"),
        (cloud_event_dict(), BATCH, "array"),
        ([cloud_event_dict()], "application/json", "Content-Type"),
        (["not an object"], BATCH, "JSON object"),
    ],
)
def test_a_malformed_publish_is_400_naming_the_problem_and_stores_nothing(
    topic: EmulatorThread, body: Any, content_type: str, target: str
) -> None:
    key_client(topic).send([event(event_type="kept")])
    reply = publish_raw(topic, json.dumps(body).encode(), content_type)
    assert reply.status == 400, reply.text
    assert reply.json()["error"]["code"] == "BadRequest"
    assert target in reply.json()["error"]["message"]
    assert [e["type"] for e in received_events(topic)] == ["kept"]


def test_invalid_json_and_a_single_structured_event_without_api_version(topic: EmulatorThread) -> None:
    assert publish_raw(topic, b"[{", query="").status == 400
    single = publish_raw(topic, json.dumps(cloud_event_dict(id="solo")).encode(),
                         "application/cloudevents+json; charset=utf-8", query="")
    assert single.status == 200, single.text
    assert received_events(topic)[-1]["id"] == "solo"


def test_size_limits_are_413(topic: EmulatorThread) -> None:
    big = "x" * (1024 * 1024)
    with pytest.raises(HttpResponseError) as raised:
        key_client(topic).send([event(blob=big)])
    assert raised.value.status_code == 413
    limits = control(topic, "/topic", "PATCH", {"maxEventBytes": 2048})
    assert limits.json()["maxEventBytes"] == 2048
    batch = [cloud_event_dict(), cloud_event_dict(data={"b": "y" * 4096})]
    one_big = publish_raw(topic, json.dumps(batch).encode())
    assert one_big.status == 413
    assert one_big.json()["error"]["code"] == "RequestEntityTooLarge"
    assert "events[1]" in one_big.json()["error"]["message"]
    assert received_events(topic) == []


def test_other_methods_are_405(topic: EmulatorThread) -> None:
    reply = call(endpoint(topic), "GET", headers={"aeg-sas-key": TOPIC_KEY})
    assert reply.status == 405
    assert reply.json()["error"]["code"] == "MethodNotAllowed"


# subscriptions ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reply", [(200, "someone-else.example"), (403, None), (200, "")])
def test_a_subscriber_failing_the_handshake_is_not_subscribed(
    topic: EmulatorThread, subscriber: Subscriber, reply: tuple[int, str | None]
) -> None:
    subscriber.handshake_reply = reply
    refused = subscribe(topic, subscriber, "nope")
    assert refused.status == 400
    assert refused.json()["error"]["code"] == "WebhookValidationFailed"
    assert control(topic, "/subscriptions").json()["value"] == []
    key_client(topic).send([event()])
    time.sleep(0.2)  # give a (wrong) delivery the chance to happen
    assert subscriber.received("nope") == []


def test_a_wildcard_allowed_origin_passes_and_unreachable_endpoints_fail(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    subscriber.handshake_reply = (200, "*")
    assert subscribe(topic, subscriber, "star").status == 201
    gone = control(topic, "/subscriptions", "POST", {"name": "gone", "endpointUrl": "http://127.0.0.1:9/x"})
    assert gone.status == 400
    assert "could not be reached" in gone.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "ok-name"}, "endpointUrl"),
        ({"endpointUrl": "ftp://x/y"}, "endpointUrl"),
        ({"endpointUrl": "http://127.0.0.1/x", "name": "a b"}, "name"),
        ({"endpointUrl": "http://127.0.0.1/x", "filter": {"includedEventTypes": "t"}}, "includedEventTypes"),
        ({"endpointUrl": "http://127.0.0.1/x", "filter": {"subjectStartsWith": "x"}}, "subjectStartsWith"),
        ({"endpointUrl": "http://127.0.0.1/x", "retryPolicy": {"maxDeliveryAttempts": 31}}, "maxDelivery"),
        ({"endpointUrl": "http://127.0.0.1/x", "retryPolicy": {"eventTimeToLiveInMinutes": 0}}, "eventTime"),
        ({"endpointUrl": "http://127.0.0.1/x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_subscription_is_400_naming_the_field(
    topic: EmulatorThread, body: dict[str, Any], field: str
) -> None:
    reply = control(topic, "/subscriptions", "POST", body)
    assert reply.status == 400
    assert field in reply.json()["error"]["message"]


def test_subscriptions_are_listed_read_and_deleted(topic: EmulatorThread, subscriber: Subscriber) -> None:
    assert subscribe(topic, subscriber, "one", filter={"subjectBeginsWith": "calls/"}).status == 201
    assert subscribe(topic, subscriber, "two").status == 201
    names = [s["name"] for s in control(topic, "/subscriptions").json()["value"]]
    assert names == ["one", "two"]
    one = control(topic, "/subscriptions/one").json()
    assert one["filter"]["subjectBeginsWith"] == "calls/"
    assert one["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    assert control(topic, "/subscriptions/one", "DELETE").status == 204
    assert control(topic, "/subscriptions/one").status == 404
    key_client(topic).send([event()])
    subscriber.wait_for(lambda: len(subscriber.received("two")) == 1)
    assert subscriber.received("one") == []


def test_filters_on_subject_prefix_suffix_and_event_types(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    assert subscribe(topic, subscriber, "connected-calls", filter={
        "subjectBeginsWith": "calls/", "includedEventTypes": ["call.connected"]}).status == 201
    assert subscribe(topic, subscriber, "endings", filter={"subjectEndsWith": "/END"}).status == 201
    assert subscribe(topic, subscriber, "exact-case", filter={
        "subjectBeginsWith": "Calls/", "isSubjectCaseSensitive": True}).status == 201
    published = [
        event("call.connected", "calls/a"),       # connected-calls
        event("CALL.CONNECTED", "calls/b/end"),   # connected-calls (types ignore case), endings
        event("call.ended", "calls/c/end"),       # endings
        event("call.connected", "inbound/d"),     # none
        event("call.connected", "Calls/e"),       # connected-calls (subjects ignore case), exact-case
    ]
    key_client(topic).send(published)
    expected = {"connected-calls": [0, 1, 4], "endings": [1, 2], "exact-case": [4]}
    subscriber.wait_for(lambda: all(len(subscriber.received(n)) == len(i) for n, i in expected.items()))
    time.sleep(0.1)  # nothing more arrives
    for name, indexes in expected.items():
        assert [d.event_id for d in subscriber.received(name)] == [published[i].id for i in indexes], name


# retries and dead letters ------------------------------------------------------------------------------
def test_a_subscriber_failing_twice_gets_the_event_again_on_the_schedule(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    assert subscribe(topic, subscriber, "flaky").status == 201
    subscriber.script("flaky", 500, 503)
    sent = event()
    key_client(topic).send([sent])
    subscriber.wait_for(lambda: len(subscriber.received("flaky")) == 3)
    got = subscriber.received("flaky")
    assert {d.event_id for d in got} == {sent.id}
    assert [d.headers["aeg-delivery-count"] for d in got] == ["0", "1", "2"]
    log = control(topic, "/subscriptions/flaky/deliveries").json()["value"]
    assert [e["status"] for e in log] == [200, 500, 503, 200]  # the handshake, then three attempts
    assert log[0]["aegEventType"] == "Validation"
    time.sleep(0.1)
    assert len(subscriber.received("flaky")) == 3
    assert control(topic, "/dead-letters").json()["value"] == []


def test_max_attempts_then_the_event_is_dead_lettered(topic: EmulatorThread, subscriber: Subscriber) -> None:
    assert subscribe(topic, subscriber, "down", retryPolicy={"maxDeliveryAttempts": 4}).status == 201
    subscriber.script("down", *[500] * 10)
    sent = event()
    key_client(topic).send([sent])
    wait_for_dead_letters(topic, 1)
    [dead] = control(topic, "/dead-letters?subscription=down").json()["value"]
    assert dead["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
    assert dead["deliveryAttempts"] == 4
    assert dead["lastHttpStatusCode"] == 500
    assert dead["lastDeliveryOutcome"] == "GenericError"
    assert dead["event"]["id"] == sent.id
    assert len(subscriber.received("down")) == 4


def test_a_400_from_the_subscriber_is_not_retried(topic: EmulatorThread, subscriber: Subscriber) -> None:
    assert subscribe(topic, subscriber, "picky").status == 201
    subscriber.script("picky", 400)
    key_client(topic).send([event()])
    wait_for_dead_letters(topic, 1)
    [dead] = control(topic, "/dead-letters").json()["value"]
    assert (dead["deadLetterReason"], dead["deliveryAttempts"], dead["lastDeliveryOutcome"]) == (
        "NonRetriableError", 1, "BadRequest")
    time.sleep(0.1)
    assert len(subscriber.received("picky")) == 1


def test_the_time_to_live_ends_retries_before_the_attempts_run_out(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    # TTL 1 min x 0.001 = 60 ms; the schedule reaches it after 10 + 30 ms: three attempts at most.
    assert subscribe(topic, subscriber, "slow", retryPolicy={"eventTimeToLiveInMinutes": 1}).status == 201
    subscriber.script("slow", *[500] * 30)
    key_client(topic).send([event()])
    wait_for_dead_letters(topic, 1)
    [dead] = control(topic, "/dead-letters").json()["value"]
    assert dead["deadLetterReason"] == "TimeToLiveExceeded"
    assert dead["deliveryAttempts"] <= 3


def wait_for_dead_letters(topic: EmulatorThread, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(control(topic, "/dead-letters").json()["value"]) < count:
        assert time.monotonic() < deadline, "no dead letter in time"
        time.sleep(0.02)


# the publish fault -----------------------------------------------------------------------------------------
def test_the_fault_switch_fails_a_seeded_share_of_publishes_with_503(topic: EmulatorThread) -> None:
    fault = control(topic, "/publish-fault", "PUT", {"share": 0.3, "seed": 42})
    assert fault.json() == {"share": 0.3, "status": 503, "seed": 42, "failed": 0, "passed": 0}
    client = key_client(topic)
    outcomes = [_publish_once(client, i) for i in range(200)]
    draws = random.Random(42)
    assert outcomes == [draws.random() >= 0.3 for _ in range(200)]  # the same seed, the same failures
    failed = outcomes.count(False)
    assert 40 <= failed <= 80
    assert control(topic, "/publish-fault").json()["failed"] == failed
    accepted = [int(e["data"]["i"]) for e in received_events(topic)]
    assert accepted == [i for i, ok in enumerate(outcomes) if ok]  # a failed publish stores nothing
    assert control(topic, "/publish-fault", "DELETE").status == 204
    assert _publish_once(client, 999)


def test_the_sdk_retries_a_503_on_its_own(topic: EmulatorThread) -> None:
    control(topic, "/publish-fault", "PUT", {"share": 0.5, "seed": 3})
    draws = random.Random(3)
    first_success = next(i for i in range(10) if draws.random() >= 0.5)
    assert first_success <= 3, "pick a seed the SDK's three retries get through"
    key_client(topic).send([event(event_type="persisted")])
    assert [e["type"] for e in received_events(topic)] == ["persisted"]
    statuses = [p["status"] for p in control(topic, "/publishes").json()["value"]]
    assert statuses == [503] * first_success + [200]


def test_bad_fault_settings_are_400(topic: EmulatorThread) -> None:
    for body in ({"share": 1.5}, {"share": 0.1, "status": 404}, {"seed": 1}, {"share": 0.1, "seed": "x"}):
        assert control(topic, "/publish-fault", "PUT", body).status == 400


def _publish_once(client: EventGridPublisherClient, index: int) -> bool:
    try:
        client.send([event(i=index)], retry_total=0)
    except HttpResponseError as error:
        if error.status_code != 503:
            raise
        return False
    return True


# the control API -------------------------------------------------------------------------------
def test_the_topic_describes_itself_and_reset_forgets_events_but_keeps_subscriptions(
    topic: EmulatorThread, subscriber: Subscriber
) -> None:
    described = control(topic, "/topic").json()
    assert described["endpoint"] == endpoint(topic)
    assert described["key"] == TOPIC_KEY
    assert described["retryFactor"] == 0.001
    assert subscribe(topic, subscriber, "kept").status == 201
    key_client(topic).send([event(subject="calls/x"), event(event_type="other", subject="inbound/y")])
    assert len(control(topic, "/events?type=other").json()["value"]) == 1
    assert len(control(topic, "/events?subjectBeginsWith=calls/").json()["value"]) == 1
    assert call(f"{topic.base_url}/emulator/reset", "POST").status == 204
    assert received_events(topic) == []
    assert [s["name"] for s in control(topic, "/subscriptions").json()["value"]] == ["kept"]
    assert control(topic, "/topic", "PATCH", {"retryFactor": 0}).status == 400
    assert control(topic, "/topic", "PATCH", {"colour": 1}).status == 400
