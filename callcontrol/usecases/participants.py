"""A call's participants: list, get, add, remove, mute, cancel a pending add.

Each action describes itself to `run_action` (usecases/actions.py), which reserves the
operation, sends it to ACS and notes what ACS accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcontrol.domain.access import Actor
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import FieldProblem, InvalidInput, NotFound
from callcontrol.domain.identifiers import Identifier, IdentifierKind
from callcontrol.domain.models import (
    AddParticipantOutcome,
    CallRecord,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
)
from callcontrol.observability import use_case
from callcontrol.usecases._caller_id import caller_id_for
from callcontrol.usecases.actions import Accepted, Action, Noted, run_action
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
    actor: Actor | None = None  # the management caller
    # Already reserved in the write that asked for it (a flow's add): sent without a write first.
    reserved: bool = False


@dataclass(frozen=True)
class RemoveParticipant:
    call_connection_id: str
    participant: Identifier
    operation_context: str | None = None
    repeatability_id: str | None = None
    actor: Actor | None = None  # the management caller


@dataclass(frozen=True)
class MuteParticipant:
    call_connection_id: str
    participant: Identifier
    operation_context: str | None = None
    repeatability_id: str | None = None
    actor: Actor | None = None  # the management caller


@dataclass(frozen=True)
class CancelAddParticipant:
    call_connection_id: str
    invitation_id: str
    operation_context: str | None = None
    repeatability_id: str | None = None
    actor: Actor | None = None  # the management caller


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
        caller_id = caller_id_for([who], command.caller_id, self._default_caller_id,
                                  "sourceCallerIdNumber")
        timeout = command.invitation_timeout_seconds  # the reconciler's limit starts from it

        async def send(context: str, repeatability_id: str | None) -> AddParticipantOutcome:
            return await self._gateway().add_participant(
                call_id, who, caller_id=caller_id, invitation_timeout=timeout,
                operation_context=context, repeatability_id=repeatability_id)

        return await run_action(self._calls, Action(
            call_id, OperationKind.ADD_PARTICIPANT, send, "add",
            operation_context=command.operation_context,
            repeatability_id=command.repeatability_id, actor=command.actor, target=who,
            timeout_seconds=timeout, reserved=command.reserved,
            noted=lambda outcome: Noted(invitation_id=outcome.invitation_id),
            replayable=_invitation_known,
        ), self._clock, self._gateway)

    @use_case
    async def remove_participant(self, command: RemoveParticipant) -> Accepted:
        call_id, who = command.call_connection_id, command.participant

        async def send(context: str, repeatability_id: str | None) -> None:
            await self._gateway().remove_participant(
                call_id, who, operation_context=context, repeatability_id=repeatability_id)

        return await run_action(self._calls, Action(
            call_id, OperationKind.REMOVE_PARTICIPANT, send, "remove",
            operation_context=command.operation_context,
            repeatability_id=command.repeatability_id, actor=command.actor, target=who,
        ), self._clock, self._gateway)

    @use_case
    async def mute_participant(self, command: MuteParticipant) -> Accepted:
        call_id, who = command.call_connection_id, command.participant
        if who.kind is not IdentifierKind.COMMUNICATION_USER:
            raise InvalidInput("only ACS users can be muted",
                               [FieldProblem("path.rawId", "must be an ACS user (8:acs:…)")])

        async def send(context: str, repeatability_id: str | None) -> None:
            await self._gateway().mute_participant(
                call_id, who, operation_context=context, repeatability_id=repeatability_id)

        return await run_action(self._calls, Action(
            call_id, OperationKind.MUTE, send, "mute",
            operation_context=command.operation_context,
            repeatability_id=command.repeatability_id, actor=command.actor, target=who,
            noted=_muted,
        ), self._clock, self._gateway)

    @use_case
    async def cancel_add_participant(self, command: CancelAddParticipant) -> Accepted:
        call_id, invitation_id = command.call_connection_id, command.invitation_id

        async def send(context: str, repeatability_id: str | None) -> None:
            await self._gateway().cancel_add_participant(
                call_id, invitation_id, operation_context=context,
                repeatability_id=repeatability_id)

        return await run_action(self._calls, Action(
            call_id, OperationKind.CANCEL_ADD_PARTICIPANT, send, "cancel",
            operation_context=command.operation_context,
            repeatability_id=command.repeatability_id, actor=command.actor,
            invitation_id=invitation_id,
            precondition=_made_invitation(call_id, invitation_id),
        ), self._clock, self._gateway)


def _made_invitation(call_id: str, invitation_id: str) -> Callable[[CallRecord], None]:
    """An invitation this call never made is unknown: 404 here, not ACS's 400."""

    def check(record: CallRecord) -> None:
        if all(op.invitation_id != invitation_id for op in record.operations):
            raise NotFound(f"call {call_id} has no invitation {invitation_id}")

    return check


def _invitation_known(operation: Operation) -> bool:
    """A settled add is replayed only with its invitation id; else ACS is asked again."""
    return operation.invitation_id is not None


def _muted(_: None) -> Noted:
    return Noted(status=OperationStatus.SUCCEEDED)  # mute has no callback: its 200 is the outcome
