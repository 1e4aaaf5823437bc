"""A run's invitation is reserved in the write that moved the run: the next AddParticipant leaves
after the deciding callback's own read and write, as many round trips as a plain callback makes,
and is pending on the call when it reaches ACS."""

from __future__ import annotations

from callcontrol.domain.models import OperationKind, OperationStatus
from tests.unit.flows.test_wiring import SEQUENTIAL
from tests.unit.flows.wiring_support import CALLER, flow_rig


async def test_the_next_add_is_reserved_in_the_callbacks_write_and_sent_without_another() -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [first] = rig.sent("add")

    trips = rig.backend.round_trips
    roster = [{"identifier": {"rawId": f"4:{CALLER}", "phoneNumber": {"value": CALLER}}}]
    await rig.callback("ParticipantsUpdated", sequenceNumber=1, participants=roster)
    plain = rig.backend.round_trips - trips

    seen: dict[str, object] = {}

    async def in_flight() -> None:  # while the second add is on its way to ACS
        record = await rig.record()
        seen["trips"] = rig.backend.round_trips - trips - 1  # less this look at the store
        seen["operation"] = record.operation(rig.sent("add")[-1] or "")

    trips = rig.backend.round_trips
    rig.acs.during = in_flight
    await rig.callback("AddParticipantFailed", operationContext=first,
                       resultInformation={"code": 486, "subCode": 560486, "message": "busy"})
    rig.acs.during = None
    [_, second] = rig.sent("add")
    assert seen["trips"] == plain  # no storage round trip more than a plain callback before it
    operation = seen["operation"]
    assert operation is not None and getattr(operation, "context", None) == second
    assert getattr(operation, "kind", None) is OperationKind.ADD_PARTICIPANT
    assert getattr(operation, "status", None) is OperationStatus.PENDING
    noted = (await rig.record()).operation(second or "")
    assert noted is not None and noted.invitation_id is not None  # ACS's answer noted after
    assert [s.repeatability_id for s in rig.acs.sent if s.operation_context == second] != [None]
