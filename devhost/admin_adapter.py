"""The host's admin invocation of a non-HTTP function: `POST /admin/functions/{name}`.

As in the host (FunctionsController.Invoke): every `/admin/...` request needs the master key
(`x-functions-key`, or `?code=`), else 401; the body is `{"input": "..."}`; an unknown function is
404; otherwise the invocation is started in the background and the answer is 202 at once, before the
function runs (its outcome is in the devhost log). Status answers carry no body, like the host's.

* A timer function gets a `func.TimerRequest` with `past_due` false; `input` is ignored.
* An Event Grid function gets `input` as one event (a JSON object in a string), converted like a
  webhook delivery; an input that is not a valid event is a 400 naming the reason (the host would
  accept it and fail the invocation in the background).
* HTTP functions are called over HTTP, not here: 404. Other `/admin` APIs are not served: 404.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final

from aiohttp import web

from devhost import auth
from devhost.eventgrid_adapter import BadDeliveryError, EventGridWebhook, to_trigger_value
from devhost.indexing import FunctionIndex
from devhost.jsonbody import BadJsonError, parse_json
from devhost.routes import decode_segment, split_path
from devhost.settings import HostConfig
from devhost.timers import TimerScheduler

logger = logging.getLogger(__name__)

ADMIN_SEGMENT: Final = "admin"
_INPUT_TYPES: Final = (str, int, float, bool, type(None))


class AdminApi:
    def __init__(
        self, index: FunctionIndex, config: HostConfig, scheduler: TimerScheduler, webhook: EventGridWebhook
    ) -> None:
        self._index = index
        self._config = config
        self._scheduler = scheduler
        self._webhook = webhook
        self._running: set[asyncio.Task[Any]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = auth.presented_key(request.headers, request.query)
        if not auth.is_master(key, self._config.keys):
            logger.warning("Admin request refused with 401: the master key is missing or wrong")
            return web.Response(status=401)
        segments = [decode_segment(segment) for segment in split_path(request.rel_url.raw_path)]
        if len(segments) != 3 or segments[1].lower() != "functions" or request.method != "POST":
            return web.Response(status=404)
        name = segments[2]
        timer = self._scheduler.timer(name)
        event_grid = self._index.event_grid_function(name)
        if timer is None and event_grid is None:
            return web.Response(status=404)
        try:
            invocation = parse_json(await request.read())
            if not isinstance(invocation, dict):
                raise BadJsonError('the body must be a JSON object such as {"input": ""}')
            value = invocation.get("input")
            if not isinstance(value, _INPUT_TYPES):
                raise BadJsonError("input must be a string, a number, a boolean or null")
            if timer is not None:
                work: Coroutine[Any, Any, Any] = self._scheduler.invoke(timer, past_due=False)
            else:
                assert event_grid is not None
                work = self._webhook.invoke_one(event_grid, to_trigger_value(_event_from_input(value)))
        except (BadJsonError, BadDeliveryError) as exc:
            return web.Response(status=400, text=str(exc))
        logger.info("Admin invocation of %s accepted", timer.function.name if timer else name)
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return web.Response(status=202)

    async def stop(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


def _event_from_input(value: object) -> dict[str, Any]:
    if not isinstance(value, str):
        raise BadDeliveryError("input must be one Event Grid event as a JSON string")
    try:
        event = parse_json(value.encode("utf-8", "surrogatepass"))
    except BadJsonError as exc:
        raise BadDeliveryError(f"input: {exc}") from exc
    if not isinstance(event, dict):
        raise BadDeliveryError("input must be one Event Grid event (a JSON object)")
    return event


def is_admin_path(raw_path: str) -> bool:
    segments = split_path(raw_path)
    return bool(segments) and decode_segment(segments[0]).lower() == ADMIN_SEGMENT

