"""HTTP helpers shared by the REST and control routes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from emulator.common.errors import AcsError, invalid_argument

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_API_VERSION = "2026-03-12"
CORRELATION_KEY = web.RequestKey("correlation_id", str)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode("utf-8"),
        status=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def error_response(error: AcsError) -> web.Response:
    return json_response(error.body(), error.status)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; an empty or malformed body is ACS's 400/8523."""
    raw = await request.read()
    if not raw.strip():
        raise invalid_argument("The request body is required.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_argument("The request body is not valid JSON.") from None


def api_version(request: web.Request) -> str:
    return request.query.get("api-version") or DEFAULT_API_VERSION
