"""Use cases that act on calls through ACS: create, hang up, transfer, participants.

Each action records itself on the call record as a pending operation under its operationContext
(generated when the client gives none), so the callbacks that finish it can be matched; the
record shows what is pending and how each finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from callcontrol.acs_gateway import AcsCall, AcsGateway
from callcontrol.clock import Clock, utc_now
from callcontrol.errors import (
    AcsUnavailable,
    CallControlError,
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
)
from callcontrol.identifiers import Identifier
from callcontrol.models import (
    CallRecord,
    CallState,
    Direction,
    Operation,
    OperationStatus,
    Participant,
)
from callcontrol.observability import ActionOutcome, note_call, telemetry
from callcontrol.service import CallControlService
from callcontrol.state_machine import PARTICIPANT_TRANSFER, record_pending

T = TypeVar("T")
logger = logging.getLogger(__name__)


class _NotStored(Exception):
    """The call has no record here (created elsewhere): nothing to reserve or forget."""


@dataclass(frozen=True)
class Accepted:
    """What an asynchronous action returns at once: its operationContext (+ invitation id)."""

    call_connection_id: str
    operation_context: str
    invitation_id: str | None = None

    def to_json(self) -> dict[str, str | None]:
        body: dict[str, str | None] = {"callConnectionId": self.call_connection_id,
                "operationContext": self.operation_context}
        if self.invitation_id is not None:
            body["invitationId"] = self.invitation_id
        return body


def _sent(kind: str, context: str) -> None:
    logger.info("%s sent to ACS (operationContext %s)", kind, context)
    telemetry().metrics.action(kind=kind, outcome=ActionOutcome.ACCEPTED)


def _count(kind: str, error: CallControlError) -> None:
    outcome = ActionOutcome.UNAVAILABLE if isinstance(error, AcsUnavailable) else ActionOutcome.REFUSED
    telemetry().metrics.action(kind=kind, outcome=outcome)


def new_operation_context(kind: str) -> str:
    return f"{kind}-{uuid.uuid4()}"


class CallActions:
    def __init__(
        self,
        calls: CallControlService,
        gateway: Callable[[], AcsGateway],
        *,
        default_caller_id: Callable[[], str | None],
        clock: Clock = utc_now,
    ) -> None:
        self._calls = calls
        self._gateway = gateway
        self._default_caller_id = default_caller_id
        self._clock = clock

    # --- helpers --------------------------------------------------------------------------

    def _caller_id_for(self, targets: list[Identifier], given: str | None, field: str) -> str | None:
        """A PSTN target needs a caller id: the request's, else DEFAULT_CALLER_ID, else a 400."""
        if not any(t.is_phone for t in targets):
            return given
        caller_id = given or self._default_caller_id()
        if caller_id is None:
            raise InvalidInput(
                "a caller id is required to call a phone number",
                [FieldProblem(field, "required for a PSTN target (or set DEFAULT_CALLER_ID)")],
            )
        return caller_id

    async def _reserve(
        self, call_connection_id: str, given: str | None, prefix: str, kind: str, *,
        target: Identifier | None = None,
    ) -> str:
        """Check the call can take the action and note it as pending, atomically; return the
        operationContext to send.

        Refused early is only what is certain to fail: a call that has ended or is ending. A
        stored `connecting` may simply be a CallConnected still in flight, so "not established
        yet" is left to ACS (8501 → 409). A client's operationContext must be new on the call,
        or its outcomes could not be told apart; noting it in the same ETag-guarded write makes
        two concurrent requests with one context impossible. A call the store does not know
        (created elsewhere) is not written to here: ACS decides, and success notes it.
        """
        context = given or new_operation_context(prefix)
        now = self._clock()

        def change(record: CallRecord | None) -> CallRecord:
            if record is None:
                raise _NotStored
            if record.state.is_final:
                raise Conflict(f"call {call_connection_id} has ended")
            if record.state in (CallState.DISCONNECTING, CallState.TRANSFER_ACCEPTED):
                raise Conflict(f"call {call_connection_id} is ending ({record.state.value})")
            if record.operation(context) is not None:
                raise Conflict(f"operationContext {context!r} was already used on this call")
            pending = Operation(context, kind, OperationStatus.PENDING, requested_at=now,
                                target=target)
            return record_pending(record, pending).with_changes(updated_at=now)

        with contextlib.suppress(_NotStored):
            await self._calls.update_call(call_connection_id, change)
        return context

    async def _send(self, call_connection_id: str, context: str, kind: str,
                    request: Callable[[], Awaitable[T]]) -> T:
        """Send a reserved action; a definite refusal frees its operationContext again.

        When ACS may have acted (timeout, 5xx, throttling) the operation stays pending: its
        callback, or the end of the call, will settle it.
        """
        note_call(call_connection_id=call_connection_id, operation_context=context)
        try:
            result = await request()
        except CallControlError as error:
            _count(kind, error)
            if not isinstance(error, AcsUnavailable):
                await self._forget(call_connection_id, context)
            raise
        _sent(kind, context)
        return result

    async def _note(
        self, call_connection_id: str, kind: str, context: str, *,
        target: Identifier | None = None, invitation_id: str | None = None,
        state: CallState | None = None, status: OperationStatus = OperationStatus.PENDING,
    ) -> None:
        now = self._clock()
        operation = Operation(context, kind, status, requested_at=now,
                              finished_at=None if status is OperationStatus.PENDING else now,
                              target=target, invitation_id=invitation_id)

        def change(record: CallRecord | None) -> CallRecord:
            base = record or CallRecord(call_connection_id, created_at=now)
            updated = record_pending(base, operation)
            noted = updated.operation(context)
            # The state follows the request only while its outcome is still unknown: a fast
            # failure that was ingested first must not be overtaken by "transferring".
            still_pending = noted is not None and noted.status is OperationStatus.PENDING
            if state is not None and still_pending and state.rank > base.state.rank:
                updated = updated.with_changes(state=state)
            return updated.with_changes(updated_at=self._clock())

        await self._calls.update_call(call_connection_id, change)

    async def _forget(self, call_connection_id: str, context: str) -> None:
        """Drop an operation noted before its request, when ACS refused the request."""

        def change(record: CallRecord | None) -> CallRecord:
            if record is None:
                raise _NotStored
            kept = tuple(op for op in record.operations
                         if op.context != context or op.status is not OperationStatus.PENDING)
            return record.with_changes(operations=kept)

        with contextlib.suppress(_NotStored):
            await self._calls.update_call(call_connection_id, change)

    # --- use cases ------------------------------------------------------------------------

    async def create_call(
        self,
        targets: list[Identifier],
        *,
        caller_id: str | None,
        display_name: str | None,
        operation_context: str | None,
        idempotency_key: str | None = None,
    ) -> CallRecord:
        caller_id = self._caller_id_for(targets, caller_id, "sourceCallerIdNumber")
        context = operation_context or new_operation_context("create")
        note_call(operation_context=context)
        try:
            created: AcsCall = await self._gateway().create_call(
                targets, caller_id=caller_id, display_name=display_name,
                operation_context=context, idempotency_key=idempotency_key,
            )
        except CallControlError as error:
            _count("createCall", error)
            raise
        note_call(call_connection_id=created.call_connection_id,
                  server_call_id=created.server_call_id, correlation_id=created.correlation_id)
        _sent("createCall", context)
        now = self._clock()
        pending = Operation(context, "connect", OperationStatus.PENDING, requested_at=now)

        def change(record: CallRecord | None) -> CallRecord:
            # Callbacks may have arrived first: keep what they said, add what we know.
            base = record or CallRecord(created.call_connection_id, created_at=now,
                                        state=created.state)
            return record_pending(base, pending).with_changes(
                direction=Direction.OUTBOUND,
                targets=tuple(targets),
                source=created.source,
                server_call_id=base.server_call_id or created.server_call_id,
                correlation_id=base.correlation_id or created.correlation_id,
                updated_at=now,
            )

        return await self._calls.update_call(created.call_connection_id, change)

    async def get_call(self, call_connection_id: str) -> tuple[CallRecord | None, AcsCall | None]:
        """Stored state and ACS's latest properties; 404 only when neither knows the call.

        Both reads run concurrently: the answer costs the slower of the two, not their sum.
        """
        stored_read, live_read = await asyncio.gather(
            self._calls.find_call(call_connection_id),
            self._gateway().get_call(call_connection_id),
            return_exceptions=True,
        )
        if isinstance(stored_read, BaseException):
            raise stored_read
        if isinstance(live_read, NotFound):
            if stored_read is None:
                raise live_read
            return stored_read, None
        if isinstance(live_read, BaseException):
            if stored_read is not None and stored_read.state.is_final:
                return stored_read, None  # ACS's view of an ended call adds nothing
            raise live_read
        if stored_read is not None and stored_read.state.is_final:
            return stored_read, None
        return stored_read, live_read

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool,
                      idempotency_key: str | None = None) -> None:
        record = await self._calls.find_call(call_connection_id)
        if record is not None and record.state.is_final:
            raise Conflict(f"call {call_connection_id} has ended")
        kind = "terminate" if for_everyone else "hangUp"
        context = new_operation_context("hangup")
        note_call(call_connection_id=call_connection_id, operation_context=context)
        try:
            await self._gateway().hang_up(call_connection_id, for_everyone=for_everyone,
                                          idempotency_key=idempotency_key)
        except CallControlError as error:
            _count(kind, error)
            raise
        _sent(kind, context)
        await self._note(call_connection_id, kind, context, state=CallState.DISCONNECTING)

    async def transfer(
        self, call_connection_id: str, target: Identifier, *, transferee: Identifier | None,
        caller_id: str | None, operation_context: str | None, idempotency_key: str | None = None,
    ) -> Accepted:
        # With a transferee, one participant of a group call moves and the app stays: noted as
        # such before it is sent, so its outcome is never read as the app's own exit.
        kind = "transfer" if transferee is None else PARTICIPANT_TRANSFER
        context = await self._reserve(call_connection_id, operation_context, "transfer", kind,
                                      target=target)
        await self._send(call_connection_id, context, kind, lambda: self._gateway().transfer(
            call_connection_id, target, transferee=transferee, caller_id=caller_id,
            operation_context=context, idempotency_key=idempotency_key,
        ))
        if transferee is None:  # the whole call moves: the app is about to lose it
            await self._note(call_connection_id, kind, context, target=target,
                             state=CallState.TRANSFERRING)
        return Accepted(call_connection_id, context)

    async def add_participant(
        self, call_connection_id: str, who: Identifier, *, caller_id: str | None,
        invitation_timeout: int | None, operation_context: str | None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        caller_id = self._caller_id_for([who], caller_id, "sourceCallerIdNumber")
        context = await self._reserve(call_connection_id, operation_context, "add",
                                      "addParticipant", target=who)
        outcome = await self._send(call_connection_id, context, "addParticipant", lambda: self._gateway()
                                   .add_participant(call_connection_id, who, caller_id=caller_id,
                                                    invitation_timeout=invitation_timeout,
                                                    operation_context=context,
                                                    idempotency_key=idempotency_key))
        await self._note(call_connection_id, "addParticipant", context, target=who,
                         invitation_id=outcome.invitation_id)
        return Accepted(call_connection_id, context, outcome.invitation_id)

    async def remove_participant(
        self, call_connection_id: str, who: Identifier, *, operation_context: str | None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        context = await self._reserve(call_connection_id, operation_context, "remove",
                                      "removeParticipant", target=who)
        await self._send(call_connection_id, context, "removeParticipant",
                         lambda: self._gateway().remove_participant(
                             call_connection_id, who, operation_context=context,
                             idempotency_key=idempotency_key))
        await self._note(call_connection_id, "removeParticipant", context, target=who)
        return Accepted(call_connection_id, context)

    async def mute_participant(
        self, call_connection_id: str, who: Identifier, *, operation_context: str | None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        if who.kind.value != "communicationUser":
            raise InvalidInput("only ACS users can be muted",
                               [FieldProblem("path.rawId", "must be an ACS user (8:acs:…)")])
        context = await self._reserve(call_connection_id, operation_context, "mute", "mute",
                                      target=who)
        await self._send(call_connection_id, context, "mute", lambda: self._gateway().mute_participant(
            call_connection_id, who, operation_context=context, idempotency_key=idempotency_key))
        # Mute has no callback: its 200 is the outcome.
        await self._note(call_connection_id, "mute", context, target=who,
                         status=OperationStatus.SUCCEEDED)
        return Accepted(call_connection_id, context)

    async def cancel_add_participant(
        self, call_connection_id: str, invitation_id: str, *, operation_context: str | None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        context = await self._reserve(call_connection_id, operation_context, "cancel",
                                      "cancelAddParticipant")
        await self._send(call_connection_id, context, "cancelAddParticipant", lambda: self._gateway()
                         .cancel_add_participant(call_connection_id, invitation_id,
                                                 operation_context=context,
                                                 idempotency_key=idempotency_key))
        await self._note(call_connection_id, "cancelAddParticipant", context,
                         invitation_id=invitation_id)
        return Accepted(call_connection_id, context, invitation_id)

    async def list_participants(self, call_connection_id: str) -> list[Participant]:
        return await self._gateway().list_participants(call_connection_id)

    async def get_participant(self, call_connection_id: str, who: Identifier) -> Participant:
        return await self._gateway().get_participant(call_connection_id, who)

