"""HTTP side of the ask receiver, under /emulator (loopback only, like the control API).

`POST /emulator/ask/<path>` is what a flow's ask step posts to; the rest scripts and reads it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.ask.receiver import AskReceiver
from emulator.ask.replies import parse_script
from emulator.common.errors import AcsError, bad_input
from emulator.common.httputil import json_response
from emulator.common.numbers import finite

RECEIVER_PREFIX = "/emulator/ask/"


@dataclass(frozen=True)
class AskSite:
    receiver: AskReceiver
    base_url: Callable[[], str]


ASK_KEY = web.AppKey("ask_receiver", AskSite)


def _receiver(request: web.Request) -> AskReceiver:
    return request.app[ASK_KEY].receiver


async def receive(request: web.Request) -> web.StreamResponse:
    reply = _receiver(request).receive(request.match_info["path"], request.headers, await request.read())
    if reply.delay_seconds:
        await asyncio.sleep(reply.delay_seconds)
    return web.Response(status=reply.status, body=reply.body(), headers={"Content-Type": reply.media_type()})


async def describe(request: web.Request) -> web.StreamResponse:
    site = request.app[ASK_KEY]
    receiver_url = site.base_url() + RECEIVER_PREFIX + "<path>"
    return json_response({"receiverUrl": receiver_url, **site.receiver.describe()})


async def update(request: web.Request) -> web.StreamResponse:
    body = await _json(request)
    receiver = _receiver(request)
    unknown = set(body) - {"secret", "toleranceSeconds"}
    if unknown:
        raise bad_input(f"unknown fields: {', '.join(sorted(unknown))}")
    if "secret" in body:
        secret = body["secret"]
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise bad_input("secret must be a non-empty string or null")
        receiver.settings.secret = secret
    if "toleranceSeconds" in body:
        tolerance = body["toleranceSeconds"]
        if not _positive(tolerance):
            raise bad_input("toleranceSeconds must be a number > 0")
        receiver.settings.tolerance_seconds = float(tolerance)
    return await describe(request)


def _positive(value: Any) -> bool:
    number = finite(value)
    return number is not None and number > 0


async def put_reply(request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    script = parse_script(await _json(request, object_only=False))
    _receiver(request).scripts[path] = script
    return json_response({"path": path, **script.to_wire()})


async def list_replies(request: web.Request) -> web.StreamResponse:
    scripts = _receiver(request).scripts
    return json_response({"value": [{"path": path, **script.to_wire()} for path, script in scripts.items()]})


async def delete_reply(request: web.Request) -> web.StreamResponse:
    if _receiver(request).scripts.pop(request.match_info["path"], None) is None:
        raise AcsError(404, "NotFound", "no reply is scripted for that path")
    return web.Response(status=204)


async def clear_replies(request: web.Request) -> web.StreamResponse:
    _receiver(request).scripts.clear()
    return web.Response(status=204)


async def list_requests(request: web.Request) -> web.StreamResponse:
    return json_response({"value": _receiver(request).requests(request.query.get("path"))})


async def clear_requests(request: web.Request) -> web.StreamResponse:
    _receiver(request).log.clear()
    return web.Response(status=204)


async def _json(request: web.Request, object_only: bool = True) -> Any:
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise bad_input("the body must be JSON") from None
    if object_only and not isinstance(body, dict):
        raise bad_input("the body must be a JSON object")
    return body


def add_routes(app: web.Application, receiver: AskReceiver, base_url: Callable[[], str]) -> None:
    app[ASK_KEY] = AskSite(receiver, base_url)
    router = app.router
    router.add_post(RECEIVER_PREFIX + "{path:.+}", receive)
    router.add_get("/emulator/ask", describe)
    router.add_patch("/emulator/ask", update)
    router.add_get("/emulator/ask-replies", list_replies)
    router.add_delete("/emulator/ask-replies", clear_replies)
    router.add_put("/emulator/ask-replies/{path:.+}", put_reply)
    router.add_delete("/emulator/ask-replies/{path:.+}", delete_reply)
    router.add_get("/emulator/ask-requests", list_requests)
    router.add_delete("/emulator/ask-requests", clear_requests)
