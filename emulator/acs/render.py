"""Response bodies of the REST API, in the exact shapes the contract shows."""

from __future__ import annotations

from typing import Any

from emulator.acs.models import CallConnection


def call_connection_properties(
    connection: CallConnection, include_server_call_id: bool = True
) -> dict[str, Any]:
    """CallConnectionProperties; live CreateCall 201s carry no serverCallId (contract §3)."""
    body: dict[str, Any] = {"callConnectionId": connection.call_connection_id}
    if include_server_call_id:
        body["serverCallId"] = connection.call.server_call_id
    body["targets"] = [target.to_wire() for target in connection.targets]
    body["callConnectionState"] = connection.state.value
    body["callbackUri"] = connection.callback_uri
    if connection.source_caller_id is not None:
        body["sourceCallerIdNumber"] = {"value": connection.source_caller_id}
    if connection.direction == "outbound":
        body["sourceDisplayName"] = connection.source_display_name or ""
    body["source"] = connection.source.to_wire()
    body["correlationId"] = connection.call.correlation_id
    if connection.answered_by is not None:
        body["answeredBy"] = {"id": connection.answered_by.raw_id}
    return body
