"""Management API over calls: read state and history (actions arrive with the calls issue)."""

from __future__ import annotations

import azure.functions as func

from callcontrol.models import CallState, Direction
from handlers._deps import services
from handlers._http import http_endpoint, json_response, parse_enum

bp = func.Blueprint()


@bp.function_name("get_call")
@bp.route(route="calls/{callConnectionId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_endpoint
async def get_call(req: func.HttpRequest) -> func.HttpResponse:
    record = await services().service.get_call(req.route_params["callConnectionId"])
    return json_response(record.to_json())


@bp.function_name("get_call_events")
@bp.route(
    route="calls/{callConnectionId}/events", methods=["GET"], auth_level=func.AuthLevel.FUNCTION
)
@http_endpoint
async def get_call_events(req: func.HttpRequest) -> func.HttpResponse:
    events = await services().service.call_events(req.route_params["callConnectionId"])
    return json_response({"value": [e.to_json() for e in events]})


@bp.function_name("list_calls")
@bp.route(route="calls", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_endpoint
async def list_calls(req: func.HttpRequest) -> func.HttpResponse:
    state = parse_enum(CallState, req.params.get("state"), "state")
    direction = parse_enum(Direction, req.params.get("direction"), "direction")
    records = await services().service.list_calls(state=state, direction=direction)
    return json_response({"value": [r.to_json() for r in records]})
