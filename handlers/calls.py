"""Management API over calls: create, read, history, hang up, transfer."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from callcontrol.domain.access import Role
from callcontrol.usecases.calls import (
    CallView,
    CreateCall,
    GetCall,
    GetCallEvents,
    HangUp,
    TransferCall,
)
from handlers._access import caller
from handlers._api import api_route
from handlers._http import json_response, read_json, read_optional_object
from handlers._idempotency import repeatability_id
from handlers._paging import LISTING_PARAMETERS, listing_query, next_link
from handlers._services import services
from handlers.wire.requests import CreateCallRequest, HangUpRequest, TransferRequest, validate_body
from handlers.wire.responses import accepted_json

bp = func.Blueprint()
CALL_ID = "callConnectionId"


@api_route(bp, Role.CALLS_CONTROL, name="create_call",
           route="calls", method="POST", summary="Create a 1:1 or group call",
           body=CreateCallRequest, success=201, response="call", idempotent=True,
           errors=(400, 401, 409, 503))
async def create_call(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(CreateCallRequest, read_json(req))
    record = await services().calls.create_call(CreateCall(
        tuple(t.parsed for t in request.targets),
        caller_id=request.source_caller_id_number,
        display_name=request.source_display_name,
        operation_context=request.operation_context,
        repeatability_id=repeatability_id(req), actor=caller(),
    ))
    return json_response(record.to_json(), 201,
                         headers={"Location": f"/api/calls/{record.call_connection_id}"})


@api_route(bp, Role.CALLS_READ, name="list_calls",
           route="calls", method="GET",
           summary="Calls known to the store, newest first, a page at a time",
           response="callList", errors=(400, 401, 503), query=LISTING_PARAMETERS)
async def list_calls(req: func.HttpRequest) -> func.HttpResponse:
    page = await services().calls.list_page(listing_query(req))
    body: dict[str, Any] = {"value": [r.to_json() for r in page.records]}
    if page.continuation is not None:
        body["continuationToken"] = page.continuation
        body["next"] = next_link(req, page.continuation)
    return json_response(body)


@api_route(bp, Role.CALLS_READ, name="get_call",
           route="calls/{callConnectionId}", method="GET",
           summary="Latest call properties from ACS merged with the stored state", response="call")
async def get_call(req: func.HttpRequest) -> func.HttpResponse:
    view = await services().calls.get_call(GetCall(req.route_params[CALL_ID]))
    return json_response(call_json(view))


@api_route(bp, Role.CALLS_READ, name="get_call_events",
           route="calls/{callConnectionId}/events", method="GET",
           summary="The call's event history, oldest first", response="eventList")
async def get_call_events(req: func.HttpRequest) -> func.HttpResponse:
    events = await services().calls.call_events(GetCallEvents(req.route_params[CALL_ID]))
    return json_response({"value": [e.to_json() for e in events]})


@api_route(bp, Role.CALLS_CONTROL, name="hang_up",
           route="calls/{callConnectionId}/hangup", method="POST",
           summary="Hang up: the app leaves, or the call ends for everyone", body=HangUpRequest,
           body_required=False, success=202, response="accepted", idempotent=True)
async def hang_up(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(HangUpRequest, read_optional_object(req))
    call_id = req.route_params[CALL_ID]
    accepted = await services().calls.hang_up(
        HangUp(call_id, request.for_everyone, repeatability_id(req), actor=caller()))
    # The common 202 (operationContext, status), and forEveryone as it always answered.
    return json_response({**accepted_json(accepted), "forEveryone": request.for_everyone}, 202)


@api_route(bp, Role.CALLS_CONTROL, name="transfer_call",
           route="calls/{callConnectionId}/transfer", method="POST",
           summary="Transfer the call (or, in a group call, one participant)", body=TransferRequest,
           success=202, response="accepted", idempotent=True)
async def transfer_call(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(TransferRequest, read_json(req))
    accepted = await services().calls.transfer(TransferCall(
        req.route_params[CALL_ID], request.target.parsed,
        transferee=request.transferee.parsed if request.transferee else None,
        caller_id=request.source_caller_id_number,
        operation_context=request.operation_context,
        repeatability_id=repeatability_id(req), actor=caller(),
    ))
    return json_response(accepted_json(accepted), 202)


def call_json(view: CallView) -> dict[str, Any]:
    """The call as the API shows it, with ACS's own view where ACS still has the call."""
    body = view.record.to_json()
    live = view.live
    if live is None:
        body["acs"] = None
        return body
    body["acs"] = {
        "callConnectionState": live.state.value,
        "targets": [t.to_json() for t in live.targets],
        "source": live.source.to_json() if live.source else None,
        "sourceCallerIdNumber": live.source_caller_id,
        "sourceDisplayName": live.source_display_name,
        "answeredBy": live.answered_by,
    }
    return body
