"""Builds the aiohttp application and serves it (in this loop, or in a background thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from emulator.acs import routes as calling_routes
from emulator.acs.middleware import SERVICES_KEY, calling_middleware
from emulator.ask import routes as ask_routes
from emulator.config import EmulatorConfig
from emulator.control import entra as entra_routes
from emulator.control import routes as control_routes
from emulator.eventgrid import routes as topic_routes
from emulator.services import Services, build_services

T = TypeVar("T")
_SESSION_KEY = web.AppKey("client_session", aiohttp.ClientSession)


def build_app(config: EmulatorConfig) -> web.Application:
    """The emulator as an aiohttp app; ``app[SERVICES_KEY]`` exposes its state."""
    app = web.Application(middlewares=[control_routes.control_middleware, calling_middleware])
    services = build_services(config)
    app[SERVICES_KEY] = services
    calling_routes.add_routes(app)
    control_routes.add_routes(app)
    entra_routes.add_routes(app)
    topic_routes.add_routes(app, services.topic, lambda: services.base_url)
    ask_routes.add_routes(app, services.ask, lambda: services.base_url)
    app.on_startup.append(_open_session)
    # on_shutdown runs before the server waits for open connections: stop talking to the
    # app first, so a callback that is mid-flight cannot hold the shutdown up.
    app.on_shutdown.append(_close_session)
    return app


async def _open_session(app: web.Application) -> None:
    # Callbacks and Event Grid share one pool; no limit per host: the app may be slow.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    app[_SESSION_KEY] = session
    services = app[SERVICES_KEY]
    services.callbacks.attach(session)
    services.eventgrid.attach(session)
    services.prompts.attach(session)
    services.topic.deliverer.attach(session)


async def _close_session(app: web.Application) -> None:
    await app[SERVICES_KEY].background.cancel_all()
    await app[_SESSION_KEY].close()


@dataclass
class Served:
    runner: web.AppRunner
    services: Services
    base_url: str

    async def stop(self) -> None:
        # Stop deliveries while the server still answers, so an app that is mid-way through
        # handling a callback (e.g. fetching our JWKS) can finish instead of hanging.
        await self.services.background.cancel_all()
        await self.runner.cleanup()


async def serve(config: EmulatorConfig) -> Served:
    """Start listening on config.host:config.port (0 = any free port) in the running loop."""
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = _bound_port(runner)
    services = app[SERVICES_KEY]
    services.base_url = f"http://{config.host}:{port}"
    return Served(runner, services, services.base_url)


def _bound_port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])


class EmulatorThread:
    """An emulator serving from its own event loop in a daemon thread (for test fixtures)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="acs-emulator")
        self._served: Served | None = None

    def start(self) -> EmulatorThread:
        self._thread.start()
        self._served = self.run(serve(self._config))
        return self

    @property
    def base_url(self) -> str:
        assert self._served is not None, "not started"
        return self._served.base_url

    @property
    def services(self) -> Services:
        """The live state; touch it only through `run` (it belongs to the emulator's loop)."""
        assert self._served is not None, "not started"
        return self._served.services

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self._served is not None:
            self.run(self._served.stop())
            self._served = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(config: EmulatorConfig) -> EmulatorThread:
    """Serve on a free port (unless config.port is set) and return once it accepts requests."""
    return EmulatorThread(config).start()
