"""Operations on an established call connection: hang up, transfer, participants."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.acs import emitter, legs
from emulator.acs.models import CallConnection, ConnectionState, Invitation, Participant, ServerCall
from emulator.acs.validation import callback_uri, optional_int, optional_string, require_object
from emulator.common.errors import invalid_argument, not_established, participant_not_found
from emulator.common.identifiers import (
    Identifier,
    parse_identifier,
    parse_phone_model,
    require_dialable,
    required_identifier,
)
from emulator.network.outcomes import CANCELED, LegOutcome
from emulator.services import CancelledInvitationFailure, Services

SUCCESS = {"code": 200, "subCode": 0, "message": "Action completed successfully."}
TRANSFER_DONE = {
    "code": 200,
    "subCode": 7015,
    "message": "The transfer operation completed successfully.",
}
INVITATION_DONE = {"code": 400, "subCode": 8523, "message": "The invitation has already completed."}
MAX_INVITATION_TIMEOUT = 180


def require_established(connection: CallConnection) -> None:
    if connection.state is not ConnectionState.CONNECTED:
        raise not_established()


def app_identities(services: Services, connection: CallConnection) -> set[str]:
    """Raw ids through which the app itself sits in this call (one per live connection)."""
    return {c.app_identity.raw_id for c in services.registry.connections_of(connection.call)}


def remote_participants(services: Services, connection: CallConnection) -> list[Participant]:
    mine = app_identities(services, connection)
    return [p for p in connection.call.participants.values() if p.identifier.raw_id not in mine]


# hang-up -------------------------------------------------------------------------------------
def hang_up(services: Services, connection: CallConnection) -> None:
    """DELETE: the app leaves; a call left with one remote party (or none) ends for all."""
    if connection.dialing is not None and not connection.dialing.done():
        connection.dialing.cancel()
    if connection.state is ConnectionState.CONNECTING:
        emitter.end_call(services, connection.call)
        return
    connection.call.remove(connection.app_identity)
    emitter.disconnected(services, connection)
    if len(remote_participants(services, connection)) <= 1 and not services.registry.connections_of(
        connection.call
    ):
        emitter.end_call(services, connection.call)
    else:
        emitter.participants_updated(services, connection.call)


def terminate(services: Services, connection: CallConnection) -> None:
    """:terminate — the call ends for everyone."""
    if connection.dialing is not None and not connection.dialing.done():
        connection.dialing.cancel()
    emitter.end_call(services, connection.call)


def remote_hang_up(services: Services, call: ServerCall, participant: Identifier) -> None:
    """A remote party hangs up (control API); the call ends when no remote party is left."""
    call.remove(participant)
    connections = services.registry.connections_of(call)
    mine = {c.app_identity.raw_id for c in connections}
    if not any(raw_id not in mine for raw_id in call.participants):
        emitter.end_call(services, call, emitter.REMOTE_ENDED)
    else:
        emitter.participants_updated(services, call)


# transfer ------------------------------------------------------------------------------------
def transfer(services: Services, connection: CallConnection, body: Any) -> dict[str, Any]:
    body = require_object(body)
    require_established(connection)
    target = required_identifier(body, "targetParticipant")
    require_dialable(target, "targetParticipant")
    operation_context = optional_string(body, "operationContext")
    override_uri = callback_uri(body, "operationCallbackUri", required=False)
    if body.get("sourceCallerIdNumber") is not None:
        parse_phone_model(body["sourceCallerIdNumber"], "sourceCallerIdNumber")
    _custom_calling_context(body)
    remotes = remote_participants(services, connection)
    if target.raw_id in connection.call.participants:
        raise invalid_argument("The transfer target is already in the call.")
    if body.get("transferee") is not None:
        transferee = parse_identifier(body["transferee"], "transferee")
        if transferee.raw_id not in {p.identifier.raw_id for p in remotes}:
            raise invalid_argument("The transferee is not a participant of the call.")
    elif len(remotes) == 1:
        transferee = remotes[0].identifier
    else:
        raise invalid_argument("The transferee is required when the call has several participants.")
    connection.state = ConnectionState.TRANSFERRING
    services.background.spawn(
        _run_transfer(services, connection, target, transferee, operation_context, override_uri)
    )
    return _context_body(operation_context)


async def _run_transfer(
    services: Services,
    connection: CallConnection,
    target: Identifier,
    transferee: Identifier,
    operation_context: str | None,
    override_uri: str | None,
) -> None:
    outcome = await legs.dial(
        services,
        connection.call,
        target,
        caller=transferee,
        timeout_seconds=services.settings.ring_timeout_seconds,
    )
    if not connection.is_live:
        return
    if not outcome.answered:
        connection.state = ConnectionState.CONNECTED
        emitter.emit(
            services,
            connection,
            "CallTransferFailed",
            operation_context=operation_context,
            result=outcome.result(),
            callback_uri=override_uri,
        )
        return
    connection.state = ConnectionState.TRANSFER_ACCEPTED
    emitter.emit(
        services,
        connection,
        "CallTransferAccepted",
        {"transferTarget": target.to_wire(), "transferee": transferee.to_wire()},
        operation_context=operation_context,
        result=TRANSFER_DONE,
        callback_uri=override_uri,
    )
    call = connection.call
    call.add(target)
    if len(remote_participants(services, connection)) <= 2:
        # 1:1: the transferee now talks to the target and the app leaves the call.
        call.remove(connection.app_identity)
        emitter.disconnected(services, connection, TRANSFER_DONE)
    else:
        call.remove(transferee)
        connection.state = ConnectionState.CONNECTED
        emitter.participants_updated(services, call)


# add / cancel --------------------------------------------------------------------------------
def add_participant(services: Services, connection: CallConnection, body: Any) -> dict[str, Any]:
    body = require_object(body)
    require_established(connection)
    target = required_identifier(body, "participantToAdd")
    require_dialable(target, "participantToAdd")
    timeout = optional_int(body, "invitationTimeoutInSeconds", 0, MAX_INVITATION_TIMEOUT)
    operation_context = optional_string(body, "operationContext")
    override_uri = callback_uri(body, "operationCallbackUri", required=False)
    optional_string(body, "sourceDisplayName")
    caller_id = (
        parse_phone_model(body["sourceCallerIdNumber"], "sourceCallerIdNumber")
        if body.get("sourceCallerIdNumber") is not None
        else connection.source_caller_id
    )
    _custom_calling_context(body)
    if target.is_phone and caller_id is None:
        raise invalid_argument("Invalid request: sourceCallerIdNumber is required to add a phone number.")
    if target.raw_id in connection.call.participants:
        raise invalid_argument("The participant is already in the call.")
    invitation = Invitation(str(uuid.uuid4()), target, operation_context, override_uri)
    connection.invitations[invitation.invitation_id] = invitation
    caller = Identifier("phoneNumber", "4:" + caller_id) if caller_id else connection.app_identity
    ring_for = float(timeout) if timeout is not None else services.settings.ring_timeout_seconds
    invitation.task = services.background.spawn(_run_add(services, connection, invitation, caller, ring_for))
    reply: dict[str, Any] = {"participant": Participant(target).to_wire()}
    if operation_context is not None:
        reply["operationContext"] = operation_context
    reply["invitationId"] = invitation.invitation_id
    return reply


async def _run_add(
    services: Services,
    connection: CallConnection,
    invitation: Invitation,
    caller: Identifier,
    ring_seconds: float,
) -> None:
    try:
        outcome = await legs.dial(services, connection.call, invitation.target, caller, ring_seconds)
    finally:
        invitation.done = True
    if not connection.is_live:
        return
    _report_add(services, connection, invitation, outcome)


def _report_add(
    services: Services, connection: CallConnection, invitation: Invitation, outcome: LegOutcome
) -> None:
    participant = {"participant": invitation.target.to_wire()}
    if not outcome.answered:
        emitter.emit(
            services,
            connection,
            "AddParticipantFailed",
            participant,
            operation_context=invitation.operation_context,
            result=outcome.result(),
            callback_uri=invitation.callback_uri,
        )
        return
    connection.call.add(invitation.target)
    emitter.emit(
        services,
        connection,
        "AddParticipantSucceeded",
        participant,
        operation_context=invitation.operation_context,
        result=SUCCESS,
        callback_uri=invitation.callback_uri,
    )
    emitter.participants_updated(services, connection.call)


def cancel_add(services: Services, connection: CallConnection, body: Any) -> dict[str, Any]:
    body = require_object(body)
    require_established(connection)
    invitation_id = body.get("invitationId")
    if not isinstance(invitation_id, str) or not invitation_id:
        raise invalid_argument("The invitationId field is required.")
    operation_context = optional_string(body, "operationContext")
    override_uri = callback_uri(body, "operationCallbackUri", required=False)
    invitation = connection.invitations.get(invitation_id)
    if invitation is None:
        raise invalid_argument("The invitationId is not valid for this call.")
    cancel = _Report(operation_context, override_uri)
    events = [_Event("CancelAddParticipantFailed", {"invitationId": invitation_id}, INVITATION_DONE, cancel)]
    if not invitation.done:
        invitation.cancelled = True
        if invitation.task is not None:
            invitation.task.cancel()
        events = _cancel_events(services, invitation, cancel)
    services.background.spawn(_report_cancel(services, connection, events))
    reply: dict[str, Any] = {"invitationId": invitation_id}
    if operation_context is not None:
        reply["operationContext"] = operation_context
    return reply


@dataclass(frozen=True)
class _Report:
    """Where an operation's callback goes and the operationContext it carries back."""

    operation_context: str | None
    callback_uri: str | None


@dataclass(frozen=True)
class _Event:
    type: str
    fields: dict[str, Any]
    result: dict[str, Any]
    report: _Report


def _cancel_events(services: Services, invitation: Invitation, cancel: _Report) -> list[_Event]:
    """CancelAddParticipantSucceeded, and (as the setting says) the cancelled invitation's own
    AddParticipantFailed 487/0, before or after it: the sources leave both open. That failure
    answers the add, so it goes where the add's callbacks go, with the add's context."""
    cancelled = {"invitationId": invitation.invitation_id}
    succeeded = _Event("CancelAddParticipantSucceeded", cancelled, SUCCESS, cancel)
    add = _Report(invitation.operation_context, invitation.callback_uri)
    participant = {"participant": invitation.target.to_wire()}
    failed = _Event("AddParticipantFailed", participant, CANCELED.result(), add)
    order = services.settings.cancelled_invitation_failure
    if order is CancelledInvitationFailure.NONE:
        return [succeeded]
    return [failed, succeeded] if order is CancelledInvitationFailure.BEFORE else [succeeded, failed]


async def _report_cancel(services: Services, connection: CallConnection, events: list[_Event]) -> None:
    await asyncio.sleep(0)
    if not connection.is_live:
        return
    for event in events:
        emitter.emit(
            services,
            connection,
            event.type,
            event.fields,
            operation_context=event.report.operation_context,
            result=event.result,
            callback_uri=event.report.callback_uri,
        )


# remove / mute -------------------------------------------------------------------------------
def remove_participant(services: Services, connection: CallConnection, body: Any) -> dict[str, Any]:
    body = require_object(body)
    require_established(connection)
    target = required_identifier(body, "participantToRemove")
    operation_context = optional_string(body, "operationContext")
    override_uri = callback_uri(body, "operationCallbackUri", required=False)
    if target.raw_id == connection.app_identity.raw_id:
        raise invalid_argument("The call automation participant cannot remove itself; hang up instead.")
    if target.raw_id not in connection.call.participants:
        raise participant_not_found()
    services.background.spawn(_run_remove(services, connection, target, operation_context, override_uri))
    return _context_body(operation_context)


async def _run_remove(
    services: Services,
    connection: CallConnection,
    target: Identifier,
    operation_context: str | None,
    override_uri: str | None,
) -> None:
    await asyncio.sleep(0)
    if not connection.is_live or not connection.call.remove(target):
        return
    emitter.emit(
        services,
        connection,
        "RemoveParticipantSucceeded",
        {"participant": target.to_wire()},
        operation_context=operation_context,
        result=SUCCESS,
        callback_uri=override_uri,
    )
    emitter.participants_updated(services, connection.call)
    if not remote_participants(services, connection):
        emitter.end_call(services, connection.call)


def mute(services: Services, connection: CallConnection, body: Any) -> dict[str, Any]:
    body = require_object(body)
    require_established(connection)
    targets = body.get("targetParticipants")
    if targets is None:
        raise invalid_argument("The targetParticipants field is required.")
    if not isinstance(targets, list) or len(targets) != 1:
        raise invalid_argument("The field targetParticipants must hold exactly one participant.")
    target = parse_identifier(targets[0], "targetParticipants[0]")
    operation_context = optional_string(body, "operationContext")
    if not target.is_acs_user:
        raise invalid_argument("Only Communication Services users can be muted.")
    participant = connection.call.participants.get(target.raw_id)
    if participant is None:
        raise participant_not_found()
    if not participant.is_muted:
        participant.is_muted = True
        emitter.participants_updated(services, connection.call)
    return _context_body(operation_context)


# helpers -------------------------------------------------------------------------------------
def _context_body(operation_context: str | None) -> dict[str, Any]:
    """`{operationContext}`, or `{}` when none was given (as the live service answers)."""
    return {} if operation_context is None else {"operationContext": operation_context}


def _custom_calling_context(body: dict[str, Any]) -> None:
    value = body.get("customCallingContext")
    if value is None:
        return
    if not isinstance(value, dict):
        raise invalid_argument("The field customCallingContext must be an object.")
    for key in ("voipHeaders", "sipHeaders"):
        headers = value.get(key)
        if headers is not None and (
            not isinstance(headers, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise invalid_argument(f"The field customCallingContext.{key} must map strings to strings.")


def participant_page(
    connection: CallConnection, skip: int, page_size: int
) -> tuple[list[dict[str, Any]], int | None]:
    roster = connection.call.roster()
    page = roster[skip : skip + page_size]
    following = skip + page_size if skip + page_size < len(roster) else None
    return page, following
