"""The pending-operation protocol every ACS action follows, as changes for `CallRecords.modify`.

    reserve (checks the call, notes the operation pending: one guarded write)
      ─▶ send to ACS ─▶ note the outcome (a second guarded write)
         (logged once, counted)  └─ a definite refusal: forget the reservation

Each function returns a change (record → record, or None to leave the row alone); the use case
hands it to the store, which applies it under the call's ETag.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
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


def reserve(call_connection_id: str, context: str, kind: OperationKind, now: datetime, *,
            target: Identifier | None = None, timeout_seconds: int | None = None) -> CallChange:
    """Check the call can take the action and note it pending, in the same write.

    Refused early is only what is certain to fail: a call that has ended or is ending. A stored
    `connecting` may simply be a CallConnected still in flight, so "not established yet" is
    left to ACS (8501 → 409). A client's operationContext must be new on the call, or its
    outcomes could not be told apart; noting it in the same ETag-guarded write makes two
    concurrent requests with one context impossible. A call the store does not know (created
    elsewhere) is not written: ACS decides, and success notes it.
    """

    def change(record: CallRecord | None) -> CallRecord | None:
        if record is None:
            return None
        if record.state.is_final:
            raise Conflict(f"call {call_connection_id} has ended")
        if record.state in (CallState.DISCONNECTING, CallState.TRANSFER_ACCEPTED):
            raise Conflict(f"call {call_connection_id} is ending ({record.state.value})")
        if record.operation(context) is not None:
            raise Conflict(f"operationContext {context!r} was already used on this call")
        pending = Operation(context, kind, OperationStatus.PENDING, requested_at=now, target=target,
                            timeout_seconds=timeout_seconds)
        return record_pending(record, pending).with_changes(updated_at=now)

    return change


def note(call_connection_id: str, context: str, kind: OperationKind, now: datetime, *,
         target: Identifier | None = None, invitation_id: str | None = None,
         state: CallState | None = None, timeout_seconds: int | None = None,
         status: OperationStatus = OperationStatus.PENDING) -> CallChange:
    """Note what ACS accepted (creating the record when the call was not stored here)."""
    operation = Operation(context, kind, status, requested_at=now,
                          finished_at=None if status is OperationStatus.PENDING else now,
                          target=target, invitation_id=invitation_id,
                          timeout_seconds=timeout_seconds)

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
