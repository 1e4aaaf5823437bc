"""Callback CloudEvents shaped like the live recordings (contract §4)."""

from __future__ import annotations

import uuid
from typing import Any

from emulator.acs.models import CallConnection
from emulator.common.timestamps import timestamp

EVENT_PREFIX = "Microsoft.Communication."


def result_information(code: int, sub_code: int, message: str) -> dict[str, Any]:
    return {"code": code, "subCode": sub_code, "message": message}


def event_data(
    connection: CallConnection,
    event_type: str,
    fields: dict[str, Any] | None = None,
    operation_context: str | None = None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`data` of one callback: event fields, then the common ones, then version/publicEventType."""
    data: dict[str, Any] = {}
    if result is not None:
        data["resultInformation"] = result
    data.update(fields or {})
    data["version"] = connection.api_version
    if operation_context is not None:
        data["operationContext"] = operation_context
    data["callConnectionId"] = connection.call_connection_id
    data["serverCallId"] = connection.call.server_call_id
    data["correlationId"] = connection.call.correlation_id
    data["publicEventType"] = EVENT_PREFIX + event_type
    return data


def cloud_event(event_type: str, call_connection_id: str, data: dict[str, Any]) -> dict[str, Any]:
    source = f"calling/callConnections/{call_connection_id}"
    return {
        "id": str(uuid.uuid4()),
        "source": source,
        "type": EVENT_PREFIX + event_type,
        "data": data,
        "time": timestamp(),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "subject": source,
    }
