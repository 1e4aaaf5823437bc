"""A webhook subscriber for the local Event Grid topic: a real aiohttp server on loopback, in a thread.

It answers the CloudEvents handshake (OPTIONS) as told and records every delivery; the statuses
it answers deliveries with can be scripted per path.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    event: Any

    @property
    def event_id(self) -> str:
        return str(self.event["id"])


class Subscriber:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.handshakes: list[dict[str, str]] = []
        # What OPTIONS answers: (status, WebHook-Allowed-Origin or None to echo the request's).
        self.handshake_reply: tuple[int, str | None] = (200, None)
        # Statuses answered to deliveries on a path, consumed in order; 200 once used up.
        self.scripted: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def start(self) -> Subscriber:
        self._thread.start()
        self._run(self._start())
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("OPTIONS", "/{path:.*}", self._handshake)
        app.router.add_post("/{path:.*}", self._deliver)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def stop(self) -> None:
        assert self._runner is not None
        self._run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

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
        return web.Response(status=status)
