"""Callback CloudEvents shaped like the live recordings (contract §4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from emulator.models import CallConnection

EVENT_PREFIX = "Microsoft.Communication."


def timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 with 7 fractional digits and ``+00:00``, as ACS writes ``time``."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 10:07d}+00:00"


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
