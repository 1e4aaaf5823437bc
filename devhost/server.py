"""The aiohttp application and the ways to run it: in the caller's loop, or in a background thread.

`build_app` is the Python API other tools use; `run_in_background` is what e2e fixtures use:

    with run_in_background(app, HostConfig(keys=resolve_keys({...}))) as server:
        requests.get(server.base_url + "/api/health")
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Self

from aiohttp import web

from devhost.admin_adapter import AdminApi, is_admin_path
from devhost.eventgrid_adapter import WEBHOOK_PATH, EventGridWebhook
from devhost.http_adapter import HttpDispatcher
from devhost.indexing import FunctionIndex, IndexableApp, index_app
from devhost.invoker import Invoker
from devhost.routes import decode_segment, split_path
from devhost.settings import HostConfig
from devhost.timers import TimerScheduler, prepare_timers, time_zone

# The real host accepts request bodies up to 100 MB; aiohttp's default is 1 MB.
MAX_REQUEST_BYTES: Final = 100 * 1024 * 1024
SHUTDOWN_GRACE_SECONDS: Final = 5.0
INDEX_KEY: Final = web.AppKey("devhost_index", FunctionIndex)
CONFIG_KEY: Final = web.AppKey("devhost_config", HostConfig)
SCHEDULER_KEY: Final = web.AppKey("devhost_timers", TimerScheduler)
# The Python v2 programming model has no shutdown hook yet (azure-functions-python-worker#1904):
# an app that wants its clients closed when the devhost stops lists async callables under this
# attribute of its FunctionApp. They run on the loop its async functions ran on, after the last
# in-flight request, in order; one failing is logged and does not stop the next.
SHUTDOWN_HOOKS: Final = "shutdown_hooks"

logger = logging.getLogger(__name__)
_WEBHOOK_SEGMENTS: Final = split_path(WEBHOOK_PATH)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(function_app: IndexableApp, config: HostConfig | None = None) -> web.Application:
    """An aiohttp application serving `function_app`; indexing errors (a bad timer schedule included)
    raise right here. Timers start when the application starts and stop when it shuts down."""
    host_config = config or HostConfig()
    index = index_app(function_app)
    timers = prepare_timers(index.timers, host_config.app_settings)
    zone = time_zone(host_config.app_settings)
    invoker = Invoker(host_config.max_workers)
    http = HttpDispatcher(index.http, host_config, invoker)
    webhook = EventGridWebhook(index, host_config, invoker)
    scheduler = TimerScheduler(timers, invoker, host_config.function_directory, zone)
    admin = AdminApi(index, host_config, scheduler, webhook)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        # Runtime and admin paths are matched case-insensitively and before user routes, as in the host.
        raw_path = request.rel_url.raw_path
        segments = [decode_segment(s).lower() for s in split_path(raw_path)]
        handler: Handler = http.handle
        if segments == _WEBHOOK_SEGMENTS:
            handler = webhook.handle
        elif is_admin_path(raw_path):
            handler = admin.handle
        return await handler(request)

    async def start_timers(_: web.Application) -> None:
        await scheduler.start()

    async def stop_timers(_: web.Application) -> None:
        await scheduler.stop()
        await admin.stop()

    hooks: list[Callable[[], Awaitable[object]]] = list(getattr(function_app, SHUTDOWN_HOOKS, None) or ())

    async def run_shutdown_hooks(_: web.Application) -> None:
        for hook in hooks:
            try:
                await hook()
            except Exception:
                logger.exception("The app's shutdown hook %s failed", getattr(hook, "__qualname__", hook))

    async def close_invoker(_: web.Application) -> None:
        invoker.close()

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[INDEX_KEY] = index
    app[CONFIG_KEY] = host_config
    app[SCHEDULER_KEY] = scheduler
    app.router.add_route("*", "/{tail:.*}", dispatch)
    app.on_startup.append(start_timers)
    app.on_shutdown.append(stop_timers)
    app.on_cleanup.append(run_shutdown_hooks)
    app.on_cleanup.append(close_invoker)
    return app


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start serving `app` on the current loop; return the runner and the port actually bound."""
    # No access log: paths carry phone numbers (participant raw ids). In-flight requests get a few
    # seconds to finish on shutdown, so Ctrl+C does not hang on a stuck function.
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    return runner, bound_port


class BackgroundServer:
    """A devhost serving from its own thread and event loop; `stop()` shuts it down and joins."""

    def __init__(self, app: web.Application, host: str, port: int, startup_timeout: float) -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="devhost-server", daemon=True)
        self._thread.start()
        try:
            started = asyncio.run_coroutine_threadsafe(start(app, host, port), self._loop)
            self._runner, self.port = started.result(startup_timeout)
        except BaseException:
            self._halt_loop()
            raise
        self.base_url = f"http://{url_host(host)}:{self.port}"
        self._lock = threading.Lock()
        self._stopped = False

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listener, finish cleanup (executor included) and end the thread; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            try:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout)
            finally:
                self._halt_loop(timeout)

    def _halt_loop(self, timeout: float = 10.0) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def run_in_background(
    function_app: IndexableApp,
    config: HostConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
) -> BackgroundServer:
    """Serve `function_app` on `host:port` (0 = a free port) from a daemon thread."""
    return BackgroundServer(build_app(function_app, config), host, port, startup_timeout)


def url_host(host: str) -> str:
    """`host` as it appears in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host
