"""A call ACS answers 8522 for is ended at once by the read or action that hears it (issue 24),
with the reconciler's reason, not left `connected` until the reconciler's timer comes round."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.core.exceptions import ODataV4Format, ResourceNotFoundError

from callcontrol.adapters.acs_wire import translate_error
from callcontrol.domain.errors import CallGone, NotFound
from callcontrol.domain.models import AcsCall, CallState, OperationStatus
from callcontrol.domain.reconciliation import NOT_FOUND_AT_ACS, RECONCILIATION_EVENT
from callcontrol.usecases.calls import GetCall
from tests.unit.actions.support import ACTIONS, CALL, NOW, ActionCase, Rig

QUIET_SINCE = NOW - timedelta(minutes=1)  # past the callbacks' grace, well before the timer's


@pytest.fixture
async def rig() -> Rig:
    made = Rig()
    await made.put()
    await made.store.modify(CALL, lambda record: record.with_changes(updated_at=QUIET_SINCE)
                            if record is not None else None)
    return made


def acs_answers(rig: Rig, error: Exception) -> None:
    async def get_call_properties(call_connection_id: str) -> AcsCall:
        raise error

    rig.acs.get_call_properties = get_call_properties  # type: ignore[method-assign]


async def reconciliation_entries(rig: Rig) -> list[str]:
    return [event.data["action"] for event in await rig.store.events(CALL)
            if event.type == RECONCILIATION_EVENT]


async def test_reading_a_call_acs_has_forgotten_ends_it(rig: Rig) -> None:
    acs_answers(rig, CallGone("ACS: Call not found (get call)"))
    view = await rig.calls.get_call(GetCall(CALL))
    assert view.live is None
    assert view.record.state is CallState.DISCONNECTED
    assert view.record.end_reason is not None and view.record.end_reason.message == NOT_FOUND_AT_ACS
    stored = await rig.record()
    assert stored.state is CallState.DISCONNECTED
    # The earlier add, pending, cannot finish now: settled with the end.
    assert [op.status for op in stored.operations] == [OperationStatus.FAILED]
    assert await reconciliation_entries(rig) == ["callEnded"]
    await rig.calls.get_call(GetCall(CALL))  # a second read changes nothing more
    assert await reconciliation_entries(rig) == ["callEnded"]


async def test_another_404_leaves_the_call_alone(rig: Rig) -> None:
    acs_answers(rig, NotFound("ACS: not found (get call)"))
    view = await rig.calls.get_call(GetCall(CALL))
    assert view.record.state is CallState.CONNECTED
    assert await reconciliation_entries(rig) == []


async def test_a_call_the_app_is_leaving_waits_for_its_callbacks(rig: Rig) -> None:
    await rig.put_state(CallState.TRANSFERRING)
    acs_answers(rig, CallGone("ACS: Call not found (get call)"))
    view = await rig.calls.get_call(GetCall(CALL))
    assert view.record.state is CallState.TRANSFERRING
    assert await reconciliation_entries(rig) == []


@pytest.mark.parametrize("action", ACTIONS, ids=str)
async def test_an_action_that_gets_8522_ends_the_call(rig: Rig, action: ActionCase) -> None:
    rig.acs.failures.append(CallGone("ACS: Call not found"))
    acs_answers(rig, CallGone("ACS: Call not found (get call)"))  # GetCall confirms it
    with pytest.raises(CallGone):
        await action.run(rig, None, None)
    stored = await rig.record()
    assert stored.state is CallState.DISCONNECTED
    assert stored.end_reason is not None and stored.end_reason.message == NOT_FOUND_AT_ACS
    assert await rig.operations() == ()  # the refused action's reservation is forgotten
    assert await reconciliation_entries(rig) == ["callEnded"]



async def test_an_8522_for_a_participant_leaves_the_call(rig: Rig) -> None:
    """ACS answers 8522 for an unknown participant too: GetCall still finds the call."""
    [remove] = [action for action in ACTIONS if action.name == "remove"]
    rig.acs.failures.append(CallGone("ACS: Participant not found"))

    async def still_there(call_connection_id: str) -> AcsCall:
        return AcsCall(call_connection_id, None, None, CallState.CONNECTED, (), None, None, None)

    rig.acs.get_call_properties = still_there  # type: ignore[method-assign]
    with pytest.raises(CallGone):
        await remove.run(rig, None, None)
    assert (await rig.record()).state is CallState.CONNECTED
    assert await reconciliation_entries(rig) == []


async def test_a_call_that_changed_just_now_waits_for_its_callbacks(rig: Rig) -> None:
    """A remote hang-up: ACS drops the call before its CallDisconnected arrives."""
    await rig.store.modify(CALL, lambda record: record.with_changes(updated_at=NOW)
                           if record is not None else None)
    acs_answers(rig, CallGone("ACS: Call not found (get call)"))
    assert (await rig.calls.get_call(GetCall(CALL))).record.state is CallState.CONNECTED
    assert await reconciliation_entries(rig) == []


def _http_error(status: int, code: str) -> Exception:
    """An SDK error as ACS's answer makes it: the status, and ACS's code in `error`."""
    error = ResourceNotFoundError(message=f"{code}: Call not found")
    error.status_code = status
    error.error = ODataV4Format({"code": code, "message": "Call not found"})
    return error


def test_the_gateway_names_8522_apart_from_another_404() -> None:
    assert type(translate_error(_http_error(404, "8522"), "get call")) is CallGone
    assert type(translate_error(_http_error(404, "8523"), "remove participant")) is NotFound


async def test_an_8522_for_a_call_the_store_does_not_hold_asks_acs_nothing_more() -> None:
    """Nothing to end: no GetCall after the refusal (it was one more ACS error, counted)."""
    rig = Rig()  # no call stored
    [mute] = [action for action in ACTIONS if action.name == "mute"]
    rig.acs.failures.append(CallGone("ACS: Call not found"))
    acs_answers(rig, AssertionError("GetCall asked for a call the store does not hold"))
    with pytest.raises(CallGone):
        await mute.run(rig, None, None)
