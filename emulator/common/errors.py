"""ACS's error envelope, `{"error": {"code", "message", "target"?}}` with its HTTP status.

Every part answers with it: the ACS side with ACS's subcodes, the control APIs (the emulator's
own, and the topic's) with `bad_input`.
"""

from __future__ import annotations

from typing import Any

# Subcodes documented for Call Automation synchronous failures (contract §8).
NOT_ESTABLISHED = "8501"
CONFLICT = "8519"
NOT_SUPPORTED = "8520"
NOT_FOUND = "8522"
INVALID_ARGUMENT = "8523"
ALREADY_TERMINATED = "8528"
HMAC_FAILED = "7509"
# The control APIs' own code for a bad request (they are ours, not ACS's).
BAD_INPUT = "InvalidInput"


class AcsError(Exception):
    """A refusal rendered exactly as ACS renders it."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(f"({code}) {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}


def invalid_argument(message: str, target: str | None = None) -> AcsError:
    return AcsError(400, INVALID_ARGUMENT, message, target)


def call_not_found(target: str | None = None) -> AcsError:
    return AcsError(404, NOT_FOUND, "Call not found.", target)


def participant_not_found(target: str | None = None) -> AcsError:
    return AcsError(404, NOT_FOUND, "Participant not found.", target)


def not_established(message: str = "Action is not allowed: the call is not established.") -> AcsError:
    return AcsError(400, NOT_ESTABLISHED, message)


def conflict(message: str) -> AcsError:
    return AcsError(409, CONFLICT, message)


def unauthorized(message: str) -> AcsError:
    return AcsError(401, HMAC_FAILED, message)


def bad_input(message: str) -> AcsError:
    """A control API request the emulator cannot act on (the ACS side answers 400/8523 instead)."""
    return AcsError(400, BAD_INPUT, message)
