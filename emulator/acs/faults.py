"""Injected REST faults: the next N responses of an operation fail or arrive late."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANY_OPERATION = "*"
_OPERATION_PREFIX = "CallConnection_"


def operation_matches(pattern: str, operation: str) -> bool:
    """``GetCall`` matches ``CallConnection_GetCall``; ``*`` matches everything."""
    return pattern in (ANY_OPERATION, operation) or _OPERATION_PREFIX + pattern == operation


@dataclass
class ResponseFault:
    operation: str
    count: int = 1
    status: int | None = None
    retry_after_seconds: float | None = None
    latency_seconds: float = 0.0
    error_code: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "count": self.count,
            "status": self.status,
            "retryAfterSeconds": self.retry_after_seconds,
            "latencySeconds": self.latency_seconds,
            "errorCode": self.error_code,
        }


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[ResponseFault] = []

    def clear(self) -> None:
        self.faults.clear()

    def take(self, operation: str) -> ResponseFault | None:
        """Consume one use of the first fault that applies to this operation."""
        for fault in self.faults:
            if operation_matches(fault.operation, operation):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None
