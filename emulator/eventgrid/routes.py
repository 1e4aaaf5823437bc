"""HTTP side of the local Event Grid topic.

Publishing: ``POST /api/events[?api-version=...]`` exactly as a custom topic endpoint.
Control (under /emulator, loopback only): the topic, its subscriptions, the events it accepted,
publishes, deliveries, dead letters and the publish-fault switch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.common.errors import bad_input
from emulator.common.httputil import json_response
from emulator.common.numbers import finite
from emulator.eventgrid.auth import authenticate
from emulator.eventgrid.events import Limits, TopicError, parse_batch, too_large
from emulator.eventgrid.subscriptions import parse_subscription
from emulator.eventgrid.topic import INPUT_SCHEMA, EventGridTopic, PublishFault

logger = logging.getLogger(__name__)
PUBLISH_PATH = "/api/events"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class TopicSite:
    """What the routes serve: the topic, and the emulator's base URL (known once it listens)."""

    topic: EventGridTopic
    base_url: Callable[[], str]


# Its own key, not the emulator's Services: the topic knows nothing of the ACS side.
TOPIC_KEY = web.AppKey("eventgrid_topic", TopicSite)


def _topic(request: web.Request) -> EventGridTopic:
    return request.app[TOPIC_KEY].topic


# publishing ----------------------------------------------------------------------------------
async def publish(request: web.Request) -> web.StreamResponse:
    topic = _topic(request)
    auth: str | None = None
    try:
        if request.method != "POST":
            raise TopicError(405, "MethodNotAllowed", f"{request.method} is not allowed; POST events.")
        auth = authenticate(request.headers, topic.key)
        topic.check_fault()
        raw = await _read_limited(request, topic.limits.max_batch_bytes)
        events = parse_batch(raw, request.headers.get("Content-Type"), topic.limits)
    except TopicError as error:
        topic.record_publish(error.status, auth, 0, error.message)
        return json_response(error.body(), error.status)
    except Exception:
        logger.exception("the local topic failed on a publish")
        topic.record_publish(500, auth, 0, "emulator failure")
        failure = TopicError(500, "InternalServerError", "The local topic failed.")
        return json_response(failure.body(), 500)
    topic.accept(events, auth)
    return web.Response(status=200)


async def _read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes without buffering more than that."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(
            f"The request body is {request.content_length} bytes; a batch may be at most {limit} bytes."
        )
    body = bytearray()
    while chunk := await request.content.read(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise too_large(f"The request body exceeds {limit} bytes, the most a batch may be.")
    return bytes(body)


# control: the topic ----------------------------------------------------------------------------
def describe_topic(request: web.Request) -> dict[str, Any]:
    site = request.app[TOPIC_KEY]
    topic = site.topic
    settings = topic.deliverer.settings
    return {
        "endpoint": f"{site.base_url()}{PUBLISH_PATH}",
        "key": topic.key,
        "inputSchema": INPUT_SCHEMA,
        "retryFactor": settings.retry_factor,
        "deliveryTimeoutSeconds": settings.timeout_seconds,
        "maxBatchBytes": topic.limits.max_batch_bytes,
        "maxEventBytes": topic.limits.max_event_bytes,
    }


async def get_topic(request: web.Request) -> web.StreamResponse:
    return json_response(describe_topic(request))


async def patch_topic(request: web.Request) -> web.StreamResponse:
    topic = _topic(request)
    body = await _body(request)
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    known = {"retryFactor", "deliveryTimeoutSeconds", "maxBatchBytes", "maxEventBytes"}
    unknown = set(body) - known
    if unknown:
        raise bad_input(f"unknown topic settings: {', '.join(sorted(unknown))}")
    settings = topic.deliverer.settings
    if "retryFactor" in body:
        settings.retry_factor = _positive(body["retryFactor"], "retryFactor")
    if "deliveryTimeoutSeconds" in body:
        settings.timeout_seconds = _positive(body["deliveryTimeoutSeconds"], "deliveryTimeoutSeconds")
    batch = _count(body.get("maxBatchBytes", topic.limits.max_batch_bytes), "maxBatchBytes")
    event = _count(body.get("maxEventBytes", topic.limits.max_event_bytes), "maxEventBytes")
    topic.limits = Limits(batch, event)
    return json_response(describe_topic(request))


# control: subscriptions ------------------------------------------------------------------------
async def create_subscription(request: web.Request) -> web.StreamResponse:
    subscription = await _topic(request).subscribe(parse_subscription(await _body(request)))
    return json_response(subscription.to_wire(), 201)


async def list_subscriptions(request: web.Request) -> web.StreamResponse:
    subscriptions = _topic(request).subscriptions.values()
    return json_response({"value": [s.to_wire() for s in subscriptions]})


async def get_subscription(request: web.Request) -> web.StreamResponse:
    return json_response(_topic(request).find(request.match_info["name"]).to_wire())


async def delete_subscription(request: web.Request) -> web.StreamResponse:
    _topic(request).unsubscribe(request.match_info["name"])
    return web.Response(status=204)


async def delete_subscriptions(request: web.Request) -> web.StreamResponse:
    _topic(request).unsubscribe_all()
    return web.Response(status=204)


# control: what happened ------------------------------------------------------------------------
async def list_events(request: web.Request) -> web.StreamResponse:
    entries = list(_topic(request).received)
    event_type, subject = request.query.get("type"), request.query.get("subjectBeginsWith")
    if event_type:
        entries = [e for e in entries if e["event"].get("type") == event_type]
    if subject:
        entries = [e for e in entries if str(e["event"].get("subject") or "").startswith(subject)]
    return json_response({"value": entries})


async def list_publishes(request: web.Request) -> web.StreamResponse:
    return json_response({"value": list(_topic(request).publishes)})


async def list_deliveries(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    _topic(request).find(name)
    log = _topic(request).deliverer.log
    return json_response({"value": [entry for entry in log if entry["subscription"] == name]})


async def list_dead_letters(request: web.Request) -> web.StreamResponse:
    entries = list(_topic(request).deliverer.dead_letters)
    name = request.query.get("subscription")
    if name:
        entries = [e for e in entries if e["subscription"] == name]
    return json_response({"value": entries})


# control: the publish fault ---------------------------------------------------------------------
async def put_publish_fault(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    unknown = set(body) - {"share", "status", "seed"}
    if unknown:
        raise bad_input(f"unknown fields: {', '.join(sorted(unknown))}")
    share = body.get("share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise bad_input("share is required: a number from 0 to 1 (0.3 fails 30% of publishes)")
    status = body.get("status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
        raise bad_input("status must be an HTTP status from 500 to 599")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise bad_input("seed must be an integer")
    fault = PublishFault(share=float(share), status=status, seed=seed)
    _topic(request).fault = fault
    return json_response(fault.to_wire())


async def get_publish_fault(request: web.Request) -> web.StreamResponse:
    fault = _topic(request).fault
    return json_response(fault.to_wire() if fault is not None else {"share": 0})


async def delete_publish_fault(request: web.Request) -> web.StreamResponse:
    _topic(request).fault = None
    return web.Response(status=204)


# helpers ---------------------------------------------------------------------------------------
async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise bad_input("a JSON body is required")
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_input("the body is not valid JSON") from None


def _positive(value: Any, name: str) -> float:
    number = finite(value)
    if number is None or number <= 0:
        raise bad_input(f"{name} must be a number > 0")
    return number


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_input(f"{name} must be an integer >= 1")
    return value


def add_routes(app: web.Application, topic: EventGridTopic, base_url: Callable[[], str]) -> None:
    app[TOPIC_KEY] = TopicSite(topic, base_url)
    router = app.router
    router.add_route("*", PUBLISH_PATH, publish)
    base = "/emulator/eventgrid"
    router.add_get(f"{base}/topic", get_topic)
    router.add_patch(f"{base}/topic", patch_topic)
    router.add_get(f"{base}/subscriptions", list_subscriptions)
    router.add_post(f"{base}/subscriptions", create_subscription)
    router.add_delete(f"{base}/subscriptions", delete_subscriptions)
    router.add_get(f"{base}/subscriptions/{{name}}", get_subscription)
    router.add_delete(f"{base}/subscriptions/{{name}}", delete_subscription)
    router.add_get(f"{base}/subscriptions/{{name}}/deliveries", list_deliveries)
    router.add_get(f"{base}/events", list_events)
    router.add_get(f"{base}/publishes", list_publishes)
    router.add_get(f"{base}/dead-letters", list_dead_letters)
    router.add_get(f"{base}/publish-fault", get_publish_fault)
    router.add_put(f"{base}/publish-fault", put_publish_fault)
    router.add_delete(f"{base}/publish-fault", delete_publish_fault)

