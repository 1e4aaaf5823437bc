"""Stopping the app closes what it opened: the SDK clients and the credentials made for them.

Unclosed, each client's aiohttp session is reported when it is collected ("Unclosed client
session", with a traceback once telemetry is on). The checks collect the objects and watch the
loop's exception handler, where aiohttp reports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import function_app
from callcontrol import composition
from callcontrol.composition import Services, close_services, services, use_services
from callcontrol.settings import load_settings


@pytest.fixture
async def stub_url() -> AsyncIterator[str]:
    """An HTTP server that answers 404 to everything: enough for the clients to open sessions."""

    async def not_found(_: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "NotFound", "message": "stub"}}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def settings_for(base: str) -> dict[str, str]:
    return {
        "ACS_ENDPOINT": base, "ACS_ACCESS_KEY": "a2V5", "ACS_RESOURCE_ID": "rid",
        "CALLBACK_BASE_URL": "http://127.0.0.1:7071",
        "CallStateStorage": ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                             f"AccountKey=a2V5;TableEndpoint={base}/devstoreaccount1;"),
    }


async def use_clients(built: Services) -> None:
    """One request through the ACS client and one through the table client."""
    with contextlib.suppress(Exception):
        await built.gateway.get_call_properties("no-such-call")
    with contextlib.suppress(Exception):
        await built.backend.get("calls", "p", "r")


async def unclosed_reports(make: Any) -> list[str]:
    """What aiohttp reports when the objects `make` built and dropped are collected."""
    loop = asyncio.get_running_loop()
    reports: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reports.append(str(context.get("message"))))
    try:
        await make()
        for _ in range(3):
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    return [report for report in reports if report.startswith("Unclosed")]


async def test_closed_services_leave_no_session_behind(stub_url: str) -> None:
    async def build_use_close() -> None:
        built = Services(load_settings(settings_for(stub_url)))
        await use_clients(built)
        await built.aclose()
        await built.aclose()  # a second close closes nothing and does not fail

    assert await unclosed_reports(build_use_close) == []


async def test_the_check_sees_sessions_left_open(stub_url: str) -> None:
    # The check can fail: the same clients, dropped without closing, are reported.
    async def build_use_drop() -> None:
        built = Services(load_settings(settings_for(stub_url)))
        await use_clients(built)

    assert "Unclosed client session" in await unclosed_reports(build_use_drop)


class FakeCredential:
    def __init__(self) -> None:
        self.closed = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("no token is asked for here")

    async def close(self) -> None:
        self.closed += 1


class FakeGateway:
    def __init__(self) -> None:
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


async def test_credentials_made_for_the_clients_are_closed_with_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeCredential] = []

    def token_credential(*_: Any, **__: Any) -> FakeCredential:
        made.append(FakeCredential())
        return made[-1]

    from callcontrol.adapters import credentials  # the composition imports it on first use

    monkeypatch.setattr(credentials, "token_credential", token_credential)
    settings = {**settings_for("http://127.0.0.1:9"), "ACS_ACCESS_KEY": "",
                "CallStateStorage": "",
                "CallStateStorage__tableServiceUri": "https://stfake.table.core.windows.net",
                "CallStateStorage__credential": "managedidentity",
                "CallStateStorage__clientId": "00000000-0000-0000-0000-000000000001"}
    built = Services(load_settings(settings))
    assert built.gateway is not None and built.backend is not None
    assert len(made) == 2
    await built.aclose()
    assert [credential.closed for credential in made] == [1, 1]


async def test_given_parts_belong_to_the_giver() -> None:
    given = FakeGateway()
    built = Services(load_settings(settings_for("http://127.0.0.1:9")), gateway=given)  # type: ignore[arg-type]
    assert built.gateway is given
    await built.aclose()
    assert given.closed == 0


async def test_close_services_closes_this_loops_services_and_the_next_call_builds_anew() -> None:
    closed: list[Services] = []

    class Recording(Services):
        async def aclose(self) -> None:
            closed.append(self)

    with use_services(lambda: Recording(load_settings({}))):
        first = services()
        await close_services()
        assert closed == [first]
        await close_services()  # nothing left to close on this loop
        assert closed == [first]
        assert services() is not first


def test_the_app_asks_the_host_to_close_its_services() -> None:
    assert function_app.app.shutdown_hooks == [composition.close_services]  # type: ignore[attr-defined]
