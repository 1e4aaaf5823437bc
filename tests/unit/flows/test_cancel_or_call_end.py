"""487/0 on a ringing invitation is what ACS gives both when the call went away and when someone
cancelled that invitation (contract §8). A cancel the call holds (the management API's) makes it
that invitation's failure, so the ring goes on; without one it is the call's end."""

from __future__ import annotations

from callcontrol.usecases.participants import CancelAddParticipant, Participants
from tests.unit.flows.test_wiring import SEQUENTIAL
from tests.unit.flows.wiring_support import CONNECTION, FlowRig, flow_rig

CANCELED = {"code": 487, "subCode": 0, "message": "The call was canceled by the caller."}


async def ringing_first() -> tuple[FlowRig, str]:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [first] = rig.sent("add")
    assert first is not None
    return rig, first


async def test_an_invitation_cancelled_through_the_api_fails_and_the_ring_goes_on() -> None:
    rig, first = await ringing_first()
    add = (await rig.record()).operation(first)
    assert add is not None and add.invitation_id is not None
    participants = Participants(rig.store, lambda: rig.acs, default_caller_id=lambda: None)
    await participants.cancel_add_participant(CancelAddParticipant(CONNECTION, add.invitation_id))
    await rig.callback("AddParticipantFailed", operationContext=first, resultInformation=CANCELED)
    assert rig.acs.actions() == ["answer", "add", "cancel", "add"]  # attempt 2, no hang-up
    run = (await rig.record()).flow_run
    assert run is not None and run.outcome is None
    assert [(p.step, p.attempt) for p in run.path] == [("team", 1), ("team", 2)]


async def test_without_a_cancel_the_same_result_is_the_calls_end() -> None:
    rig, first = await ringing_first()
    await rig.callback("AddParticipantFailed", operationContext=first, resultInformation=CANCELED)
    assert rig.acs.actions() == ["answer", "add", "terminate"]  # for everyone; no attempt 2
    run = (await rig.record()).flow_run
    assert run is not None and run.outcome is not None and run.outcome.value == "callEnded"
