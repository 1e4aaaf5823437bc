"""The console's Host check: only a loopback host name, with an optional port (no DNS rebinding)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from console.server import local_only


async def _page(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost", "localhost:80",
                                  "[::1]", "[::1]:7072"])
async def test_loopback_hosts_are_answered(host: str) -> None:
    response = await local_only(make_mocked_request("GET", "/", headers={"Host": host}), _page)
    assert response.status == 200


@pytest.mark.parametrize("host", [
    # Issue 25: any host starting with "[" passed as [::1].
    "[evil.example]", "[::1].evil.example", "[::2]", "[", "[::1]x", "[::1]:", "[::1]:x",
    "[::ffff:8.8.8.8]:80",
    "evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "127.0.0.1:x", "",
])
async def test_other_hosts_are_refused(host: str) -> None:
    response = await local_only(make_mocked_request("GET", "/", headers={"Host": host}), _page)
    assert response.status == 403
