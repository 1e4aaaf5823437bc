"""Calls: create, read, list, history, hang up, transfer.

Hang-up and transfer describe themselves to `run_action` (usecases/actions.py), which reserves
the operation, sends it to ACS and notes what ACS accepted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from callcontrol.domain.access import Actor
from callcontrol.domain.callback_binding import new_callback_secret, secret_digest
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import CallGone, NotFound
from callcontrol.domain.events.call_events import Cause
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.listing import CallPage, CallQuery
from callcontrol.domain.models import (
    AcsCall,
    CallRecord,
    CallState,
    Direction,
    Operation,
    OperationKind,
    OperationStatus,
    StoredEvent,
)
from callcontrol.domain.state_machine import record_pending
from callcontrol.observability import note_call, use_case
from callcontrol.usecases._caller_id import caller_id_for
from callcontrol.usecases.actions import (
    Accepted,
    Action,
    Noted,
    new_operation_context,
    perform,
    run_action,
    status_of,
)
from callcontrol.usecases.lost_calls import end_lost_call
from callcontrol.usecases.ports import CallAutomation, CallRecords

# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateCall:
    """One target is a 1:1 call, several a group call."""

    targets: tuple[Identifier, ...]
    caller_id: str | None = None
    display_name: str | None = None
    operation_context: str | None = None
    repeatability_id: str | None = None  # sent to ACS so a retry is recognised there
    actor: Actor | None = None  # the management caller


@dataclass(frozen=True)
class GetCall:
    call_connection_id: str


@dataclass(frozen=True)
class GetOperationStatus:
    """An action's operation, by its call and operationContext (an Idempotency-Key replay)."""

    call_connection_id: str
    operation_context: str


@dataclass(frozen=True)
class GetCallEvents:
    call_connection_id: str


@dataclass(frozen=True)
class HangUp:
    call_connection_id: str
    for_everyone: bool = False
    repeatability_id: str | None = None
    actor: Actor | None = None  # the management caller
    operation_context: str | None = None  # kept on the operation only (ACS takes none)


@dataclass(frozen=True)
class TransferCall:
    """Without a transferee the whole call moves (the app leaves); with one, in a group call,
    only that participant moves and the app stays."""

    call_connection_id: str
    target: Identifier
    transferee: Identifier | None = None
    caller_id: str | None = None
    operation_context: str | None = None
    repeatability_id: str | None = None
    actor: Actor | None = None  # the management caller


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallView:
    """A call as the API shows it: the stored record with ACS's state where ACS still has the
    call (`live`), else the stored record alone."""

    record: CallRecord
    live: AcsCall | None


# --- the use cases -------------------------------------------------------------------------


class Calls:
    def __init__(
        self,
        calls: CallRecords,
        gateway: Callable[[], CallAutomation],
        *,
        default_caller_id: Callable[[], str | None],
        clock: Clock = utc_now,
    ) -> None:
        self._calls = calls
        self._gateway = gateway  # resolved on use: reads of stored calls never need ACS
        self._default_caller_id = default_caller_id
        self._clock = clock

    @use_case
    async def operation_status(self, command: GetOperationStatus) -> OperationStatus | None:
        """The operation's status as it stands; None when the call or the operation is gone."""
        return status_of(await self._calls.find(command.call_connection_id),
                         command.operation_context)

    @use_case
    async def create_call(self, command: CreateCall) -> CallRecord:
        caller_id = caller_id_for(command.targets, command.caller_id, self._default_caller_id,
                                  "sourceCallerIdNumber")
        context = command.operation_context or new_operation_context("create")
        secret = new_callback_secret()  # the call's callbacks must present it (kept hashed)
        requested = self._clock()  # before ACS is asked: its CallConnected may come first
        created = await perform(OperationKind.CONNECT, context, lambda: self._gateway().create_call(
            list(command.targets), caller_id=caller_id, display_name=command.display_name,
            operation_context=context, repeatability_id=command.repeatability_id,
            callback_secret=secret,
        ), learnt=_note_created)  # its log line names the call it made
        now = self._clock()
        pending = Operation(context, OperationKind.CONNECT, OperationStatus.PENDING,
                            requested_at=requested, actor=command.actor)

        def change(record: CallRecord | None) -> CallRecord:
            # Callbacks may have arrived first: keep what they said, add what we know.
            base = record or CallRecord(created.call_connection_id, created_at=now,
                                        state=created.state)
            return record_pending(base, pending).with_changes(
                direction=Direction.OUTBOUND,
                targets=command.targets,
                source=created.source,
                server_call_id=base.server_call_id or created.server_call_id,
                correlation_id=base.correlation_id or created.correlation_id,
                updated_at=now,
                callback_binding=base.callback_binding.with_digest(secret_digest(secret)),
            )

        written = await self._calls.modify(created.call_connection_id, change,
                                           cause=Cause.by(command.actor))
        assert written is not None  # `change` always returns a record
        return written

    @use_case
    async def get_call(self, command: GetCall) -> CallView:
        """Stored state merged with ACS's latest properties; 404 only when neither knows the
        call. Both reads run concurrently: the answer costs the slower of the two, not their sum.
        """
        call_id = command.call_connection_id
        stored_read, live_read = await asyncio.gather(
            self._calls.find(call_id), self._gateway().get_call_properties(call_id), return_exceptions=True,
        )
        if isinstance(stored_read, BaseException):
            raise stored_read
        stored = stored_read
        live: AcsCall | None = None
        if isinstance(live_read, NotFound):
            if stored is None:
                raise live_read
            if isinstance(live_read, CallGone) and not stored.state.is_final:
                # Not left for the timer: the call is gone now (say, the emulator restarted).
                stored = await end_lost_call(self._calls, call_id, self._clock()) or stored
        elif isinstance(live_read, BaseException):
            if stored is None or not stored.state.is_final:
                raise live_read
            # else: ACS's view of an ended call adds nothing
        elif stored is None or not stored.state.is_final:
            live = live_read
        record = stored or CallRecord(call_id)
        if live is not None:  # ACS's state wins while ACS has the call
            record = record.with_changes(
                state=live.state,
                server_call_id=record.server_call_id or live.server_call_id,
                correlation_id=record.correlation_id or live.correlation_id,
            )
        return CallView(record, live)

    async def list_page(self, command: CallQuery) -> CallPage:
        """One page of calls, newest first (GET /api/calls); the command is the domain's query."""
        return await self._calls.list_page(command)

    @use_case
    async def call_events(self, command: GetCallEvents) -> list[StoredEvent]:
        if await self._calls.find(command.call_connection_id) is None:
            raise NotFound(f"no call {command.call_connection_id} is known")
        return await self._calls.events(command.call_connection_id)

    @use_case
    async def hang_up(self, command: HangUp) -> Accepted:
        call_id, for_everyone = command.call_connection_id, command.for_everyone

        async def send(_: str, repeatability_id: str | None) -> None:  # ACS takes no context
            await self._gateway().hang_up(call_id, for_everyone=for_everyone,
                                          repeatability_id=repeatability_id)

        # Reserved before it is sent, as every action is: a CallDisconnected that overtakes
        # ACS's answer then settles it in the same write that ends the call, so its outcome is
        # announced before `call.ended`, never after. A call already ending may still be left.
        return await run_action(self._calls, Action(
            call_id, OperationKind.TERMINATE if for_everyone else OperationKind.HANG_UP, send,
            "hangup", operation_context=command.operation_context,
            repeatability_id=command.repeatability_id, actor=command.actor, noted=_disconnecting,
            while_ending=True,
        ), self._clock, self._gateway)

    @use_case
    async def transfer(self, command: TransferCall) -> Accepted:
        call_id, target, transferee = command.call_connection_id, command.target, command.transferee

        async def send(context: str, repeatability_id: str | None) -> None:
            await self._gateway().transfer(
                call_id, target, transferee=transferee, caller_id=command.caller_id,
                operation_context=context, repeatability_id=repeatability_id)

        # With a transferee, one participant of a group call moves and the app stays: reserved
        # as such, so its outcome is never read as the app's own exit, and nothing more to note.
        whole_call = transferee is None
        return await run_action(self._calls, Action(
            call_id, OperationKind.TRANSFER if whole_call else OperationKind.TRANSFER_PARTICIPANT,
            send, "transfer", operation_context=command.operation_context,
            repeatability_id=command.repeatability_id, actor=command.actor, target=target,
            noted=_transferring if whole_call else _nothing_more,
        ), self._clock, self._gateway)


def _note_created(created: AcsCall) -> None:
    note_call(call_connection_id=created.call_connection_id,
              server_call_id=created.server_call_id, correlation_id=created.correlation_id)


def _disconnecting(_: None) -> Noted:
    return Noted(state=CallState.DISCONNECTING)


def _transferring(_: None) -> Noted:
    return Noted(state=CallState.TRANSFERRING)  # the whole call moves: the app is about to lose it


def _nothing_more(_: None) -> None:
    return None
