"""The ACS REST surface under /calling: parse → backend → render, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from emulator.acs import inbound, media, midcall, outbound, recognize
from emulator.acs.middleware import SERVICES_KEY
from emulator.acs.models import CallConnection
from emulator.acs.render import call_connection_properties
from emulator.acs.tokens import openid_configuration
from emulator.common.errors import invalid_argument, participant_not_found
from emulator.common.httputil import CORRELATION_KEY, api_version, json_response, read_json
from emulator.common.identifiers import from_raw_id
from emulator.services import Services

CONNECTIONS = "/calling/callConnections"
CONNECTION = CONNECTIONS + "/{callConnectionId:[^/:]+}"
SKIP_TOKEN = "skipToken"


def _connection(request: web.Request, target: bool = False) -> CallConnection:
    services = request.app[SERVICES_KEY]
    call_connection_id = request.match_info["callConnectionId"]
    where = f"{CONNECTIONS}/{call_connection_id}" if target else None
    connection = services.registry.live_connection(call_connection_id, target=where)
    request[CORRELATION_KEY] = connection.call.correlation_id
    return connection


def _no_content() -> web.Response:
    return web.Response(status=204)


# calls ---------------------------------------------------------------------------------------
async def create_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    connection, properties = outbound.create_call(services, await read_json(request), api_version(request))
    request[CORRELATION_KEY] = connection.call.correlation_id
    return json_response(properties, 201)


async def answer_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    properties = inbound.answer(services, await read_json(request), api_version(request))
    request[CORRELATION_KEY] = properties["correlationId"]
    return json_response(properties, 200)


async def connect_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    connection, properties = outbound.connect(services, await read_json(request), api_version(request))
    request[CORRELATION_KEY] = connection.call.correlation_id
    return json_response(properties, 200)


async def reject_call(request: web.Request) -> web.StreamResponse:
    inbound.reject(request.app[SERVICES_KEY], await read_json(request))
    return _no_content()


async def redirect_call(request: web.Request) -> web.StreamResponse:
    inbound.redirect(request.app[SERVICES_KEY], await read_json(request))
    return _no_content()


async def get_call(request: web.Request) -> web.StreamResponse:
    return json_response(call_connection_properties(_connection(request, target=True)))


async def hang_up(request: web.Request) -> web.StreamResponse:
    midcall.hang_up(request.app[SERVICES_KEY], _connection(request))
    return _no_content()


async def terminate(request: web.Request) -> web.StreamResponse:
    midcall.terminate(request.app[SERVICES_KEY], _connection(request))
    return _no_content()


# participants --------------------------------------------------------------------------------
async def list_participants(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    connection = _connection(request)
    try:
        skip = int(request.query.get(SKIP_TOKEN, "0"))
    except ValueError:
        raise invalid_argument("The skipToken is not valid.") from None
    if skip < 0:
        raise invalid_argument("The skipToken is not valid.")
    page, following = midcall.participant_page(connection, skip, services.settings.participants_page_size)
    body: dict[str, object] = {"value": page}
    if following is not None:
        query = urlencode({"api-version": api_version(request), SKIP_TOKEN: following})
        # The host the client called: it signs the next request for that host (HMAC), and the
        # bind address (e.g. 0.0.0.0) need not be reachable.
        body["nextLink"] = f"{request.scheme}://{request.host}{request.path}?{query}"
    return json_response(body)


async def get_participant(request: web.Request) -> web.StreamResponse:
    connection = _connection(request)
    raw_id = request.match_info["participantRawId"]
    participant = connection.call.participants.get(from_raw_id(raw_id).raw_id)
    if participant is None:
        raise participant_not_found()
    return json_response(participant.to_wire())


MidCallAction = Callable[[Services, CallConnection, Any], dict[str, Any]]


def _mid_call(action: MidCallAction, status: int) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A mid-call POST: the live connection, the JSON body, the backend action, its status."""

    async def handler(request: web.Request) -> web.StreamResponse:
        connection = _connection(request)
        body = await read_json(request)
        return json_response(action(request.app[SERVICES_KEY], connection, body), status)

    return handler


add_participant = _mid_call(midcall.add_participant, 202)
remove_participant = _mid_call(midcall.remove_participant, 202)
cancel_add_participant = _mid_call(midcall.cancel_add, 202)
mute = _mid_call(midcall.mute, 200)
transfer = _mid_call(midcall.transfer, 202)


# media ---------------------------------------------------------------------------------------
async def play(request: web.Request) -> web.StreamResponse:
    connection = _connection(request)
    media.play(request.app[SERVICES_KEY], connection, await read_json(request))
    return web.Response(status=202)


async def recognize_media(request: web.Request) -> web.StreamResponse:
    connection = _connection(request)
    recognize.recognize(request.app[SERVICES_KEY], connection, await read_json(request))
    return web.Response(status=202)


async def cancel_all_media(request: web.Request) -> web.StreamResponse:
    # The swagger gives this operation no body; whatever comes is not read.
    media.cancel_all(request.app[SERVICES_KEY], _connection(request))
    return web.Response(status=202)


# token keys ----------------------------------------------------------------------------------
async def jwks(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SERVICES_KEY].tokens.jwks())


async def openid(request: web.Request) -> web.StreamResponse:
    # The keys live here even when --issuer names the real ACS issuer; point at the address the
    # client reached (the bind address may be 0.0.0.0).
    own_base_url = f"{request.scheme}://{request.host}"
    return json_response(openid_configuration(request.app[SERVICES_KEY].issuer, own_base_url))


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(CONNECTIONS, create_call, name="CreateCall")
    router.add_post(CONNECTIONS + ":answer", answer_call, name="AnswerCall")
    router.add_post(CONNECTIONS + ":reject", reject_call, name="RejectCall")
    router.add_post(CONNECTIONS + ":connect", connect_call, name="Connect")
    router.add_post(CONNECTIONS + ":redirect", redirect_call, name="RedirectCall")
    router.add_get(CONNECTION, get_call, name="CallConnection_GetCall")
    router.add_delete(CONNECTION, hang_up, name="CallConnection_HangupCall")
    router.add_post(CONNECTION + ":terminate", terminate, name="CallConnection_TerminateCall")
    router.add_post(
        CONNECTION + ":transferToParticipant", transfer, name="CallConnection_TransferToParticipant"
    )
    participants = CONNECTION + "/participants"
    router.add_get(participants, list_participants, name="CallConnection_GetParticipants")
    router.add_post(participants + ":add", add_participant, name="CallConnection_AddParticipant")
    router.add_post(participants + ":remove", remove_participant, name="CallConnection_RemoveParticipant")
    router.add_post(
        participants + ":cancelAddParticipant",
        cancel_add_participant,
        name="CallConnection_CancelAddParticipant",
    )
    router.add_post(participants + ":mute", mute, name="CallConnection_Mute")
    router.add_get(
        participants + "/{participantRawId}", get_participant, name="CallConnection_GetParticipant"
    )
    router.add_post(CONNECTION + ":play", play, name="CallMedia_Play")
    router.add_post(CONNECTION + ":recognize", recognize_media, name="CallMedia_Recognize")
    router.add_post(
        CONNECTION + ":cancelAllMediaOperations", cancel_all_media, name="CallMedia_CancelAllMediaOperations"
    )
    router.add_get("/calling/keys", jwks, name="Keys")
    router.add_get("/calling/.well-known/acsopenidconfiguration", openid, name="OpenIdConfiguration")
