"""The call console's small server: the page (and the API page, console/api_page.py), a
same-origin proxy to the app and the emulator, and the merged views the page polls (a snapshot
of both sides, one call's timeline).

Local only: it listens on loopback, answers only requests addressed to a loopback host name
(no DNS rebinding), and its proxy needs a custom header (so another site's page cannot post
through it). The function key stays here: the page never sees it.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from yarl import URL

from console import api_page, timeline
from console.flow_entries import flow_entries
from console.flow_steps import FLOW_STEP_TYPE
from console.keypad import KeypadInputError, PressLog, dtmf_body, heard_flags, parse_press

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
CONSOLE_HEADER = "X-Call-Console"
TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Upstreams:
    app_url: str
    emulator_url: str
    function_key: str


UPSTREAMS = web.AppKey("upstreams", Upstreams)
SESSION = web.AppKey("session", aiohttp.ClientSession)
PRESSES = web.AppKey("presses", PressLog)


# A loopback name, then at most a port: "[::1]:7072", never "[::1].evil.example" or "[x]".
_HOST_HEADER = re.compile(r"(?P<name>\[[^\]]*\]|[^:\[\]]+)(?::[0-9]{1,5})?")


def is_loopback_host(host: str) -> bool:
    """The Host header names a loopback host (any port): the whole header is checked."""
    found = _HOST_HEADER.fullmatch(host)
    return found is not None and found["name"].lower() in LOOPBACK_HOSTS


@web.middleware
async def local_only(request: web.Request, handler: Any) -> web.StreamResponse:
    if not is_loopback_host(request.host or ""):
        return _problem(403, "the console answers only on a loopback address")
    if request.path.startswith("/console/") and request.headers.get(CONSOLE_HEADER) != "1":
        return _problem(403, f"the console API needs the {CONSOLE_HEADER}: 1 header")
    return await handler(request)


def _problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> web.Response:
    title = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}.get(status, "Error")
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status, content_type="application/problem+json")


# upstream calls -----------------------------------------------------------------------------
async def _exchange(
    request: web.Request, side: str, path: str, method: str = "GET", body: bytes | None = None
) -> tuple[int, str, bytes]:
    """One request to the app's /api or the emulator's /emulator; `path` is already URL-encoded."""
    upstreams = request.app[UPSTREAMS]
    if side == "app":
        url = f"{upstreams.app_url}/api/{path}"
        headers = {"x-functions-key": upstreams.function_key}
    else:
        url = f"{upstreams.emulator_url}/emulator/{path}"
        headers = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    session = request.app[SESSION]
    async with session.request(method, URL(url, encoded=True), data=body, headers=headers) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def _fetch(request: web.Request, side: str, path: str) -> tuple[int, Any]:
    status, _, raw = await _exchange(request, side, path)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class UpstreamRefused(Exception):
    """The app or the emulator answered a read the console needs with something unusable."""


# What an upstream that is down or slow raises; the routes answer 502 problem+json for each.
UPSTREAM_FAILURES = (aiohttp.ClientError, TimeoutError, UpstreamRefused)


def _upstream_problem(error: Exception) -> web.Response:
    if isinstance(error, UpstreamRefused):
        return _problem(502, str(error))
    return _problem(502, f"the stack did not answer: {type(error).__name__}")


async def _values(request: web.Request, side: str, path: str) -> list[Any]:
    status, body = await _fetch(request, side, path)
    if status != 200 or not isinstance(body, dict):
        raise UpstreamRefused(f"the {side} answered GET {path.split('?')[0]} with HTTP {status}")
    return list(body.get("value", []))


# routes -------------------------------------------------------------------------------------
async def index(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def favicon(_request: web.Request) -> web.StreamResponse:
    # Browsers ask for /favicon.ico whatever the page links: answer it rather than 404 each load.
    return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml"})


async def proxy(request: web.Request) -> web.StreamResponse:
    """/console/app/<path> → the app's /api/<path>; /console/emulator/<path> → /emulator/<path>."""
    side = request.match_info["side"]
    if any(segment in (".", "..") for segment in request.match_info["path"].split("/")):
        return _problem(400, "the path may not climb out of the proxied API")
    # Forward the path as the page encoded it (raw ids carry %3A, %2B), query included.
    path = request.raw_path.removeprefix(f"/console/{side}/")
    body = await request.read() if request.can_read_body else None
    try:
        status, content_type, raw = await _exchange(request, side, path, request.method, body)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _problem(502, f"the {side} did not answer: {type(exc).__name__}")
    headers = {"Content-Type": content_type} if content_type and raw else {}
    return web.Response(status=status, body=raw or None, headers=headers)


async def snapshot(request: web.Request) -> web.StreamResponse:
    """Both sides at once: the network's calls and ringing legs, the app's calls and the flows
    its active rule set can start."""
    try:
        network_calls, legs, settings, app_calls, rules = await asyncio.gather(
            _values(request, "emulator", "calls"),
            _values(request, "emulator", "legs"),
            _fetch(request, "emulator", "settings"),
            _values(request, "app", "calls"),
            _fetch(request, "app", "rules"),
        )
    except UPSTREAM_FAILURES as exc:
        return _upstream_problem(exc)
    status, settings_body = settings
    rules_status, rule_set = rules
    rules_ok = rules_status == 200 and isinstance(rule_set, dict)
    return web.json_response(
        {
            "network": {
                "calls": network_calls,
                "legs": legs,
                "unscriptedBehavior": settings_body.get("unscriptedBehavior") if status == 200 else None,
                "resourceNumbers": settings_body.get("resourceNumbers", []) if status == 200 else [],
            },
            "app": {
                "calls": app_calls,
                "flows": flow_entries(rule_set) if rules_ok else [],
                "rulesError": None if rules_ok else f"GET /api/rules: HTTP {rules_status}",
            },
        }
    )


async def call_timeline(request: web.Request) -> web.StreamResponse:
    server_call_id = request.query.get("serverCallId", "")
    if not server_call_id:
        return _problem(400, "serverCallId is required")
    try:
        status, call = await _fetch(request, "emulator", f"calls/{quote(server_call_id, safe='')}")
        if status != 200:
            return _problem(502 if status >= 500 else 400, f"the emulator has no call {server_call_id}")
        journal, requests, callbacks, deliveries, app_calls, flow_events = await asyncio.gather(
            _values(request, "emulator", f"network-log?serverCallId={quote(server_call_id, safe='')}"),
            _values(request, "emulator", "requests"),
            _values(request, "emulator", "callbacks"),
            _values(request, "emulator", "eventgrid/deliveries"),
            _values(request, "app", "calls"),
            # What the app published to the emulator's topic: its flow runs' steps.
            _values(request, "emulator", f"eventgrid/events?type={FLOW_STEP_TYPE}"),
        )
    except UPSTREAM_FAILURES as exc:  # the app stopped, or the emulator: say so, never a 500
        return _upstream_problem(exc)
    presses = request.app[PRESSES].of_call(server_call_id)
    logs = timeline.Logs(call, journal, requests, callbacks, deliveries, app_calls, flow_events, presses)
    return web.json_response(timeline.build(logs))


async def keypad_press(request: web.Request) -> web.StreamResponse:
    """The tester presses keys as a remote party: the emulator's dtmf endpoint, then the console
    remembers the keys for the timeline and says whether a recognize heard them."""
    server_call_id = request.match_info["serverCallId"]
    try:
        press = parse_press(await request.json())
    except KeypadInputError as exc:
        return _problem(400, f"{exc.field}: {exc.reason}", [{"field": exc.field, "reason": exc.reason}])
    except ValueError:  # not JSON at all
        return _problem(400, "body: must be JSON", [{"field": "body", "reason": "must be JSON"}])
    path = f"calls/{quote(server_call_id, safe='')}/dtmf"
    try:
        status, content_type, raw = await _exchange(
            request, "emulator", path, "POST", json.dumps(dtmf_body(press)).encode())
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _problem(502, f"the emulator did not answer: {type(exc).__name__}")
    if status != 200:  # the emulator's own refusal (no such call, ended, not a party): as it is
        headers = {"Content-Type": content_type} if content_type and raw else {}
        return web.Response(status=status, body=raw or None, headers=headers)
    try:
        reply = json.loads(raw)
    except ValueError:
        reply = None
    heard = heard_flags(reply)
    if heard is None:
        return _problem(502, "the emulator's dtmf reply has no tones")
    record = request.app[PRESSES].add(server_call_id, press, heard)
    return web.json_response({**record.to_json(), "tones": reply["tones"]})  # its verdict included


async def _session_context(app: web.Application) -> Any:
    app[SESSION] = aiohttp.ClientSession(timeout=TIMEOUT)
    yield
    await app[SESSION].close()


def make_app(upstreams: Upstreams) -> web.Application:
    app = web.Application(middlewares=[local_only])
    app[UPSTREAMS] = upstreams
    app[PRESSES] = PressLog()
    app.cleanup_ctx.append(_session_context)
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/console/snapshot", snapshot)
    app.router.add_get("/console/timeline", call_timeline)
    app.router.add_post("/console/calls/{serverCallId}/keypad", keypad_press)
    app.router.add_route("*", r"/console/{side:app|emulator}/{path:.*}", proxy)
    api_page.add_routes(app)  # /api-docs: the API page
    return app
