"""The action protocol (usecases/actions.py) across the six management actions: reserve,
replay, send, note, forget, against a fake ACS and the in-memory call store."""

from __future__ import annotations

import pytest

from callcontrol.domain.errors import AcsErrorInfo, AcsRejected, AcsUnavailable, Conflict, NotFound
from callcontrol.domain.identifiers import parse_strict_identifier
from callcontrol.domain.models import CallState, OperationStatus
from callcontrol.domain.repeatability import for_idempotency_key
from callcontrol.usecases.actions import Accepted
from callcontrol.usecases.calls import TransferCall
from tests.unit.actions.support import ACTIONS, CALL, USER, ActionCase, Rig

KEY = for_idempotency_key("client-key-1")
AMBIGUOUS = [AcsUnavailable("ACS timed out"), AcsUnavailable("503 from ACS")]
REFUSALS = [AcsRejected("400 from ACS", AcsErrorInfo(400, "8523")), NotFound("8522: no such call"),
            Conflict("8501: not established yet")]
every_action = pytest.mark.parametrize("action", ACTIONS, ids=str)


@pytest.fixture
async def rig() -> Rig:
    made = Rig()
    await made.put()
    return made


# --- reserve -------------------------------------------------------------------------------


@every_action
async def test_the_operation_is_reserved_pending_before_it_is_sent(rig: Rig, action: ActionCase
                                                                    ) -> None:
    seen: list[tuple[str, OperationStatus, str | None]] = []

    async def look() -> None:
        [op] = await rig.operations()
        seen.append((op.kind.value, op.status, op.repeatability_id))

    rig.acs.during = look
    await action.run(rig, KEY, None)
    assert seen == [(action.kind.value, OperationStatus.PENDING, KEY)]


@every_action
async def test_the_context_comes_from_the_repeatability_id_without_a_clients(
        rig: Rig, action: ActionCase) -> None:
    accepted = await action.run(rig, KEY, None)
    assert accepted.operation_context.endswith(f"-{KEY}")
    assert [(s.repeatability_id, s.call_connection_id) for s in rig.acs.sent] == [(KEY, CALL)]
    if action.takes_context:  # hang-up's ACS request carries none
        assert rig.acs.sent[0].operation_context == accepted.operation_context


@every_action
async def test_without_a_key_each_request_is_a_new_operation(rig: Rig, action: ActionCase) -> None:
    if action.kind.value == "terminate":
        first = await action.run(rig, None, None)
        assert (await rig.record()).state is CallState.DISCONNECTING
        second = await action.run(rig, None, None)  # a hang-up may still be sent to an ending call
    elif action.name == "transfer":
        first = await action.run(rig, None, None)
        await rig.settle(first.operation_context, OperationStatus.FAILED)
        await rig.put_state(CallState.CONNECTED)
        second = await action.run(rig, None, None)
    else:
        first, second = await action.run(rig, None, None), await action.run(rig, None, None)
    assert first.operation_context != second.operation_context
    assert [s.repeatability_id for s in rig.acs.sent] == [None, None]
    assert len(await rig.operations()) == 2


@pytest.mark.parametrize("action", [a for a in ACTIONS if a.takes_context], ids=str)
async def test_a_clients_context_used_by_another_request_is_a_conflict(
        rig: Rig, action: ActionCase) -> None:
    await action.run(rig, KEY, "mine")
    with pytest.raises(Conflict, match="already used"):
        await action.run(rig, for_idempotency_key("another key"), "mine")
    with pytest.raises(Conflict, match="already used"):
        await action.run(rig, None, "mine")
    assert len(rig.acs.sent) == 1


@every_action
async def test_a_call_that_has_ended_is_refused_before_anything_is_sent(
        rig: Rig, action: ActionCase) -> None:
    await rig.put(CallState.DISCONNECTED)
    with pytest.raises(Conflict, match="has ended"):
        await action.run(rig, KEY, None)
    assert rig.acs.sent == []
    assert await rig.operations() == ()


@pytest.mark.parametrize("state", [CallState.DISCONNECTING, CallState.TRANSFER_ACCEPTED])
@every_action
async def test_a_call_that_is_ending_refuses_every_action_but_hang_up(
        rig: Rig, action: ActionCase, state: CallState) -> None:
    await rig.put(state)
    if action.kind.value == "terminate":
        accepted = await action.run(rig, KEY, None)
        assert accepted.status is OperationStatus.PENDING
        assert rig.acs.actions() == ["terminate"]
        return
    with pytest.raises(Conflict, match="is ending"):
        await action.run(rig, KEY, None)
    assert rig.acs.sent == []


# --- success -------------------------------------------------------------------------------


@every_action
async def test_success_answers_the_common_shape_and_notes_what_acs_accepted(
        rig: Rig, action: ActionCase) -> None:
    accepted = await action.run(rig, KEY, None)
    assert (accepted.call_connection_id, accepted.status, accepted.invitation_id) == (
        CALL, action.status_when_accepted, action.invitation_id)
    assert rig.acs.actions() == [action.sent_as]
    record = await rig.record()
    [op] = await rig.operations()
    assert (op.context, op.kind, op.status, op.repeatability_id, op.target) == (
        accepted.operation_context, action.kind, action.status_when_accepted, KEY, action.target)
    assert op.invitation_id == action.invitation_id
    assert record.state is action.state_when_accepted


@every_action
async def test_a_call_not_stored_here_is_left_to_acs_and_noted_on_success(action: ActionCase
                                                                            ) -> None:
    rig = Rig()  # nothing stored: the call was created elsewhere
    accepted = await action.run(rig, KEY, None)
    assert rig.acs.actions() == [action.sent_as]
    [op] = await rig.operations()
    assert (op.context, op.status) == (accepted.operation_context, action.status_when_accepted)


async def test_a_participants_transfer_notes_nothing_more_and_the_app_stays(rig: Rig) -> None:
    other = parse_strict_identifier({"communicationUserId": "8:acs:actions_other"}, "test")
    accepted = await rig.calls.transfer(TransferCall(CALL, USER, transferee=other,
                                                     repeatability_id=KEY))
    assert accepted.status is OperationStatus.PENDING
    record = await rig.record()
    assert record.state is CallState.CONNECTED
    assert [op.kind.value for op in await rig.operations()] == ["transferParticipant"]


# --- replay --------------------------------------------------------------------------------


@every_action
async def test_a_retry_of_a_settled_operation_is_replayed_and_nothing_is_sent(
        rig: Rig, action: ActionCase) -> None:
    first = await action.run(rig, KEY, None)
    await rig.settle(first.operation_context, OperationStatus.FAILED
                     if action.status_when_accepted is OperationStatus.PENDING
                     else action.status_when_accepted)
    settled = (await rig.operations())[0].status
    again = await action.run(rig, KEY, None)
    assert again == Accepted(CALL, first.operation_context, first.invitation_id, settled)
    assert len(rig.acs.sent) == 1
    assert len(await rig.operations()) == 1


@every_action
async def test_a_retry_after_the_call_ended_learns_how_the_operation_finished(
        rig: Rig, action: ActionCase) -> None:
    first = await action.run(rig, KEY, None)
    await rig.settle(first.operation_context)
    await rig.put_state(CallState.DISCONNECTED)
    again = await action.run(rig, KEY, None)
    assert (again.operation_context, again.status) == (first.operation_context,
                                                       OperationStatus.SUCCEEDED)
    assert len(rig.acs.sent) == 1


@pytest.mark.parametrize("action", [a for a in ACTIONS
                                    if a.status_when_accepted is OperationStatus.PENDING], ids=str)
async def test_a_retry_of_a_pending_operation_is_sent_again_with_the_same_id(
        rig: Rig, action: ActionCase) -> None:
    first = await action.run(rig, KEY, None)
    again = await action.run(rig, KEY, None)
    assert (again.operation_context, again.status, again.invitation_id) == (
        first.operation_context, OperationStatus.PENDING, first.invitation_id)
    assert [s.repeatability_id for s in rig.acs.sent] == [KEY, KEY]
    assert len(await rig.operations()) == 1


async def test_a_settled_add_whose_invitation_was_never_heard_is_asked_again(rig: Rig) -> None:
    add = next(a for a in ACTIONS if a.name == "add")
    rig.acs.failures.append(AcsUnavailable("ACS timed out"))  # ACS did add: its answer was lost
    with pytest.raises(AcsUnavailable):
        await add.run(rig, KEY, None)
    [op] = await rig.operations()
    await rig.settle(op.context, OperationStatus.FAILED)  # AddParticipantFailed came first
    again = await add.run(rig, KEY, None)
    assert (again.invitation_id, again.status) == ("invitation-1", OperationStatus.FAILED)
    assert [s.repeatability_id for s in rig.acs.sent] == [KEY, KEY]


# --- ambiguous failure ---------------------------------------------------------------------


@pytest.mark.parametrize("failure", AMBIGUOUS, ids=str)
@every_action
async def test_an_ambiguous_failure_keeps_the_reservation_and_a_retry_resends_it(
        rig: Rig, action: ActionCase, failure: Exception) -> None:
    rig.acs.failures.append(failure)
    with pytest.raises(AcsUnavailable):
        await action.run(rig, KEY, None)
    [kept] = await rig.operations()
    assert (kept.status, kept.repeatability_id) == (OperationStatus.PENDING, KEY)  # ACS may have acted
    again = await action.run(rig, KEY, None)
    assert again.operation_context == kept.context
    assert again.status is action.status_when_accepted
    assert [s.repeatability_id for s in rig.acs.sent] == [KEY, KEY]
    [op] = await rig.operations()
    assert op.status is action.status_when_accepted


# --- refusal -------------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda e: type(e).__name__)
@every_action
async def test_a_definite_refusal_forgets_the_reservation(
        rig: Rig, action: ActionCase, refusal: Exception) -> None:
    rig.acs.failures.append(refusal)
    with pytest.raises(type(refusal)):
        await action.run(rig, KEY, None)
    assert await rig.operations() == ()
    assert (await rig.record()).state is CallState.CONNECTED
    accepted = await action.run(rig, KEY, None)  # the context is free again: sent anew
    assert accepted.status is action.status_when_accepted
    assert [s.repeatability_id for s in rig.acs.sent] == [KEY, KEY]
