"""What each change of a call record announces: types, subjects, stable ids, data. Pure."""

from __future__ import annotations

from datetime import timedelta

from callcontrol.domain.events.call_events import (
    APP,
    RECONCILIATION,
    Cause,
    Source,
    announce,
)
from callcontrol.domain.identifiers import parse_lenient_identifier
from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Direction,
    InboundAction,
    InboundDecision,
    InboundOutcome,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
    ResultInfo,
)
from tests.unit.events.support import NOW

CALL = "call-1"
ALICE = Participant(parse_lenient_identifier({"rawId": "8:acs:alice"}))


def record(**changes: object) -> CallRecord:
    return CallRecord(CALL, created_at=NOW, updated_at=NOW).with_changes(**changes)


def callback(event_id: str = "acs-1") -> Cause:
    return Cause(Source.CALLBACK, event_id, "Microsoft.Communication.Test")


def types(before: CallRecord | None, after: CallRecord, cause: Cause = APP) -> list[str]:
    return [e.type for e in announce(before, after, cause, NOW)]


def test_connecting_then_connected_then_ended() -> None:
    connecting = record(state=CallState.CONNECTING)
    connected = connecting.with_changes(state=CallState.CONNECTED)
    ended = connected.with_changes(state=CallState.DISCONNECTED,
                                   end_reason=ResultInfo(0, 0, "bye"))
    assert types(None, connecting) == []
    assert types(connecting, connected, callback()) == ["call.connected"]
    [event] = announce(connected, ended, callback("acs-2"), NOW)
    assert event.type == "call.ended"
    assert event.data["change"]["endReason"]["message"] == "bye"
    assert event.data["call"]["state"] == "disconnected"


def test_subject_source_of_change_and_snapshot() -> None:
    after = record(state=CallState.CONNECTED, direction=Direction.INBOUND, participants=(ALICE,),
                   server_call_id="srv", correlation_id="corr")
    [connected, roster] = announce(None, after, callback("acs-9"), NOW)
    assert (connected.type, roster.type) == ("call.connected", "call.participants.updated")
    assert connected.subject == f"calls/{CALL}"
    assert connected.data["cause"] == {"source": "callback", "acsEventId": "acs-9",
                                       "acsEventType": "Microsoft.Communication.Test"}
    assert connected.data["serverCallId"] == "srv" and connected.data["correlationId"] == "corr"
    assert roster.data["call"]["participants"] == ["8:acs:alice"]
    assert roster.data["change"]["participants"] == [
        {"rawId": "8:acs:alice", "isMuted": False, "isOnHold": False}]


def test_the_same_change_gets_the_same_id_whatever_noticed_it() -> None:
    before = record(state=CallState.CONNECTED)
    after = before.with_changes(state=CallState.DISCONNECTED)
    by_callback = announce(before, after, callback("acs-1"), NOW)
    by_reconciler = announce(before, after, RECONCILIATION, NOW + timedelta(minutes=5))
    assert [e.id for e in by_callback] == [e.id for e in by_reconciler]
    assert by_reconciler[0].data["cause"] == {"source": "reconciliation"}
    other_call = announce(before.with_changes(call_connection_id="call-2"),
                          after.with_changes(call_connection_id="call-2"), APP, NOW)
    assert other_call[0].id != by_callback[0].id


def test_operations_settle_once_and_transfers_have_their_own_types() -> None:
    add = Operation("add-1", OperationKind.ADD_PARTICIPANT, OperationStatus.PENDING)
    transfer = Operation("xfer-1", OperationKind.TRANSFER, OperationStatus.PENDING)
    pending = record(state=CallState.CONNECTED, operations=(add, transfer))
    assert types(record(state=CallState.CONNECTED), pending) == []  # requests announce nothing
    added = pending.with_changes(operations=(
        Operation("add-1", OperationKind.ADD_PARTICIPANT, OperationStatus.SUCCEEDED), transfer))
    failed = added.with_changes(operations=(added.operations[0], Operation(
        "xfer-1", OperationKind.TRANSFER, OperationStatus.FAILED, result=ResultInfo(500, 1, "no"))))
    assert types(pending, added, callback()) == ["call.operation.succeeded"]
    [event] = announce(added, failed, callback("acs-3"), NOW)
    assert event.type == "call.transfer.failed"
    assert event.data["change"]["operation"]["operationContext"] == "xfer-1"
    assert types(failed, failed, APP) == []  # nothing changed: nothing announced


def test_an_applied_callback_that_changes_nothing_else_is_call_updated() -> None:
    same = record(state=CallState.CONNECTED)
    [event] = announce(same, same, callback("acs-7"), NOW)
    assert event.type == "call.updated"
    assert announce(same, same, callback("acs-7"), NOW)[0].id == event.id
    assert announce(same, same, APP, NOW) == []


def test_inbound_decision_is_announced_once() -> None:
    decision = InboundDecision(rule_id="r1", action=InboundAction.REJECT, outcome=InboundOutcome.REJECTED,
                               decided_at=NOW)
    decided = record(state=CallState.DISCONNECTED, inbound=decision, direction=Direction.INBOUND)
    assert types(None, decided) == ["inbound.decided", "call.ended"]
    [event, _] = announce(None, decided, APP, NOW)
    assert event.data["change"]["decision"]["ruleId"] == "r1"
    assert types(decided, decided.with_changes(updated_at=NOW + timedelta(seconds=1))) == []
