"""Management API over a call's participants: list, get, add, remove, mute, cancel an add."""

from __future__ import annotations

import azure.functions as func

from callcontrol.api_models import AddParticipantRequest, ParticipantActionRequest, validate_body
from callcontrol.identifiers import Identifier, parse_identifier
from handlers._api import api_route
from handlers._deps import services
from handlers._http import json_response, read_json, read_optional_object
from handlers._idempotency import repeatability_id

bp = func.Blueprint()
CALL_ID = "callConnectionId"


def _participant_in_path(req: func.HttpRequest) -> Identifier:
    # The host has already percent-decoded the route value (4%3A%2B1425… → 4:+1425…).
    return parse_identifier({"rawId": req.route_params["rawId"]}, "path")


def _context(req: func.HttpRequest) -> str | None:
    return validate_body(ParticipantActionRequest, read_optional_object(req)).operation_context


@api_route(bp, name="list_participants", route="calls/{callConnectionId}/participants",
           method="GET", summary="All participants, from ACS", response="participantList")
async def list_participants(req: func.HttpRequest) -> func.HttpResponse:
    participants = await services().actions.list_participants(req.route_params[CALL_ID])
    return json_response({"value": [p.to_json() for p in participants]})


@api_route(bp, name="add_participant", route="calls/{callConnectionId}/participants",
           method="POST", summary="Invite a participant", body=AddParticipantRequest, success=202,
           response="accepted", idempotent=True)
async def add_participant(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(AddParticipantRequest, read_json(req))
    accepted = await services().actions.add_participant(
        req.route_params[CALL_ID], request.participant.parsed,
        caller_id=request.source_caller_id_number,
        invitation_timeout=request.invitation_timeout_seconds,
        operation_context=request.operation_context,
        idempotency_key=repeatability_id(req),
    )
    return json_response(accepted.to_json(), 202)


@api_route(bp, name="get_participant", route="calls/{callConnectionId}/participants/{rawId}",
           method="GET", summary="One participant (rawId percent-encoded)", response="participant")
async def get_participant(req: func.HttpRequest) -> func.HttpResponse:
    participant = await services().actions.get_participant(
        req.route_params[CALL_ID], _participant_in_path(req))
    return json_response(participant.to_json())


@api_route(bp, name="remove_participant", route="calls/{callConnectionId}/participants/{rawId}",
           method="DELETE", summary="Remove a participant", body=ParticipantActionRequest,
           body_required=False, success=202, response="accepted", idempotent=True)
async def remove_participant(req: func.HttpRequest) -> func.HttpResponse:
    accepted = await services().actions.remove_participant(
        req.route_params[CALL_ID], _participant_in_path(req), operation_context=_context(req),
        idempotency_key=repeatability_id(req))
    return json_response(accepted.to_json(), 202)


@api_route(bp, name="mute_participant",
           route="calls/{callConnectionId}/participants/{rawId}/mute", method="POST",
           summary="Mute an ACS user", body=ParticipantActionRequest, body_required=False,
           response="accepted", idempotent=True)
async def mute_participant(req: func.HttpRequest) -> func.HttpResponse:
    accepted = await services().actions.mute_participant(
        req.route_params[CALL_ID], _participant_in_path(req), operation_context=_context(req),
        idempotency_key=repeatability_id(req))
    return json_response(accepted.to_json())


@api_route(bp, name="cancel_add_participant",
           route="calls/{callConnectionId}/invitations/{invitationId}", method="DELETE",
           summary="Cancel a pending add", body=ParticipantActionRequest, body_required=False,
           success=202, response="accepted", idempotent=True)
async def cancel_add_participant(req: func.HttpRequest) -> func.HttpResponse:
    accepted = await services().actions.cancel_add_participant(
        req.route_params[CALL_ID], req.route_params["invitationId"],
        operation_context=_context(req), idempotency_key=repeatability_id(req))
    return json_response(accepted.to_json(), 202)
