"""The pending-operation protocol every ACS action follows, as changes for `CallRecords.modify`.

    Reservation (checks the call, notes the operation pending: one guarded write)
      ─▶ send to ACS ─▶ note the outcome (a second guarded write)
         (logged once, counted)  └─ a definite refusal: forget the reservation

A client's retry of the same request (same Idempotency-Key, so the same Repeatability-Request-ID,
and the same operationContext, kind and target) finds the operation its first attempt reserved:
a settled one is reported as it stands and not sent again; a pending one (ACS may or may not
have acted) is sent again with the same Repeatability-Request-ID, which ACS answers with its
first outcome. Never a conflict, never a second operation.

Each function returns a change (record → record, or None to leave the row alone); the use case
hands it to the store, which applies it under the call's ETag.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from callcontrol.domain.errors import AcsUnavailable, CallControlError, Conflict, FieldProblem, InvalidInput
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import CallRecord, CallState, Operation, OperationKind, OperationStatus
from callcontrol.domain.state_machine import record_pending
from callcontrol.observability import ActionOutcome, note_call, telemetry
from callcontrol.usecases.ports import CallChange, CallRecords

T = TypeVar("T")
logger = logging.getLogger(__name__)


def new_operation_context(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def operation_context(given: str | None, prefix: str, request_id: str | None) -> str:
    """The client's operationContext; else one derived from the request's
    Repeatability-Request-ID (so a retry of the same request names the same operation); else a
    new one."""
    if given:
        return given
    return f"{prefix}-{request_id}" if request_id else new_operation_context(prefix)


@dataclass
class Reservation:
    """Reserving one action, and what it found: after the guarded write, `retry_of` is the
    operation this very request already reserved (same operationContext, kind, target and
    Repeatability-Request-ID), when the request is a client's retry.

    Refused early is only what is certain to fail: a call that has ended or is ending. A stored
    `connecting` may simply be a CallConnected still in flight, so "not established yet" is
    left to ACS (8501 → 409). A client's operationContext must be new on the call, or its
    outcomes could not be told apart; noting it in the same ETag-guarded write makes two
    concurrent requests with one context impossible. A call the store does not know (created
    elsewhere) is not written: ACS decides, and success notes it.
    """

    call_connection_id: str
    context: str
    kind: OperationKind
    now: datetime
    target: Identifier | None = None
    request_id: str | None = None
    timeout_seconds: int | None = None  # an add's invitation timeout, as asked of ACS
    retry_of: Operation | None = None

    @property
    def settled_retry(self) -> Operation | None:
        """The operation, when this request retries one whose outcome is known: nothing is sent
        again and the client gets it as it stands."""
        retry = self.retry_of
        return retry if retry is not None and retry.status is not OperationStatus.PENDING else None

    def _is_retry(self, existing: Operation) -> bool:
        return (self.request_id is not None and existing.request_id == self.request_id
                and existing.kind is self.kind and existing.target == self.target)

    def change(self, record: CallRecord | None) -> CallRecord | None:
        self.retry_of = None
        if record is None:
            return None
        existing = record.operation(self.context)
        if existing is not None and self._is_retry(existing):
            self.retry_of = existing  # ended calls too: the client learns how it finished
            return None
        call_id = self.call_connection_id
        if record.state.is_final:
            raise Conflict(f"call {call_id} has ended")
        if record.state in (CallState.DISCONNECTING, CallState.TRANSFER_ACCEPTED):
            raise Conflict(f"call {call_id} is ending ({record.state.value})")
        if existing is not None:
            raise Conflict(f"operationContext {self.context!r} was already used on this call")
        pending = Operation(self.context, self.kind, OperationStatus.PENDING,
                            requested_at=self.now, target=self.target,
                            request_id=self.request_id, timeout_seconds=self.timeout_seconds)
        return record_pending(record, pending).with_changes(updated_at=self.now)


def status_of(record: CallRecord | None, context: str) -> OperationStatus | None:
    found = record.operation(context) if record is not None else None
    return found.status if found is not None else None


def note(call_connection_id: str, context: str, kind: OperationKind, now: datetime, *,
         target: Identifier | None = None, invitation_id: str | None = None,
         state: CallState | None = None, timeout_seconds: int | None = None,
         status: OperationStatus = OperationStatus.PENDING,
         request_id: str | None = None) -> CallChange:
    """Note what ACS accepted (creating the record when the call was not stored here)."""
    operation = Operation(context, kind, status, requested_at=now,
                          finished_at=None if status is OperationStatus.PENDING else now,
                          target=target, invitation_id=invitation_id,
                          timeout_seconds=timeout_seconds, request_id=request_id)

    def change(record: CallRecord | None) -> CallRecord:
        base = record or CallRecord(call_connection_id, created_at=now)
        updated = record_pending(base, operation)
        noted = updated.operation(context)
        # The state follows the request only while its outcome is still unknown: a fast
        # failure that was ingested first must not be overtaken by "transferring".
        still_pending = noted is not None and noted.status is OperationStatus.PENDING
        if state is not None and still_pending and state.rank > base.state.rank:
            updated = updated.with_changes(state=state)
        return updated.with_changes(updated_at=now)

    return change


def forget(context: str) -> CallChange:
    """Drop an operation noted before its request, when ACS refused the request."""

    def change(record: CallRecord | None) -> CallRecord | None:
        if record is None:
            return None
        kept = tuple(op for op in record.operations
                     if op.context != context or op.status is not OperationStatus.PENDING)
        return record.with_changes(operations=kept)

    return change


async def perform(kind: OperationKind, context: str, request: Callable[[], Awaitable[T]]) -> T:
    """Send one action to ACS: logged once when ACS took it, counted by kind and outcome."""
    note_call(operation_context=context)
    metrics = telemetry().metrics
    try:
        result = await request()
    except CallControlError as error:
        outcome = (ActionOutcome.UNAVAILABLE if isinstance(error, AcsUnavailable)
                   else ActionOutcome.REFUSED)
        metrics.action(kind=kind.value, outcome=outcome)
        raise
    metrics.action(kind=kind.value, outcome=ActionOutcome.ACCEPTED)
    logger.info("%s sent to ACS (operationContext %s)", kind.value, context)
    return result


async def send(calls: CallRecords, call_connection_id: str, context: str, kind: OperationKind,
               request: Callable[[], Awaitable[T]]) -> T:
    """Send a reserved action; a definite refusal frees its operationContext again.

    When ACS may have acted (timeout, 5xx, throttling) the operation stays pending: its
    callback, or the end of the call, will settle it.
    """
    try:
        return await perform(kind, context, request)
    except CallControlError as error:
        if not isinstance(error, AcsUnavailable):
            await calls.modify(call_connection_id, forget(context))
        raise


def caller_id_for(targets: list[Identifier] | tuple[Identifier, ...], given: str | None,
                  default: Callable[[], str | None], field: str) -> str | None:
    """A PSTN target needs a caller id: the request's, else DEFAULT_CALLER_ID, else a 400."""
    if not any(t.is_phone for t in targets):
        return given
    caller_id = given or default()
    if caller_id is None:
        raise InvalidInput(
            "a caller id is required to call a phone number",
            [FieldProblem(field, "required for a PSTN target (or set DEFAULT_CALLER_ID)")],
        )
    return caller_id
