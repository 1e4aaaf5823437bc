"""The control API under /emulator (loopback only, no ACS auth): script the phone network."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.acs.faults import operation_matches
from emulator.acs.middleware import SERVICES_KEY
from emulator.common.errors import AcsError, bad_input
from emulator.common.httputil import error_response, json_response
from emulator.control import legs, media, operations

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def control_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/emulator/"):
        return await handler(request)
    if not _is_loopback(request.remote):
        return error_response(AcsError(403, "Forbidden", "the control API is loopback only"))
    try:
        return await handler(request)
    except AcsError as error:
        return error_response(error)


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


async def _body(request: web.Request, required: bool = True) -> Any:
    raw = await request.read()
    if not raw.strip():
        if required:
            raise bad_input("a JSON body is required")
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_input("the body is not valid JSON") from None


async def place_incoming_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    result = await operations.place_incoming_call(services, await _body(request))
    return json_response(result, 201)


async def list_requests(request: web.Request) -> web.StreamResponse:
    entries = list(request.app[SERVICES_KEY].request_log)
    operation = request.query.get("operation")
    if operation:
        entries = [e for e in entries if operation_matches(operation, e.operation)]
    return json_response({"value": [entry.to_wire() for entry in entries]})


async def list_callbacks(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    if request.query.get("wait") == "idle":
        await services.callbacks.idle()
    return json_response({"value": list(services.callbacks.log)})


async def list_eventgrid_deliveries(request: web.Request) -> web.StreamResponse:
    return json_response({"value": list(request.app[SERVICES_KEY].eventgrid.log)})


async def validate_subscription(request: web.Request) -> web.StreamResponse:
    """The validationUrl of the handshake: visiting it validates the webhook (manual mode)."""
    services = request.app[SERVICES_KEY]
    if not services.eventgrid.confirm_manual_validation(request.query.get("code", "")):
        raise AcsError(404, "NotFound", "unknown validation code")
    return json_response({"validated": True})


async def rotate_keys(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    body = await _body(request, required=False)
    retain = body.get("retainPrevious", False) if isinstance(body, dict) else None
    if not isinstance(retain, bool):
        raise bad_input("retainPrevious must be a boolean")
    kid = services.tokens.rotate(retain_previous=retain)
    return json_response({"kid": kid, "keys": services.tokens.jwks()["keys"]})


async def set_endpoint(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(operations.set_endpoint_behavior(services, await _body(request)))


async def list_endpoints(request: web.Request) -> web.StreamResponse:
    return json_response(operations.list_endpoint_behaviors(request.app[SERVICES_KEY]))


async def clear_endpoints(request: web.Request) -> web.StreamResponse:
    request.app[SERVICES_KEY].network.behaviors.clear()
    return web.Response(status=204)


async def get_resource_numbers(request: web.Request) -> web.StreamResponse:
    numbers = sorted(request.app[SERVICES_KEY].network.resource_numbers)
    return json_response({"numbers": numbers})


async def put_resource_numbers(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(operations.set_resource_numbers(services, await _body(request)))


async def list_calls(request: web.Request) -> web.StreamResponse:
    return json_response(operations.describe_calls(request.app[SERVICES_KEY]))


async def get_call(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(operations.find_call_description(services, request.match_info["callId"]))


async def remote_hang_up(request: web.Request) -> web.StreamResponse:
    operations.remote_hang_up(request.app[SERVICES_KEY], await _body(request))
    return web.Response(status=204)


async def list_legs(request: web.Request) -> web.StreamResponse:
    return json_response(legs.list_legs(request.app[SERVICES_KEY]))


async def answer_leg(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(legs.answer_leg(services, request.match_info["legId"]))


async def answer_legs_together(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(legs.answer_legs_together(services, await _body(request)))


async def decline_leg(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    body = await _body(request, required=False)
    return json_response(legs.decline_leg(services, request.match_info["legId"], body))


async def hang_up_leg(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(legs.hang_up_leg(services, request.match_info["legId"]))


async def network_log(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(legs.network_log(services, request.query.get("serverCallId")))


async def add_fault(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(operations.add_response_fault(services, await _body(request)), 201)


async def list_faults(request: web.Request) -> web.StreamResponse:
    faults = request.app[SERVICES_KEY].faults.faults
    return json_response({"value": [fault.to_wire() for fault in faults]})


async def clear_faults(request: web.Request) -> web.StreamResponse:
    request.app[SERVICES_KEY].faults.clear()
    return web.Response(status=204)


async def add_callback_fault(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(operations.add_callback_fault(services, await _body(request)), 201)


async def list_callback_faults(request: web.Request) -> web.StreamResponse:
    faults = request.app[SERVICES_KEY].callbacks.faults
    return json_response({"value": [fault.to_wire() for fault in faults]})


async def clear_callback_faults(request: web.Request) -> web.StreamResponse:
    request.app[SERVICES_KEY].callbacks.faults.clear()
    return web.Response(status=204)


async def get_settings(request: web.Request) -> web.StreamResponse:
    return json_response(operations.describe_settings(request.app[SERVICES_KEY]))


async def patch_settings(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(operations.update_settings(services, await _body(request)))


async def reset(request: web.Request) -> web.StreamResponse:
    await operations.reset(request.app[SERVICES_KEY])
    return web.Response(status=204)


async def get_media(request: web.Request) -> web.StreamResponse:
    return json_response(media.describe_media(request.app[SERVICES_KEY].media))


async def patch_media(request: web.Request) -> web.StreamResponse:
    return json_response(media.update_media(request.app[SERVICES_KEY], await _body(request)))


async def press_keys(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response(await media.press_keys(services, request.match_info["callId"], await _body(request)))


async def health(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return json_response({"status": "ok", "baseUrl": services.base_url})


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/emulator/health", health)
    router.add_post("/emulator/incoming-calls", place_incoming_call)
    router.add_get("/emulator/requests", list_requests)
    router.add_get("/emulator/callbacks", list_callbacks)
    router.add_get("/emulator/eventgrid/deliveries", list_eventgrid_deliveries)
    router.add_get("/emulator/eventgrid/validate", validate_subscription)
    router.add_post("/emulator/keys:rotate", rotate_keys)
    router.add_post("/emulator/reset", reset)
    router.add_get("/emulator/calls", list_calls)
    router.add_get("/emulator/calls/{callId}", get_call)
    router.add_post("/emulator/remote-hangups", remote_hang_up)
    router.add_get("/emulator/legs", list_legs)
    router.add_post("/emulator/legs:answer", answer_legs_together)
    router.add_post("/emulator/legs/{legId}/answer", answer_leg)
    router.add_post("/emulator/legs/{legId}/decline", decline_leg)
    router.add_post("/emulator/legs/{legId}/hangup", hang_up_leg)
    router.add_get("/emulator/network-log", network_log)
    router.add_get("/emulator/endpoints", list_endpoints)
    router.add_put("/emulator/endpoints", set_endpoint)
    router.add_delete("/emulator/endpoints", clear_endpoints)
    router.add_get("/emulator/resource-numbers", get_resource_numbers)
    router.add_put("/emulator/resource-numbers", put_resource_numbers)
    router.add_get("/emulator/faults", list_faults)
    router.add_post("/emulator/faults", add_fault)
    router.add_delete("/emulator/faults", clear_faults)
    router.add_get("/emulator/callback-faults", list_callback_faults)
    router.add_post("/emulator/callback-faults", add_callback_fault)
    router.add_delete("/emulator/callback-faults", clear_callback_faults)
    router.add_get("/emulator/settings", get_settings)
    router.add_patch("/emulator/settings", patch_settings)
    router.add_get("/emulator/media", get_media)
    router.add_post("/emulator/calls/{callId}/dtmf", press_keys)
    router.add_patch("/emulator/media", patch_media)
