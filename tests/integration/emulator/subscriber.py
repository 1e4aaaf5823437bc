"""A webhook subscriber for the local Event Grid topic: a real aiohttp server on loopback, in a thread.

It answers the CloudEvents handshake (OPTIONS) as told and records every delivery; the statuses
it answers deliveries with can be scripted per path.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.loopback import LoopbackServer


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    event: Any

    @property
    def event_id(self) -> str:
        return str(self.event["id"])


class Subscriber(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[Delivery] = []
        self.handshakes: list[dict[str, str]] = []
        # What OPTIONS answers: (status, WebHook-Allowed-Origin or None to echo the request's).
        self.handshake_reply: tuple[int, str | None] = (200, None)
        # Statuses answered to deliveries on a path, consumed in order; 200 once used up.
        self.scripted: dict[str, list[int]] = {}
        # How long each delivery takes to answer, and the most deliveries seen in flight at once.
        self.answer_delay_seconds = 0.0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    def start(self) -> Subscriber:
        self.start_serving()
        return self

    async def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("OPTIONS", "/{path:.*}", self._handshake)
        app.router.add_post("/{path:.*}", self._deliver)
        return app

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def script(self, path: str, *statuses: int) -> None:
        with self._lock:
            self.scripted[path] = list(statuses)

    def received(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the subscriber")
            time.sleep(0.02)

    async def _handshake(self, request: web.Request) -> web.Response:
        origin = request.headers.get("WebHook-Request-Origin", "")
        with self._lock:
            self.handshakes.append({"path": request.match_info["path"], "origin": origin})
            status, allowed = self.handshake_reply
        answer = allowed if allowed is not None else origin
        headers = {} if status != 200 else {"WebHook-Allowed-Origin": answer}
        return web.Response(status=status, headers=headers)

    async def _deliver(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        body = json.loads(await request.read())
        with self._lock:
            self.deliveries.append(Delivery(path, dict(request.headers), body))
            pending = self.scripted.get(path) or []
            status = pending.pop(0) if pending else 200
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        await asyncio.sleep(self.answer_delay_seconds)
        with self._lock:
            self._in_flight -= 1
        return web.Response(status=status)
