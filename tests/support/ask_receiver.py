"""The emulator's ask receiver served on a free loopback port in the test's own event loop, so the
app's ask adapter is driven against the real receiver (it verifies every signature)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.ask.receiver import AskReceiver, AskSettings
from emulator.ask.replies import parse_script
from emulator.ask.routes import RECEIVER_PREFIX, add_routes

SECRET = "ask-secret-for-tests-0123456789abcdef"  # 36 characters: FLOW_ASK_SECRET's minimum is 32


@dataclass
class LocalReceiver:
    receiver: AskReceiver
    base_url: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{RECEIVER_PREFIX}{path}"

    def script(self, path: str, reply: Any) -> None:
        self.receiver.scripts[path] = parse_script(reply)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        return self.receiver.requests(path)


@asynccontextmanager
async def local_receiver(secret: str | None = SECRET,
                         extra: web.RouteTableDef | None = None) -> AsyncIterator[LocalReceiver]:
    app = web.Application()
    found = LocalReceiver(AskReceiver(AskSettings(secret, 300)), "")
    add_routes(app, found.receiver, lambda: found.base_url)
    if extra is not None:
        app.add_routes(extra)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield found
    finally:
        await runner.cleanup()
