"""The app's shutdown hooks run when the devhost stops: on the loop its async functions ran on,
after the last request, in order, a failing one logged without stopping the next."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import azure.functions as func
import pytest

from devhost.server import SHUTDOWN_HOOKS, run_in_background
from tests.support.http import call


def test_hooks_run_in_order_on_the_serving_loop_when_the_host_stops(
        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, str]] = []
    loops: list[asyncio.AbstractEventLoop] = []
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="where", methods=["GET"])
    async def where(req: func.HttpRequest) -> func.HttpResponse:
        loops.append(asyncio.get_running_loop())
        return func.HttpResponse("ok")

    async def first() -> None:
        seen.append(("first", threading.current_thread().name))
        loops.append(asyncio.get_running_loop())

    async def failing() -> None:
        raise RuntimeError("cannot close")

    async def last() -> None:
        seen.append(("last", threading.current_thread().name))

    setattr(app, SHUTDOWN_HOOKS, [first, failing, last])  # as function_app.py does
    caplog.set_level(logging.ERROR, logger="devhost.server")
    with run_in_background(app) as server:
        assert call(f"{server.base_url}/api/where").status == 200
        assert seen == []  # nothing runs while the host serves
    assert seen == [("first", "devhost-server"), ("last", "devhost-server")]
    assert loops[0] is loops[1]  # the loop the function ran on
    assert any("failing" in record.getMessage() for record in caplog.records)


def test_an_app_without_hooks_stops_as_before() -> None:
    app: Any = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    with run_in_background(app):
        pass
    assert not hasattr(app, SHUTDOWN_HOOKS)
