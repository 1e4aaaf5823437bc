"""The Event Grid webhook: `POST /runtime/webhooks/EventGrid?functionName=NAME`.

Follows the host's Event Grid extension:

* `aeg-event-type: SubscriptionValidation` -> 200 `{"validationResponse": <data.validationCode>}`,
  the function is not invoked;
* `aeg-event-type: Notification` -> the body (a JSON array of events, or one event object) is
  delivered one event per invocation, all invocations concurrently; 202 when every one succeeded,
  500 when any failed, so Event Grid redelivers the batch;
* `aeg-event-type: Unsubscribe` / `SubscriptionDeletion` -> 202, nothing invoked;
* `OPTIONS` with `WebHook-Request-Origin` -> the CloudEvents abuse-protection handshake (200 with
  `WebHook-Allowed-Origin`);
* unknown function -> 404; missing/unknown `aeg-event-type`, malformed JSON, a body nested deeper
  than 64 levels or an event without its required fields -> 400 naming the problem.

Every request needs the system key (`code=` or `x-functions-key`; the host's `eventgrid_extension`
key, devhost's DEVHOST_EVENTGRID_KEY) or the master key, checked first: 401 with an empty body.

Events in the Event Grid schema become `func.EventGridEvent`, CloudEvents (those with `specversion`)
become `func.CloudEvent`, both through the library's own trigger converter.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any, Final

import azure.functions as func
from aiohttp import web
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from devhost import auth
from devhost.context import InvocationContext
from devhost.indexing import EventGridFunction, FunctionIndex
from devhost.invoker import Invoker
from devhost.jsonbody import BadJsonError, parse_json
from devhost.settings import HostConfig

logger = logging.getLogger(__name__)

WEBHOOK_PATH: Final = "/runtime/webhooks/eventgrid"
EVENT_TYPE_HEADER: Final = "aeg-event-type"
VALIDATION: Final = "subscriptionvalidation"
NOTIFICATION: Final = "notification"
UNSUBSCRIBE: Final = frozenset({"unsubscribe", "subscriptiondeletion"})
VALIDATION_EVENT_TYPE: Final = "Microsoft.EventGrid.SubscriptionValidationEvent"
_EVENT_GRID_REQUIRED: Final = ("id", "eventType", "subject", "eventTime", "dataVersion")
_CLOUD_EVENT_REQUIRED: Final = ("id", "source", "type", "specversion")


TriggerEvent = func.EventGridEvent | func.CloudEvent


class BadDeliveryError(ValueError):
    """The delivery is not something Event Grid would send; the message says why."""


class EventGridWebhook:
    def __init__(self, index: FunctionIndex, config: HostConfig, invoker: Invoker) -> None:
        self._index = index
        self._config = config
        self._invoker = invoker

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = auth.presented_key(request.headers, request.query)
        if not auth.opens_eventgrid_webhook(key, self._config.keys):
            logger.warning("Event Grid delivery refused with 401: no valid system key")
            return web.Response(status=401)
        name = request.query.get("functionName", "")
        if not name:
            return _problem(400, "the functionName query parameter is required")
        function = self._index.event_grid_function(name)
        if function is None:
            return _problem(404, f"no Event Grid triggered function named {name!r}")
        if request.method == "OPTIONS":
            return _cloud_events_handshake(request)
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST, OPTIONS"})
        event_type = request.headers.get(EVENT_TYPE_HEADER, "").lower()
        if event_type in UNSUBSCRIBE:
            return web.Response(status=202)
        if event_type not in (VALIDATION, NOTIFICATION):
            shown = request.headers.get(EVENT_TYPE_HEADER)
            reason = "is missing" if shown is None else f"has unknown value {shown!r}"
            return _problem(400, f"header {EVENT_TYPE_HEADER} {reason}")
        try:
            events = parse_events(await request.read())
            if event_type == VALIDATION:
                return web.json_response({"validationResponse": validation_code(events)})
            triggers = [to_trigger_value(event) for event in events]
        except BadDeliveryError as exc:
            return _problem(400, str(exc))
        return await self._deliver(function, triggers)

    async def _deliver(self, function: EventGridFunction, events: Sequence[TriggerEvent]) -> web.Response:
        outcomes = await asyncio.gather(*(self.invoke_one(function, event) for event in events))
        failed = [invocation for invocation, succeeded in outcomes if not succeeded]
        if failed:
            return _problem(
                500,
                f"{len(failed)} of {len(events)} invocations of {function.name} failed "
                f"(invocation ids: {', '.join(failed)}); see the devhost log",
            )
        return web.Response(status=202)

    async def invoke_one(self, function: EventGridFunction, event: TriggerEvent) -> tuple[str, bool]:
        context = InvocationContext(function.name, self._config.function_directory)
        logger.info(
            "Executing %s for event %s (invocation %s)", function.name, event.id, context.invocation_id
        )
        try:
            result = await self._invoker.invoke(function, event, context)
            if result is not None:
                # The worker rejects a value returned without a $return binding, failing the invocation.
                raise TypeError(
                    f"function {function.name} has no $return binding but returned {type(result).__name__}"
                )
        except Exception:
            logger.exception(
                "Function %s failed for event %s (invocation %s)",
                function.name,
                event.id,
                context.invocation_id,
            )
            return context.invocation_id, False
        return context.invocation_id, True


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a delivery: a JSON array of objects, or a single object."""
    try:
        document = parse_json(body)
    except BadJsonError as exc:
        raise BadDeliveryError(str(exc)) from exc
    events = document if isinstance(document, list) else [document]
    if not events:
        raise BadDeliveryError("the body is an empty array; Event Grid always delivers at least one event")
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            raise BadDeliveryError(f"event {position} is a {type(event).__name__}, not a JSON object")
    return events


def to_trigger_value(event: dict[str, Any]) -> TriggerEvent:
    """Check an event's required fields and convert it with the library's own trigger converter."""
    required = _CLOUD_EVENT_REQUIRED if "specversion" in event else _EVENT_GRID_REQUIRED
    # Present and not null; `subject` may legitimately be empty, an id may not.
    missing = [name for name in required if event.get(name) is None or (name == "id" and not event[name])]
    if missing:
        raise BadDeliveryError(
            f"event {event.get('id', '?')!r} lacks required field(s): {', '.join(missing)}"
        )
    try:
        value: TriggerEvent = EventGridEventInConverter.decode(
            meta.Datum(type="json", value=json.dumps(event)), trigger_metadata={}
        )
    except ValueError as exc:  # e.g. an eventTime that is not a timestamp
        raise BadDeliveryError(f"event {event.get('id', '?')!r}: {exc}") from exc
    return value


def validation_code(events: Sequence[dict[str, Any]]) -> str:
    """The validation code of a SubscriptionValidation delivery."""
    data = events[0].get("data")
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        raise BadDeliveryError("a SubscriptionValidation event must carry data.validationCode")
    return code


def _cloud_events_handshake(request: web.Request) -> web.Response:
    origin = request.headers.get("WebHook-Request-Origin")
    if not origin:
        return _problem(400, "OPTIONS needs a WebHook-Request-Origin header (CloudEvents validation)")
    return web.Response(status=200, headers={"WebHook-Allowed-Origin": origin, "Allow": "POST, OPTIONS"})


def _problem(status: int, detail: str) -> web.Response:
    if status >= 500:
        logger.error("Event Grid delivery answered %d: %s", status, detail)
    else:
        logger.warning("Event Grid delivery rejected with %d: %s", status, detail)
    return web.Response(status=status, text=detail)
