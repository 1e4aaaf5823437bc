"""An aiohttp server on a free loopback port, serving from its own event loop in a daemon thread,
so synchronous tests (and tests on another loop) can run it beside the code they drive."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopbackServer:
    """Subclasses build their app in `build_app` and release extra resources in `close`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def build_app(self) -> web.Application:
        raise NotImplementedError

    async def close(self) -> None:
        """Runs on the server's loop after the server stopped."""

    def start_serving(self) -> None:
        self._thread.start()
        self.run(self._serve())

    async def _serve(self) -> None:
        self._runner = web.AppRunner(await self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def stop(self) -> None:
        async def _stop() -> None:
            assert self._runner is not None
            await self._runner.cleanup()
            await self.close()

        self.run(_stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)


S = TypeVar("S", bound=LoopbackServer)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """`server` serving on a free loopback port for the block, stopped however the block ends."""
    server.start_serving()
    try:
        yield server
    finally:
        server.stop()
