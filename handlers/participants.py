"""Management API over a call's participants: list, get, add, remove, mute, cancel an add."""

from __future__ import annotations

import azure.functions as func

from callcontrol.domain.access import Role
from callcontrol.domain.identifiers import Identifier, parse_strict_identifier
from callcontrol.usecases.participants import (
    AddParticipant,
    CancelAddParticipant,
    GetParticipant,
    ListParticipants,
    MuteParticipant,
    RemoveParticipant,
)
from handlers._access import caller
from handlers._api import api_route
from handlers._http import json_response, read_json, read_optional_object
from handlers._idempotency import repeatability_id
from handlers._services import services
from handlers.wire.requests import (
    RAW_ID_IN_PATH,
    USER_RAW_ID_IN_PATH,
    AddParticipantRequest,
    ParticipantActionRequest,
    validate_body,
)
from handlers.wire.responses import accepted_json

bp = func.Blueprint()
CALL_ID = "callConnectionId"


def _participant_in_path(req: func.HttpRequest) -> Identifier:
    # The host has already percent-decoded the route value (4%3A%2B1425… → 4:+1425…).
    return parse_strict_identifier({"rawId": req.route_params["rawId"]}, "path")


def _context(req: func.HttpRequest) -> str | None:
    return validate_body(ParticipantActionRequest, read_optional_object(req)).operation_context


@api_route(bp, Role.CALLS_READ, name="list_participants",
           route="calls/{callConnectionId}/participants",
           method="GET", summary="All participants, from ACS", response="participantList")
async def list_participants(req: func.HttpRequest) -> func.HttpResponse:
    participants = await services().participants.list_participants(
        ListParticipants(req.route_params[CALL_ID]))
    return json_response({"value": [p.to_json() for p in participants]})


@api_route(bp, Role.CALLS_CONTROL, name="add_participant",
           route="calls/{callConnectionId}/participants",
           method="POST", summary="Invite a participant", body=AddParticipantRequest, success=202,
           response="accepted", idempotent=True)
async def add_participant(req: func.HttpRequest) -> func.HttpResponse:
    request = validate_body(AddParticipantRequest, read_json(req))
    accepted = await services().participants.add_participant(AddParticipant(
        req.route_params[CALL_ID], request.participant.parsed,
        caller_id=request.source_caller_id_number,
        invitation_timeout_seconds=request.invitation_timeout_seconds,
        operation_context=request.operation_context,
        repeatability_id=repeatability_id(req), actor=caller(),
    ))
    return json_response(accepted_json(accepted), 202)


@api_route(bp, Role.CALLS_READ, name="get_participant",
           route="calls/{callConnectionId}/participants/{rawId}",
           method="GET", summary="One participant (rawId percent-encoded)", response="participant",
           path=RAW_ID_IN_PATH)
async def get_participant(req: func.HttpRequest) -> func.HttpResponse:
    participant = await services().participants.get_participant(
        GetParticipant(req.route_params[CALL_ID], _participant_in_path(req)))
    return json_response(participant.to_json())


@api_route(bp, Role.CALLS_CONTROL, name="remove_participant",
           route="calls/{callConnectionId}/participants/{rawId}",
           method="DELETE", summary="Remove a participant", body=ParticipantActionRequest,
           body_required=False, path=RAW_ID_IN_PATH, success=202, response="accepted", idempotent=True)
async def remove_participant(req: func.HttpRequest) -> func.HttpResponse:
    accepted = await services().participants.remove_participant(RemoveParticipant(
        req.route_params[CALL_ID], _participant_in_path(req), operation_context=_context(req),
        repeatability_id=repeatability_id(req), actor=caller()))
    return json_response(accepted_json(accepted), 202)


@api_route(bp, name="mute_participant", role=Role.CALLS_CONTROL,
           route="calls/{callConnectionId}/participants/{rawId}/mute", method="POST",
           summary="Mute an ACS user", body=ParticipantActionRequest, body_required=False,
           path=USER_RAW_ID_IN_PATH,
           response="accepted", idempotent=True)
async def mute_participant(req: func.HttpRequest) -> func.HttpResponse:
    accepted = await services().participants.mute_participant(MuteParticipant(
        req.route_params[CALL_ID], _participant_in_path(req), operation_context=_context(req),
        repeatability_id=repeatability_id(req), actor=caller()))
    return json_response(accepted_json(accepted))


@api_route(bp, name="cancel_add_participant", role=Role.CALLS_CONTROL,
           route="calls/{callConnectionId}/invitations/{invitationId}", method="DELETE",
           summary="Cancel a pending add", body=ParticipantActionRequest, body_required=False,
           success=202, response="accepted", idempotent=True)
async def cancel_add_participant(req: func.HttpRequest) -> func.HttpResponse:
    accepted = await services().participants.cancel_add_participant(CancelAddParticipant(
        req.route_params[CALL_ID], req.route_params["invitationId"],
        operation_context=_context(req), repeatability_id=repeatability_id(req), actor=caller()))
    return json_response(accepted_json(accepted), 202)
