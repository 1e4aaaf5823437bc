"""The action protocol: every management action on a call (transfer, add, remove, mute,
cancel an add, hang up) runs through `run_action`.

    reserve  one ETag-guarded write: checks the call, writes the operation pending
       │     └─ a retry of a settled operation: replayed as it stands, nothing sent
       ▼
    send     to ACS, with the operationContext and the repeatability id (logged once, counted)
       │     ├─ a definite refusal (4xx): forget the reservation, the context is free again
       │     └─ ACS may have acted (timeout, 5xx): the operation stays pending
       ▼
    note     a second guarded write: what ACS's acceptance says (status, state, invitation)
       ▼
    Accepted (callConnectionId, operationContext, status, invitationId for add and cancel)

Each write is made by the app (`cause=APP`) and announces what it changed: the store puts the
call events (`call.operation.requested`, …) in the same write, through its CallEventsOutbox.

A retry with the same Idempotency-Key (so the same repeatability id, operationContext, kind
and target) finds the operation its first attempt reserved: a settled one is answered as it
stands; a pending one is sent again with the same repeatability id, which ACS answers with its
first outcome. Never a conflict, never a second operation. How a retry is recognised, and the
rest of idempotency: domain/repeatability.py.

Words, one meaning each: an action's operation is *reserved* (written pending, before it is
sent), *noted* (ACS's acceptance written onto it), *forgotten* (dropped after a definite
refusal) and *settled* (its outcome known: by a callback, by the end of the call, or, for mute,
by ACS's answer). A *retry* is a request with the repeatability id of an operation already
reserved; it is *replayed* (answered from a settled operation) or *re-sent* (still pending).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from callcontrol.domain.access import Actor
from callcontrol.domain.clock import Clock
from callcontrol.domain.errors import AcsUnavailable, CallControlError, CallGone, Conflict
from callcontrol.domain.events.call_events import APP, Cause
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import CallRecord, CallState, Operation, OperationKind, OperationStatus
from callcontrol.domain.repeatability import is_retry
from callcontrol.domain.state_machine import record_pending
from callcontrol.observability import ActionOutcome, note_call, telemetry
from callcontrol.usecases.lost_calls import end_if_gone
from callcontrol.usecases.ports import CallChange, CallLookup, CallRecords

T = TypeVar("T")
logger = logging.getLogger(__name__)

# The request to ACS, given the operationContext and the repeatability id it must carry.
Send = Callable[[str, str | None], Awaitable[T]]


# --- what a use case describes, what it gets back ------------------------------------------


@dataclass(frozen=True)
class Noted:
    """What ACS accepting the request says about the operation."""

    status: OperationStatus = OperationStatus.PENDING  # mute: ACS's 200 is the outcome
    state: CallState | None = None  # the call's state while the outcome is unknown
    invitation_id: str | None = None  # an add's, from ACS's answer


def still_pending(_: object) -> Noted:
    return Noted()


def always(_: Operation) -> bool:
    return True


@dataclass(frozen=True)
class Action(Generic[T]):
    """One action as its use case describes it to `run_action`."""

    call_connection_id: str
    kind: OperationKind
    send: Send[T]
    context_prefix: str  # of an operationContext made up for the client ("add-…")
    _: KW_ONLY
    operation_context: str | None = None  # the client's own
    repeatability_id: str | None = None  # from the client's Idempotency-Key
    target: Identifier | None = None
    invitation_id: str | None = None  # the invitation a cancel names
    timeout_seconds: int | None = None  # an add's invitation timeout, as asked of ACS
    actor: Actor | None = None  # the caller: on the operation and in the events' cause
    # What ACS's acceptance says; None: nothing to note (the reservation says it all).
    noted: Callable[[T], Noted | None] = still_pending
    # Whether a settled operation holds all a replay answers (an add: its invitation id).
    replayable: Callable[[Operation], bool] = always
    while_ending: bool = False  # sent even to a call that is ending (a hang-up)
    # A check of the stored call in the reservation's write (raises what the call refuses).
    precondition: Callable[[CallRecord], None] | None = None
    # Reserved already, in the guarded write that decided it (a flow's request: the same write
    # as the callback that moved the run), so the request goes out without a write of its own.
    reserved: bool = False


@dataclass(frozen=True)
class Accepted:
    """What an action returns at once: its operationContext (+ invitation id), and the
    operation's status as it stands (a retry of a settled request says how it ended)."""

    call_connection_id: str
    operation_context: str
    invitation_id: str | None = None
    status: OperationStatus | None = None

    @classmethod
    def of(cls, call_connection_id: str, operation: Operation) -> Accepted:
        return cls(call_connection_id, operation.context, operation.invitation_id,
                   operation.status)


# --- the protocol --------------------------------------------------------------------------


async def run_action(calls: CallRecords, action: Action[T], clock: Clock,
                     acs: Callable[[], CallLookup] | None = None) -> Accepted:
    """Reserve, send, note (module doc); raises what the call or ACS refused. With `acs`, an
    8522 answer is checked with GetCall and, if the call is gone, the call ends (lost_calls)."""
    call_id = action.call_connection_id
    context = operation_context(action.operation_context, action.context_prefix,
                                action.repeatability_id)
    reservation = Reservation(action, context, clock())
    cause = Cause.by(action.actor)
    record = None if action.reserved else await calls.modify(call_id, reservation.change, cause=cause)
    retry = reservation.retry_of
    if retry is not None and retry.status is not OperationStatus.PENDING and action.replayable(retry):
        return Accepted.of(call_id, retry)
    # First attempt, or a retry whose outcome (or answer) was never heard: the same
    # repeatability id makes ACS answer with its first outcome.
    try:
        answer = await send(calls, action, context, cause)
    except CallGone:
        # Only a call the store holds as live can be ended; ACS's 8522 may name a participant,
        # so GetCall says whether the call itself is gone.
        if acs is not None and (record is not None or action.reserved):
            await end_if_gone(calls, acs(), call_id, clock, reservation.changed_before)
        raise
    noted = action.noted(answer)
    if noted is None:
        status = status_of(record, context) or (retry.status if retry is not None else None)
        return Accepted(call_id, context, action.invitation_id, status)
    record = await calls.modify(call_id, note(action, context, noted, clock()), cause=cause)
    return Accepted(call_id, context, noted.invitation_id or action.invitation_id,
                    status_of(record, context))


@dataclass
class Reservation:
    """Reserving one action, and what it found: after the guarded write, `retry_of` is the
    operation this very request already reserved, when the request is a client's retry.

    Refused early is only what is certain to fail: a call that has ended, or (except for a
    hang-up) is ending. A stored `connecting` may simply be a CallConnected still in flight, so
    "not established yet" is left to ACS (8501 → 409). A client's operationContext must be new
    on the call, or its outcomes could not be told apart; noting it in the same ETag-guarded
    write makes two concurrent requests with one context impossible. A call the store does not
    know (created elsewhere) is not written: ACS decides, and noting its acceptance stores it.
    """

    action: Action[Any]
    context: str
    now: datetime
    retry_of: Operation | None = None
    changed_before: datetime | None = None  # the call's last change before this reservation

    def change(self, record: CallRecord | None) -> CallRecord | None:
        self.retry_of = None
        if record is None:
            return None
        self.changed_before = record.updated_at or record.created_at
        action = self.action
        if action.precondition is not None:
            action.precondition(record)
        existing = record.operation(self.context)
        if existing is not None and is_retry(existing, kind=action.kind, target=action.target,
                                             repeatability_id=action.repeatability_id):
            self.retry_of = existing  # ended calls too: the client learns how it finished
            return None
        call_id = action.call_connection_id
        if record.state.is_final:
            raise Conflict(f"call {call_id} has ended")
        ending = record.state in (CallState.DISCONNECTING, CallState.TRANSFER_ACCEPTED)
        if ending and not action.while_ending:
            raise Conflict(f"call {call_id} is ending ({record.state.value})")
        if existing is not None:
            raise Conflict(f"operationContext {self.context!r} was already used on this call")
        pending = Operation(self.context, action.kind, OperationStatus.PENDING,
                            requested_at=self.now, target=action.target,
                            repeatability_id=action.repeatability_id,
                            timeout_seconds=action.timeout_seconds, actor=action.actor)
        return record_pending(record, pending).with_changes(updated_at=self.now)


async def send(calls: CallRecords, action: Action[T], context: str, cause: Cause = APP) -> T:
    """Send a reserved action; a definite refusal forgets its reservation.

    When ACS may have acted (timeout, 5xx, throttling) the operation stays pending: its
    callback, or the end of the call, will settle it.
    """
    try:
        return await perform(action.kind, context,
                             lambda: action.send(context, action.repeatability_id))
    except CallControlError as error:
        if not isinstance(error, AcsUnavailable):
            await calls.modify(action.call_connection_id, forget(context), cause=cause)
        raise


def note(action: Action[T], context: str, noted: Noted, now: datetime) -> CallChange:
    """Note what ACS accepted (creating the record when the call was not stored here)."""
    status = noted.status
    operation = Operation(context, action.kind, status, requested_at=now,
                          finished_at=None if status is OperationStatus.PENDING else now,
                          target=action.target,
                          invitation_id=noted.invitation_id or action.invitation_id,
                          timeout_seconds=action.timeout_seconds,
                          repeatability_id=action.repeatability_id, actor=action.actor)
    call_id, state = action.call_connection_id, noted.state

    def change(record: CallRecord | None) -> CallRecord:
        base = record or CallRecord(call_id, created_at=now)
        updated = record_pending(base, operation)
        current = updated.operation(context)
        # The state follows the request only while its outcome is still unknown: a fast
        # failure (or a CallDisconnected) that was ingested first must not be overtaken.
        still_open = current is not None and current.status is OperationStatus.PENDING
        if state is not None and still_open and state.rank > base.state.rank:
            updated = updated.with_changes(state=state)
        return updated.with_changes(updated_at=now)

    return change


def forget(context: str) -> CallChange:
    """Drop an operation reserved before its request, when ACS refused the request."""

    def change(record: CallRecord | None) -> CallRecord | None:
        if record is None:
            return None
        kept = tuple(op for op in record.operations
                     if op.context != context or op.status is not OperationStatus.PENDING)
        return record.with_changes(operations=kept)

    return change


async def perform(kind: OperationKind, context: str, request: Callable[[], Awaitable[T]],
                  learnt: Callable[[T], None] | None = None) -> T:
    """Send one request to ACS: logged once when ACS took it, counted by kind and outcome.
    `learnt` notes what the answer tells of the call (a create's ids) before that log line."""
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
    if learnt is not None:
        learnt(result)
    logger.info("%s sent to ACS (operationContext %s)", kind.value, context)
    return result


# --- operationContexts ---------------------------------------------------------------------


def new_operation_context(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def operation_context(given: str | None, prefix: str, repeatability_id: str | None) -> str:
    """The client's operationContext; else one derived from the repeatability id (so a retry of
    the same request names the same operation); else a new one."""
    if given:
        return given
    return f"{prefix}-{repeatability_id}" if repeatability_id else new_operation_context(prefix)


def status_of(record: CallRecord | None, context: str) -> OperationStatus | None:
    found = record.operation(context) if record is not None else None
    return found.status if found is not None else None
