"""The log of /calling requests the control API shows: cheap to record, rendered on demand.

Recording runs on every request, reading the log is rare, so a record keeps references to the
request's immutable parts (raw body bytes, header and query views) and the control API turns
them into JSON only when asked.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiMapping

LOGGED_HEADERS = (
    "x-ms-date",
    "Repeatability-Request-ID",
    "Repeatability-First-Sent",
    "x-ms-client-request-id",
    "User-Agent",
    "Content-Type",
)
_TEXT_PREVIEW_BYTES = 1000


@dataclass(slots=True)
class LoggedRequest:
    method: str
    path: str
    raw_path: str
    operation: str
    query: MultiMapping[str]
    headers: MultiMapping[str]
    time: float = field(default_factory=time.time)
    # Set once the request is authenticated: an unauthenticated body is not worth showing.
    body: bytes | None = None
    status: int | None = None
    duration_ms: float | None = None
    fault: str | None = None
    # The call the request touched (its correlationId), when it touched one.
    correlation_id: str | None = None

    def finish(self, status: int, fault: str | None, correlation_id: str | None = None) -> None:
        self.status = status
        self.correlation_id = correlation_id
        self.duration_ms = round((time.time() - self.time) * 1000, 3)
        if fault:
            self.fault = fault

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "rawPath": self.raw_path,
            "query": dict(self.query),
            "operation": self.operation,
            "headers": {name: self.headers[name] for name in LOGGED_HEADERS if name in self.headers},
            "body": _parse_body(self.body),
            "status": self.status,
        }
        if self.duration_ms is not None:
            wire["durationMs"] = self.duration_ms
        if self.fault:
            wire["fault"] = self.fault
        if self.correlation_id:
            wire["correlationId"] = self.correlation_id
        return wire


def _parse_body(body: bytes | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:_TEXT_PREVIEW_BYTES].decode("utf-8", "replace")
