"""A call's participants: list, get, add, remove, mute, cancel a pending add.

Each action reads top to bottom: reserve the operation in the guarded write that checks the
call, send it to ACS, note the outcome (usecases/_operations.py holds the protocol's steps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import FieldProblem, InvalidInput, NotFound
from callcontrol.domain.identifiers import Identifier, IdentifierKind
from callcontrol.domain.models import CallRecord, OperationKind, OperationStatus, Participant
from callcontrol.observability import use_case
from callcontrol.usecases._operations import (
    Reservation,
    caller_id_for,
    note,
    operation_context,
    send,
    status_of,
)
from callcontrol.usecases.calls import Accepted
from callcontrol.usecases.ports import CallAutomation, CallRecords

# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListParticipants:
    call_connection_id: str


@dataclass(frozen=True)
class GetParticipant:
    call_connection_id: str
    participant: Identifier


@dataclass(frozen=True)
class AddParticipant:
    call_connection_id: str
    participant: Identifier
    caller_id: str | None = None
    invitation_timeout_seconds: int | None = None
    operation_context: str | None = None
    repeatability_id: str | None = None


@dataclass(frozen=True)
class RemoveParticipant:
    call_connection_id: str
    participant: Identifier
    operation_context: str | None = None
    repeatability_id: str | None = None


@dataclass(frozen=True)
class MuteParticipant:
    call_connection_id: str
    participant: Identifier
    operation_context: str | None = None
    repeatability_id: str | None = None


@dataclass(frozen=True)
class CancelAddParticipant:
    call_connection_id: str
    invitation_id: str
    operation_context: str | None = None
    repeatability_id: str | None = None


# --- the use cases -------------------------------------------------------------------------


class Participants:
    def __init__(
        self,
        calls: CallRecords,
        gateway: Callable[[], CallAutomation],
        *,
        default_caller_id: Callable[[], str | None],
        clock: Clock = utc_now,
    ) -> None:
        self._calls = calls
        self._gateway = gateway
        self._default_caller_id = default_caller_id
        self._clock = clock

    @use_case
    async def list_participants(self, command: ListParticipants) -> list[Participant]:
        return await self._gateway().list_participants(command.call_connection_id)

    @use_case
    async def get_participant(self, command: GetParticipant) -> Participant:
        return await self._gateway().get_participant(command.call_connection_id, command.participant)

    @use_case
    async def add_participant(self, command: AddParticipant) -> Accepted:
        call_id, who = command.call_connection_id, command.participant
        kind = OperationKind.ADD_PARTICIPANT
        caller_id = caller_id_for([who], command.caller_id, self._default_caller_id,
                                  "sourceCallerIdNumber")
        context = operation_context(command.operation_context, "add", command.repeatability_id)
        timeout = command.invitation_timeout_seconds  # the reconciler's limit starts from it
        reservation = Reservation(call_id, context, kind, self._clock(), target=who,
                                  request_id=command.repeatability_id, timeout_seconds=timeout)
        await self._calls.modify(call_id, reservation.change)
        replay = reservation.settled_retry
        if replay is not None and replay.invitation_id is not None:
            return Accepted.of(call_id, replay)
        # First attempt, or a retry whose accepted answer (its invitation id) was never heard:
        # the same Repeatability-Request-ID makes ACS answer with its first outcome.
        outcome = await send(self._calls, call_id, context, kind, lambda: self._gateway().add_participant(
            call_id, who, caller_id=caller_id, invitation_timeout=timeout,
            operation_context=context, idempotency_key=command.repeatability_id,
        ))
        record = await self._calls.modify(call_id, note(
            call_id, context, kind, self._clock(), target=who,
            invitation_id=outcome.invitation_id, timeout_seconds=timeout,
            request_id=command.repeatability_id))
        return Accepted(call_id, context, outcome.invitation_id, status_of(record, context))

    @use_case
    async def remove_participant(self, command: RemoveParticipant) -> Accepted:
        call_id, who = command.call_connection_id, command.participant
        kind = OperationKind.REMOVE_PARTICIPANT
        context = operation_context(command.operation_context, "remove", command.repeatability_id)
        reservation = Reservation(call_id, context, kind, self._clock(), target=who,
                                  request_id=command.repeatability_id)
        await self._calls.modify(call_id, reservation.change)
        if (replay := reservation.settled_retry) is not None:
            return Accepted.of(call_id, replay)
        await send(self._calls, call_id, context, kind, lambda: self._gateway().remove_participant(
            call_id, who, operation_context=context, idempotency_key=command.repeatability_id))
        record = await self._calls.modify(call_id, note(
            call_id, context, kind, self._clock(), target=who, request_id=command.repeatability_id))
        return Accepted(call_id, context, status=status_of(record, context))

    @use_case
    async def mute_participant(self, command: MuteParticipant) -> Accepted:
        call_id, who = command.call_connection_id, command.participant
        if who.kind is not IdentifierKind.COMMUNICATION_USER:
            raise InvalidInput("only ACS users can be muted",
                               [FieldProblem("path.rawId", "must be an ACS user (8:acs:…)")])
        kind = OperationKind.MUTE
        context = operation_context(command.operation_context, "mute", command.repeatability_id)
        reservation = Reservation(call_id, context, kind, self._clock(), target=who,
                                  request_id=command.repeatability_id)
        await self._calls.modify(call_id, reservation.change)
        if (replay := reservation.settled_retry) is not None:
            return Accepted.of(call_id, replay)
        await send(self._calls, call_id, context, kind, lambda: self._gateway().mute_participant(
            call_id, who, operation_context=context, idempotency_key=command.repeatability_id))
        # Mute has no callback: its 200 is the outcome.
        record = await self._calls.modify(call_id, note(
            call_id, context, kind, self._clock(), target=who, status=OperationStatus.SUCCEEDED,
            request_id=command.repeatability_id))
        return Accepted(call_id, context, status=status_of(record, context))

    @use_case
    async def cancel_add_participant(self, command: CancelAddParticipant) -> Accepted:
        call_id, invitation_id = command.call_connection_id, command.invitation_id
        kind = OperationKind.CANCEL_ADD_PARTICIPANT
        context = operation_context(command.operation_context, "cancel", command.repeatability_id)
        reservation = Reservation(call_id, context, kind, self._clock(),
                                  request_id=command.repeatability_id)

        def reserve(record: CallRecord | None) -> CallRecord | None:
            # An invitation this call never made is unknown: 404 here, not ACS's 400.
            if record is not None and all(op.invitation_id != invitation_id for op in record.operations):
                raise NotFound(f"call {call_id} has no invitation {invitation_id}")
            return reservation.change(record)

        await self._calls.modify(call_id, reserve)
        if (replay := reservation.settled_retry) is not None:
            return Accepted.of(call_id, replay)
        await send(self._calls, call_id, context, kind, lambda: self._gateway().cancel_add_participant(
            call_id, invitation_id, operation_context=context,
            idempotency_key=command.repeatability_id))
        record = await self._calls.modify(call_id, note(
            call_id, context, kind, self._clock(), invitation_id=invitation_id,
            request_id=command.repeatability_id))
        return Accepted(call_id, context, invitation_id, status_of(record, context))
