"""Turns state changes into callbacks to the app: one place that knows who hears what."""

from __future__ import annotations

from typing import Any

from emulator.acs.cloudevents import cloud_event, event_data
from emulator.acs.models import CallConnection, ConnectionState, ServerCall
from emulator.services import Services

# Seen live on CallDisconnected when the remote PSTN party ended the call (contract §8).
REMOTE_ENDED = {"code": 200, "subCode": 560000, "message": "The conversation has ended. DiagCode: 0#560000.@"}
APP_ENDED = {"code": 0, "subCode": 7000, "message": "The conversation has ended."}


def emit(
    services: Services,
    connection: CallConnection,
    event_type: str,
    fields: dict[str, Any] | None = None,
    operation_context: str | None = None,
    result: dict[str, Any] | None = None,
    callback_uri: str | None = None,
) -> None:
    data = event_data(connection, event_type, fields, operation_context, result)
    event = cloud_event(event_type, connection.call_connection_id, data)
    services.callbacks.send(callback_uri or connection.callback_uri, event, connection.call_connection_id)


def participants_updated(services: Services, call: ServerCall, skip: CallConnection | None = None) -> None:
    """Every connected leg of the app on this call hears the new roster."""
    for connection in services.registry.connections_of(call):
        if connection.state is ConnectionState.CONNECTING or connection is skip:
            continue
        emit(
            services,
            connection,
            "ParticipantsUpdated",
            {
                "participants": call.roster(),
                "sequenceNumber": connection.next_sequence_number(),
            },
        )


def connected(services: Services, connection: CallConnection) -> None:
    """The app's leg is up: CallConnected, then the first roster (sequenceNumber 1)."""
    connection.state = ConnectionState.CONNECTED
    emit(services, connection, "CallConnected", operation_context=connection.operation_context)
    emit(
        services,
        connection,
        "ParticipantsUpdated",
        {"participants": connection.call.roster(), "sequenceNumber": connection.next_sequence_number()},
    )


def disconnected(
    services: Services,
    connection: CallConnection,
    result: dict[str, Any] | None = None,
    operation_context: str | None = None,
) -> None:
    """The app's leg is gone: CallDisconnected is the last event of this connection."""
    if connection.state is ConnectionState.DISCONNECTED:
        return
    connection.state = ConnectionState.DISCONNECTED
    # ACS sends nothing after CallDisconnected: a prompt or recognize just stops.
    connection.media.drop()
    for invitation in connection.invitations.values():
        if invitation.task is not None and not invitation.done:
            invitation.task.cancel()
    emit(
        services,
        connection,
        "CallDisconnected",
        operation_context=operation_context,
        result=result or APP_ENDED,
    )


def end_call(services: Services, call: ServerCall, result: dict[str, Any] | None = None) -> None:
    """The whole call is over: everyone leaves, every app leg is disconnected."""
    services.registry.mark_ended(call)
    for connection in services.registry.connections_of(call):
        disconnected(services, connection, result)
    call.participants.clear()
