"""Management API over calls: create, read, history, hang up, transfer."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from callcontrol.acs_gateway import AcsCall
from callcontrol.api_models import CreateCallRequest, HangUpRequest, TransferRequest, validate_body
from callcontrol.models import CallRecord, CallState, Direction
from handlers._api import api_route
from handlers._deps import services
from handlers._http import json_response, parse_enum, read_json, read_optional_object
from handlers._idempotency import repeatability_id

bp = func.Blueprint()
CALL_ID = "callConnectionId"


@api_route(bp, name="create_call", route="calls", method="POST", summary="Create a 1:1 or group call",
           body=CreateCallRequest, success=201, response="call", idempotent=True)
async def create_call(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(CreateCallRequest, read_json(req))
    record = await services().actions.create_call(
        [t.parsed for t in request.targets],
        caller_id=request.source_caller_id_number,
        display_name=request.source_display_name,
        operation_context=request.operation_context,
        idempotency_key=repeatability_id(req),
    )
    return json_response(record.to_json(), 201,
                         headers={"Location": f"/api/calls/{record.call_connection_id}"})


@api_route(bp, name="list_calls", route="calls", method="GET", summary="Calls known to the store",
           response="callList", query=(("state", "filter by call state"),
                                       ("direction", "inbound or outbound")))
async def list_calls(req: func.HttpRequest) -> func.HttpResponse:
    state = parse_enum(CallState, req.params.get("state"), "state")
    direction = parse_enum(Direction, req.params.get("direction"), "direction")
    records = await services().service.list_calls(state=state, direction=direction)
    return json_response({"value": [r.to_json() for r in records]})


@api_route(bp, name="get_call", route="calls/{callConnectionId}", method="GET",
           summary="Latest call properties from ACS merged with the stored state", response="call")
async def get_call(req: func.HttpRequest) -> func.HttpResponse:
    stored, live = await services().actions.get_call(req.route_params[CALL_ID])
    return json_response(merge_call(req.route_params[CALL_ID], stored, live))


@api_route(bp, name="get_call_events", route="calls/{callConnectionId}/events", method="GET",
           summary="The call's event history, oldest first", response="eventList")
async def get_call_events(req: func.HttpRequest) -> func.HttpResponse:
    events = await services().service.call_events(req.route_params[CALL_ID])
    return json_response({"value": [e.to_json() for e in events]})


@api_route(bp, name="hang_up", route="calls/{callConnectionId}/hangup", method="POST",
           summary="Hang up: the app leaves, or the call ends for everyone", body=HangUpRequest,
           body_required=False, success=202, response="accepted", idempotent=True)
async def hang_up(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(HangUpRequest, read_optional_object(req))
    call_id = req.route_params[CALL_ID]
    await services().actions.hang_up(call_id, for_everyone=request.for_everyone,
                                     idempotency_key=repeatability_id(req))
    return json_response({"callConnectionId": call_id, "forEveryone": request.for_everyone}, 202)


@api_route(bp, name="transfer_call", route="calls/{callConnectionId}/transfer", method="POST",
           summary="Transfer the call (or, in a group call, one participant)", body=TransferRequest,
           success=202, response="accepted", idempotent=True)
async def transfer_call(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(TransferRequest, read_json(req))
    accepted = await services().actions.transfer(
        req.route_params[CALL_ID], request.target.parsed,
        transferee=request.transferee.parsed if request.transferee else None,
        caller_id=request.source_caller_id_number,
        operation_context=request.operation_context,
        idempotency_key=repeatability_id(req),
    )
    return json_response(accepted.to_json(), 202)


def merge_call(call_id: str, stored: CallRecord | None, live: AcsCall | None) -> dict[str, Any]:
    """The stored record, with ACS's view of the call where ACS still has it."""
    body = stored.to_json() if stored is not None else CallRecord(call_id).to_json()
    if live is None:
        body["acs"] = None
        return body
    body["state"] = live.state.value
    body["serverCallId"] = body["serverCallId"] or live.server_call_id
    body["correlationId"] = body["correlationId"] or live.correlation_id
    body["acs"] = {
        "callConnectionState": live.state.value,
        "targets": [t.to_json() for t in live.targets],
        "source": live.source.to_json() if live.source else None,
        "sourceCallerIdNumber": live.source_caller_id,
        "sourceDisplayName": live.source_display_name,
        "answeredBy": live.answered_by,
    }
    return body
