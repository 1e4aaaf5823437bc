"""The app's one error vocabulary. Handlers map these to HTTP in one place (handlers/_http.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field: where it is and why it was refused."""

    field: str
    reason: str


class CallControlError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Call control error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def public_detail(self) -> str:
        """What a client may read. Errors whose detail can carry internals (hosts, request ids,
        setting values) override this; the full detail goes to the log only."""
        return self.detail


class SettingError(CallControlError):
    """A setting the app needs is missing or malformed."""

    title = "Configuration error"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"setting {name} {reason}")
        self.name = name

    @property
    def public_detail(self) -> str:
        return f"setting {self.name} is missing or malformed; the log says why"


class InvalidInput(CallControlError):
    """The request was malformed or failed validation."""

    title = "Invalid request"

    def __init__(self, detail: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.problems: list[FieldProblem] = problems or []


class Unauthenticated(CallControlError):
    """The caller could not be authenticated (missing, expired or invalid credentials)."""

    title = "Unauthenticated"


class Forbidden(CallControlError):
    """The caller is authenticated but lacks the app role the operation requires."""

    title = "Forbidden"


class NotFound(CallControlError):
    """The call, participant or record does not exist."""

    title = "Not found"


class CallGone(NotFound):
    """ACS answered 8522 "Call not found": it no longer knows the call (it ended unseen, or an
    emulator restarted), so a stored live call can be ended at once."""


class Conflict(CallControlError):
    """The action conflicts with the call's current state."""

    title = "Conflict"


class PreconditionFailed(CallControlError):
    """An If-Match precondition did not hold."""

    title = "Precondition failed"


class PreconditionRequired(CallControlError):
    """A conditional request (If-Match) is required to change this resource."""

    title = "Precondition required"


class InProgress(CallControlError):
    """Another instance is still working on the same item; the caller should retry later."""

    title = "In progress"


class PayloadTooLarge(CallControlError):
    """The request body exceeds the accepted size."""

    title = "Payload too large"


@dataclass
class AcsErrorInfo:
    """What ACS said when it refused a request: HTTP status, its error code and message."""

    status: int
    code: str | None = None
    message: str = ""


class AcsRejected(CallControlError):
    """ACS refused the request with a 4xx the app passes on (with ACS's code)."""

    title = "Rejected by ACS"

    def __init__(self, detail: str, info: AcsErrorInfo) -> None:
        super().__init__(detail)
        self.info = info


class AcsUnavailable(CallControlError):
    """ACS was throttling, failing or too slow, after the SDK's own retries."""

    title = "ACS unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 5) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class StoreError(CallControlError):
    """Table Storage failed in a way the domain cannot handle."""

    title = "Storage error"
    retry_after_seconds = 5

    @property
    def public_detail(self) -> str:
        return "the call store is unavailable; retry later"


class ConcurrencyConflict(StoreError):
    """An ETag-guarded write lost every retry to concurrent writers."""

    title = "Concurrent update"

    @property
    def public_detail(self) -> str:
        return self.detail  # names only the call


class EtagMismatch(StoreError):
    """A conditional write lost to a concurrent writer (or the row vanished)."""
