"""The API page: an interactive view of the app's OpenAPI document, served by the console.

Its assets come from the pinned npm package swagger-ui-dist (package.json; `npm ci`), read from
node_modules and served here: the page fetches nothing from anywhere but this loopback server.
The document and "Try it out" go through the console's proxy (`/console/app/…`), so the function
key stays in the console, as for the console page itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

ASSETS: Final = Path(__file__).resolve().parents[1] / "node_modules" / "swagger-ui-dist"
# Only what the page loads: nothing else of node_modules is reachable through the console.
SERVED: Final = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}
PAGE: Final = Path(__file__).resolve().parent / "static" / "api.html"


async def page(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = ASSETS / name
    if name not in SERVED:
        raise web.HTTPNotFound()
    if not path.is_file():
        return web.Response(status=404, text="swagger-ui-dist is not installed: run `npm ci`")
    return web.FileResponse(path, headers={"Content-Type": SERVED[name]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api-docs", page)
    app.router.add_get("/api-docs/assets/{name}", asset)
