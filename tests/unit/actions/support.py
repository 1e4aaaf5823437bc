"""The six management actions over a fake ACS and the in-memory call store.

`FakeAcs` implements the gateway port (CallAutomation) and records what each request carried;
like ACS, it answers a repeated repeatability id with its first answer. `Rig` holds the use
cases on a call store over the in-memory table twin, with a connected call stored.
`ACTIONS` describes each action once, so the protocol's tests run across all six.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.identifiers import Identifier, parse_strict_identifier
from callcontrol.domain.models import (
    AcsCall,
    AddParticipantOutcome,
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
)
from callcontrol.usecases.actions import Accepted
from callcontrol.usecases.calls import Calls, HangUp, TransferCall
from callcontrol.usecases.participants import (
    AddParticipant,
    CancelAddParticipant,
    MuteParticipant,
    Participants,
    RemoveParticipant,
)
from callcontrol.usecases.ports import CallAutomation
from tests.support.memory_tables import MemoryTableBackend

CALL = "call-actions-1"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER = parse_strict_identifier({"communicationUserId": "8:acs:actions_user"}, "test")
INVITATION = "invitation-1"
EARLIER_ADD = "add-earlier"  # the stored add that made INVITATION


@dataclass(frozen=True)
class Sent:
    action: str
    call_connection_id: str
    operation_context: str | None
    repeatability_id: str | None


@dataclass
class FakeAcs:
    """ACS as the gateway port shows it. `failures` are raised by the next requests, in order
    (after the request is recorded: ACS may have acted); `during` runs while a request is in
    flight (to look at the store, or to deliver a callback that overtakes the answer)."""

    sent: list[Sent] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    during: Callable[[], Awaitable[None]] | None = None
    _invitations: dict[str | None, str] = field(default_factory=dict)

    async def _request(self, action: str, call_connection_id: str, context: str | None,
                       repeatability_id: str | None) -> None:
        self.sent.append(Sent(action, call_connection_id, context, repeatability_id))
        if self.during is not None:
            await self.during()
        if self.failures:
            raise self.failures.pop(0)

    def actions(self) -> list[str]:
        return [s.action for s in self.sent]

    # --- the six actions ---

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool,
                      repeatability_id: str | None = None) -> None:
        await self._request("terminate" if for_everyone else "hangUp", call_connection_id, None,
                            repeatability_id)

    async def transfer(
        self, call_connection_id: str, target: Identifier, *, transferee: Identifier | None,
        caller_id: str | None, operation_context: str, repeatability_id: str | None = None,
    ) -> None:
        await self._request("transfer", call_connection_id, operation_context, repeatability_id)

    async def add_participant(
        self, call_connection_id: str, who: Identifier, *, caller_id: str | None,
        invitation_timeout: int | None, operation_context: str, repeatability_id: str | None = None,
    ) -> AddParticipantOutcome:
        await self._request("add", call_connection_id, operation_context, repeatability_id)
        # A repeated repeatability id gets ACS's first answer; without one, every add is new.
        key = repeatability_id if repeatability_id is not None else f"new-{len(self.sent)}"
        invitation = self._invitations.setdefault(key, f"invitation-{len(self._invitations) + 1}")
        return AddParticipantOutcome(invitation, None, operation_context)

    async def remove_participant(self, call_connection_id: str, who: Identifier, *,
                                 operation_context: str, repeatability_id: str | None = None) -> None:
        await self._request("remove", call_connection_id, operation_context, repeatability_id)

    async def mute_participant(self, call_connection_id: str, who: Identifier, *,
                               operation_context: str, repeatability_id: str | None = None) -> None:
        await self._request("mute", call_connection_id, operation_context, repeatability_id)

    async def cancel_add_participant(self, call_connection_id: str, invitation_id: str, *,
                                     operation_context: str,
                                     repeatability_id: str | None = None) -> None:
        await self._request("cancel", call_connection_id, operation_context, repeatability_id)

    # --- the rest of the port, unused by the actions ---

    async def create_call(
        self, targets: list[Identifier], *, caller_id: str | None, display_name: str | None,
        operation_context: str | None, repeatability_id: str | None = None,
        callback_secret: str | None = None,
    ) -> AcsCall:
        raise NotImplementedError

    async def get_call_properties(self, call_connection_id: str) -> AcsCall:
        raise NotImplementedError

    async def list_participants(self, call_connection_id: str) -> list[Participant]:
        raise NotImplementedError

    async def get_participant(self, call_connection_id: str, who: Identifier) -> Participant:
        raise NotImplementedError

    async def answer(self, incoming_call_context: str, *, operation_context: str | None = None,
                     repeatability_id: str | None = None,
                     callback_secret: str | None = None) -> AcsCall:
        raise NotImplementedError

    async def reject(self, incoming_call_context: str, reason: str, *,
                     repeatability_id: str | None = None) -> None:
        raise NotImplementedError

    async def redirect(self, incoming_call_context: str, target: Identifier, *,
                       repeatability_id: str | None = None) -> None:
        raise NotImplementedError


class Rig:
    """The calls and participants use cases over one in-memory store and one fake ACS."""

    def __init__(self) -> None:
        self.store = CallStore(MemoryTableBackend())
        self.acs = FakeAcs()
        gateway: CallAutomation = self.acs  # the fake implements the port

        def acs() -> CallAutomation:
            return gateway

        self.calls = Calls(self.store, acs, default_caller_id=lambda: None, clock=lambda: NOW)
        self.participants = Participants(self.store, acs, default_caller_id=lambda: None,
                                         clock=lambda: NOW)

    async def put(self, state: CallState = CallState.CONNECTED) -> None:
        """Store the call in `state`, with only the earlier add whose invitation a cancel names
        (a cancel of an invitation the call never made is refused before ACS is asked)."""
        earlier_add = Operation(EARLIER_ADD, OperationKind.ADD_PARTICIPANT, OperationStatus.PENDING,
                                NOW, invitation_id=INVITATION)
        await self.store.modify(CALL, lambda _: CallRecord(CALL, state=state, created_at=NOW,
                                                           updated_at=NOW,
                                                           operations=(earlier_add,)))

    async def put_state(self, state: CallState) -> None:
        """Move the stored call to `state`, keeping its operations."""
        await self.store.modify(CALL, lambda record: record.with_changes(state=state)
                                if record is not None else None)

    async def record(self) -> CallRecord:
        found = await self.store.find(CALL)
        assert found is not None
        return found

    async def operations(self) -> tuple[Operation, ...]:
        """The call's operations but the earlier add `put` stored."""
        return tuple(op for op in (await self.record()).operations if op.context != EARLIER_ADD)

    async def settle(self, context: str, status: OperationStatus = OperationStatus.SUCCEEDED,
                     ) -> None:
        """Settle an operation as its callback would."""

        def change(record: CallRecord | None) -> CallRecord:
            assert record is not None
            settled = tuple(Operation(op.context, op.kind, status, op.requested_at, NOW,
                                      target=op.target, invitation_id=op.invitation_id,
                                      repeatability_id=op.repeatability_id)
                            if op.context == context else op for op in record.operations)
            return record.with_changes(operations=settled)

        await self.store.modify(CALL, change)


Run = Callable[[Rig, str | None, str | None], Awaitable[Accepted]]


@dataclass(frozen=True)
class ActionCase:
    """One action: how to ask for it (repeatability id, client's operationContext) and what
    the protocol notes when ACS accepts it."""

    name: str
    kind: OperationKind
    sent_as: str  # the FakeAcs action name
    run: Run
    status_when_accepted: OperationStatus = OperationStatus.PENDING
    state_when_accepted: CallState = CallState.CONNECTED
    takes_context: bool = True  # hang-up has no operationContext of the client's
    target: Identifier | None = None
    invitation_id: str | None = None  # in the 202

    def __str__(self) -> str:
        return self.name


async def _transfer(rig: Rig, repeatability_id: str | None, context: str | None) -> Accepted:
    return await rig.calls.transfer(TransferCall(CALL, USER, operation_context=context,
                                                 repeatability_id=repeatability_id))


async def _add(rig: Rig, repeatability_id: str | None, context: str | None) -> Accepted:
    return await rig.participants.add_participant(AddParticipant(
        CALL, USER, operation_context=context, repeatability_id=repeatability_id))


async def _remove(rig: Rig, repeatability_id: str | None, context: str | None) -> Accepted:
    return await rig.participants.remove_participant(RemoveParticipant(
        CALL, USER, operation_context=context, repeatability_id=repeatability_id))


async def _mute(rig: Rig, repeatability_id: str | None, context: str | None) -> Accepted:
    return await rig.participants.mute_participant(MuteParticipant(
        CALL, USER, operation_context=context, repeatability_id=repeatability_id))


async def _cancel(rig: Rig, repeatability_id: str | None, context: str | None) -> Accepted:
    return await rig.participants.cancel_add_participant(CancelAddParticipant(
        CALL, INVITATION, operation_context=context, repeatability_id=repeatability_id))


async def _hang_up(rig: Rig, repeatability_id: str | None, context: str | None) -> Accepted:
    assert context is None  # a hang-up takes none from the client
    return await rig.calls.hang_up(HangUp(CALL, for_everyone=True,
                                          repeatability_id=repeatability_id))


ACTIONS = (
    ActionCase("transfer", OperationKind.TRANSFER, "transfer", _transfer,
               state_when_accepted=CallState.TRANSFERRING, target=USER),
    ActionCase("add", OperationKind.ADD_PARTICIPANT, "add", _add, target=USER,
               invitation_id="invitation-1"),
    ActionCase("remove", OperationKind.REMOVE_PARTICIPANT, "remove", _remove, target=USER),
    ActionCase("mute", OperationKind.MUTE, "mute", _mute, target=USER,
               status_when_accepted=OperationStatus.SUCCEEDED),
    ActionCase("cancel", OperationKind.CANCEL_ADD_PARTICIPANT, "cancel", _cancel,
               invitation_id=INVITATION),
    ActionCase("hangup", OperationKind.TERMINATE, "terminate", _hang_up,
               state_when_accepted=CallState.DISCONNECTING, takes_context=False),
)
