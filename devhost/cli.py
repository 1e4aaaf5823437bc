"""`python -m devhost`: load settings, import the app, index it, serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from devhost import auth
from devhost.errors import DevhostError, SettingsError
from devhost.indexing import FunctionIndex
from devhost.loader import load_app
from devhost.server import INDEX_KEY, SCHEDULER_KEY, build_app, start, url_host
from devhost.settings import HostConfig, apply_settings, read_local_settings
from devhost.timers import TimerScheduler
from logformat import announce, configure_root

logger = logging.getLogger("devhost")

DEFAULT_SETTINGS = "local.settings.json"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devhost", description="Serve an Azure Functions v2 app locally."
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the FunctionApp")
    parser.add_argument(
        "--settings", default=None, help=f"settings file; default {DEFAULT_SETTINGS} under --root, if present"
    )
    parser.add_argument("--root", default=".", help="app root: import path and host.json location")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_root(args.log_level, sys.stderr)  # LOG_FORMAT=json: one JSON object per line
    root = Path(args.root).resolve()
    try:
        _load_settings(root, args.settings)
        function_app = load_app(args.app, root)
        config = HostConfig.from_environ(root)
        app = build_app(function_app, config)
    except DevhostError as exc:
        print(f"devhost: {exc}", file=sys.stderr, flush=True)
        return 2
    return asyncio.run(_serve(app, config, args.host, args.port))


def _load_settings(root: Path, explicit: str | None) -> None:
    if explicit is None:
        path = root / DEFAULT_SETTINGS
        if not path.exists():
            return
    else:
        path = Path(explicit)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.exists():
            raise SettingsError(f"settings file {path} does not exist")
    applied = apply_settings(read_local_settings(path), os.environ)
    logger.info("Loaded %d setting(s) from %s (the environment wins over the file)", len(applied), path)


async def _serve(app: web.Application, config: HostConfig, host: str, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner, bound_port = await start(app, host, port)
    base_url = f"http://{url_host(host)}:{bound_port}"
    _announce(app[INDEX_KEY], app[SCHEDULER_KEY], config, base_url)
    announce(f"devhost listening on {base_url}", "devhost")
    try:
        await stop.wait()
    finally:
        logger.info("Shutting down")
        await runner.cleanup()
    return 0


def _announce(index: FunctionIndex, scheduler: TimerScheduler, config: HostConfig, base_url: str) -> None:
    """List the functions with their URLs, and any key the developer did not set."""
    prefix = f"/{config.route_prefix}" if config.route_prefix else ""
    lines = ["Functions:"]
    for fn in index.http:
        methods = ",".join(sorted(fn.methods)) if fn.methods else "*"
        lines.append(
            f"  {fn.name}: [{methods}] {base_url}{prefix}/{fn.route.text.strip('/')} ({fn.auth_level})"
        )
    for eg in index.event_grid:
        lines.append(
            f"  {eg.name}: eventGridTrigger "
            f"{base_url}/runtime/webhooks/EventGrid?functionName={eg.name}&code=<{auth.EVENTGRID_KEY_SETTING}>"
        )
    for timer in scheduler.timers:
        lines.append(
            f"  {timer.function.name}: timerTrigger {timer.schedule.text!r} "
            f"(run now: POST {base_url}/admin/functions/{timer.function.name} with the master key)"
        )
    for skipped in index.skipped:
        lines.append(f"  {skipped.name}: {skipped.trigger_type} (not served by devhost)")
    keys = config.keys.by_setting()
    for name in sorted(config.keys.generated):
        # Generated keys are throwaway values for this run only; printing them is the point.
        lines.append(f"{name} not set; generated for this run: {keys[name]}")
    announce("\n".join(lines), "devhost")
