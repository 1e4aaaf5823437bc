"""The ACS REST surface under /calling: parse → backend → render, nothing else."""

from __future__ import annotations

from aiohttp import web

from emulator import inbound
from emulator.httputil import CORRELATION_KEY, api_version, json_response, read_json
from emulator.middleware import SERVICES_KEY
from emulator.render import call_connection_properties
from emulator.tokens import openid_configuration

CONNECTION_ID = "{callConnectionId:[^/:]+}"


async def answer_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    body = await read_json(request)
    properties = inbound.answer(services, body, api_version(request))
    request[CORRELATION_KEY] = properties["correlationId"]
    return json_response(properties, 200)


async def reject_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    inbound.reject(services, await read_json(request))
    return web.Response(status=204)


async def redirect_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    inbound.redirect(services, await read_json(request))
    return web.Response(status=204)


async def get_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    call_connection_id = request.match_info["callConnectionId"]
    connection = services.registry.live_connection(
        call_connection_id, target=f"/calling/callConnections/{call_connection_id}"
    )
    request[CORRELATION_KEY] = connection.call.correlation_id
    return json_response(call_connection_properties(connection))


async def jwks(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SERVICES_KEY].tokens.jwks())


async def openid(request: web.Request) -> web.StreamResponse:
    return json_response(openid_configuration(request.app[SERVICES_KEY].issuer))


def add_routes(app: web.Application) -> None:
    base = "/calling/callConnections"
    app.router.add_post(base + ":answer", answer_call, name="AnswerCall")
    app.router.add_post(base + ":reject", reject_call, name="RejectCall")
    app.router.add_post(base + ":redirect", redirect_call, name="RedirectCall")
    app.router.add_get(f"{base}/{CONNECTION_ID}", get_call, name="CallConnection_GetCall")
    app.router.add_get("/calling/keys", jwks, name="Keys")
    app.router.add_get("/calling/.well-known/acsopenidconfiguration", openid, name="OpenIdConfiguration")
