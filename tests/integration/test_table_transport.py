"""The app's Table client (connect_tables, on Azurite) reads proxy settings once, when it is built.

Without a proxy at start-up the transport does not consult the environment per request (that
cost about 1 ms of CPU a request: http_environment.py), so a proxy variable set afterwards
changes nothing. With one at start-up, requests go through it, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import pytest

from callcontrol.adapters.store.azure_tables import connect_tables
from callcontrol.domain.errors import StoreError
from tools.azurite import Azurite

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _closed_port_url() -> str:
    # A port the OS just handed out and nothing listens on: connecting there is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


async def test_a_proxy_variable_set_after_start_up_is_not_read_per_request(
        azurite: Azurite, clean_environment: pytest.MonkeyPatch) -> None:
    backend = connect_tables(connection_string=azurite.connection_string,
                             table_prefix=f"tr{uuid.uuid4().hex[:8]}")
    clean_environment.setenv("HTTP_PROXY", _closed_port_url())
    try:
        await backend.upsert("rows", {"PartitionKey": "p", "RowKey": "r", "N": 1})
        found = await backend.get("rows", "p", "r")
        assert found is not None and found["N"] == 1
    finally:
        clean_environment.delenv("HTTP_PROXY")
        await backend.drop("rows")
        await backend.close()


async def test_a_proxy_configured_at_start_up_is_still_used(
        azurite: Azurite, clean_environment: pytest.MonkeyPatch) -> None:
    first_lines: asyncio.Queue[bytes] = asyncio.Queue()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first_lines.put_nowait(await reader.readline())
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clean_environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    backend = connect_tables(connection_string=azurite.connection_string,
                             table_prefix=f"tr{uuid.uuid4().hex[:8]}")
    request = asyncio.ensure_future(
        backend.upsert("rows", {"PartitionKey": "p", "RowKey": "r", "N": 1}))
    try:
        line = await asyncio.wait_for(first_lines.get(), timeout=5)
        # A proxied plain-HTTP request names the whole target URL: Azurite's.
        assert line.startswith(b"POST http://127.0.0.1:") and f":{azurite.port}/".encode() in line
    finally:
        request.cancel()
        with contextlib.suppress(asyncio.CancelledError, StoreError):
            await request
        server.close()
        await backend.close()
