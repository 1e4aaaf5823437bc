"""The stack the docs' examples run against: the e2e wiring (tools/stack.py) on free ports, the
call console, and a loopback Event Grid subscriber standing in for "your service on port 9000".
Module-scoped, so it stops once test_docs.py is done instead of running beside the e2e stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from aiohttp import web

from tests.support.loopback import LoopbackServer, serving
from tools.stack import Stack, start_console, start_stack


class Subscriber(LoopbackServer):
    """Answers the CloudEvents webhook handshake and accepts every delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[object] = []

    async def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("OPTIONS", "/events", self._handshake)
        app.router.add_post("/events", self._deliver)
        return app

    async def _handshake(self, request: web.Request) -> web.Response:
        return web.Response(headers={"WebHook-Allowed-Origin": "*"})

    async def _deliver(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.Response()


def _authority(url: str) -> str:
    return urlparse(url).netloc


@pytest.fixture(scope="module")
def docs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    logs = tmp_path_factory.mktemp("docs-stack-logs")
    stack = start_stack(log_dir=logs)
    try:
        console_url = start_console(stack, log=logs / "console.log")
        yield stack, console_url
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    with serving(Subscriber()) as server:
        yield server


@pytest.fixture(scope="module")
def replacements(docs_stack: tuple[Stack, str], subscriber: Subscriber) -> dict[str, str]:
    """The documented default addresses (make run's ports) → this stack's."""
    stack, console_url = docs_stack
    table = _authority(stack.azurite.table_endpoint)
    pairs = {
        "7071": _authority(stack.app_url),
        "8089": _authority(stack.emulator_url),
        "10002": table,
        "8090": _authority(console_url),
        "9000": _authority(subscriber.base_url),
    }
    found: dict[str, str] = {}
    for port, authority in pairs.items():
        found[f"127.0.0.1:{port}"] = authority
        found[f"localhost:{port}"] = authority
    return found


@pytest.fixture
def workdir(tmp_path: Path, docs_stack: tuple[Stack, str]) -> Path:
    """A checkout as the reader has it after `make run`: the repository's files and .run/."""
    root = Path(__file__).resolve().parents[2]
    for entry in root.iterdir():
        if entry.name not in (".run", ".git"):
            (tmp_path / entry.name).symlink_to(entry)
    run = tmp_path / ".run"
    run.mkdir()
    for name, value in (("function-key", docs_stack[0].function_key),
                        ("master-key", docs_stack[0].master_key)):
        key = run / name
        key.write_text(value + "\n")
        key.chmod(0o600)
    return tmp_path
