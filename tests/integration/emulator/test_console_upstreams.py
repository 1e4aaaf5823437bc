"""The console when the app (or the emulator) is down: each route answers 502 problem+json naming
what did not answer, never a 500 (the timeline was one while the app was stopped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web

from console.server import CONSOLE_HEADER, Upstreams, make_app
from emulator import EmulatorThread
from tests.integration.emulator.support import PSTN_A, USER_A, Control
from tests.support.http import Reply, call_json
from tests.support.loopback import LoopbackServer, serving
from tools.processes import free_port


class ConsoleServer(LoopbackServer):
    def __init__(self, upstreams: Upstreams) -> None:
        super().__init__()
        self.upstreams = upstreams

    async def build_app(self) -> web.Application:
        return make_app(self.upstreams)

    def get(self, path: str) -> Reply:
        return call_json(f"{self.base_url}{path}", "GET", None, {CONSOLE_HEADER: "1"})


def _nobody() -> str:
    """A loopback URL nothing listens on (a stopped devhost)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def app_down(emulator: EmulatorThread) -> Iterator[ConsoleServer]:
    upstreams = Upstreams(app_url=_nobody(), emulator_url=emulator.base_url, function_key="k")
    with serving(ConsoleServer(upstreams)) as server:
        yield server


def _is_problem(reply: Reply, status: int) -> dict[str, object]:
    assert reply.status == status, reply.text
    assert reply.headers.get("Content-Type", "").startswith("application/problem+json"), reply.headers
    body = reply.json()
    assert isinstance(body, dict) and body["status"] == status
    return body


def test_a_calls_timeline_while_the_app_is_down_is_a_502_problem(
    app_down: ConsoleServer, emulator: EmulatorThread
) -> None:
    placed = Control(emulator.base_url).incoming(PSTN_A, USER_A)
    server_call_id = placed["serverCallId"]
    body = _is_problem(app_down.get(f"/console/timeline?serverCallId={server_call_id}"), 502)
    assert "did not answer" in str(body["detail"])


def test_the_snapshot_and_the_proxy_while_the_app_is_down_are_502_problems(app_down: ConsoleServer) -> None:
    assert "did not answer" in str(_is_problem(app_down.get("/console/snapshot"), 502)["detail"])
    assert "did not answer" in str(_is_problem(app_down.get("/console/app/calls"), 502)["detail"])


def test_an_emulator_read_refused_is_a_502_problem_naming_it(emulator: EmulatorThread) -> None:
    # The "emulator" here is the app's port layout without the control API: every read is a 404.
    upstreams = Upstreams(app_url=emulator.base_url, emulator_url=emulator.base_url + "/nothing",
                          function_key="k")
    with serving(ConsoleServer(upstreams)) as server:
        body = _is_problem(server.get("/console/snapshot"), 502)
        assert "HTTP 404" in str(body["detail"]), body


def test_the_timeline_with_everything_down_is_a_502_problem() -> None:
    upstreams = Upstreams(app_url=_nobody(), emulator_url=_nobody(), function_key="k")
    with serving(ConsoleServer(upstreams)) as server:
        _is_problem(server.get("/console/timeline?serverCallId=abc"), 502)
