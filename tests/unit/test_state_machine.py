"""The call state machine: forward-only, roster by sequence, outcomes by operation context."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from callcontrol.domain.events.callbacks import CallbackEvent, parse_callback_event
from callcontrol.domain.identifiers import phone
from callcontrol.domain.models import CallRecord, CallState, Operation, OperationStatus
from callcontrol.domain.state_machine import apply_event, record_pending
from handlers.wire.callback_body import parse_callback_body
from tests.conftest import load_event

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CALL = "call-1"


def make(kind: str, event_id: str, seconds: int = 0, **data: object) -> CallbackEvent:
    return parse_callback_event({
        "id": event_id,
        "type": f"Microsoft.Communication.{kind}",
        "time": (NOW + timedelta(seconds=seconds)).isoformat(),
        "data": {"callConnectionId": CALL, **data},
    })


def roster(sequence: int, *numbers: str) -> CallbackEvent:
    participants = [{"identifier": {"rawId": f"4:{n}", "phoneNumber": {"value": n}}}
                    for n in numbers]
    return make("ParticipantsUpdated", f"p{sequence}", sequence,
                participants=participants, sequenceNumber=sequence)


def run(events: list[CallbackEvent], start: CallRecord | None = None) -> CallRecord:
    record = start
    for event in events:
        record = apply_event(record, event, NOW)
    assert record is not None
    return record


def test_answer_flow_reaches_connected_with_roster() -> None:
    events = [e for name in ("call_connected.json", "participants_updated.json")
              for e in parse_callback_body(json.dumps(load_event(name)).encode())]
    record = run(events)
    assert record.state is CallState.CONNECTED
    assert len(record.participants) == 2
    assert record.participants_sequence == 1


def test_late_participants_update_never_resurrects_a_disconnected_call() -> None:
    record = run([make("CallConnected", "a"), make("CallDisconnected", "b", 5),
                  roster(7, "+14255550100")])
    assert record.state is CallState.DISCONNECTED
    assert record.participants_sequence == 7  # the roster is history, not a resurrection


def test_older_roster_does_not_replace_a_newer_one() -> None:
    record = run([roster(3, "+14255550100", "+14255550101"), roster(2, "+14255550100")])
    assert record.participants_sequence == 3
    assert len(record.participants) == 2


def test_connected_after_disconnected_stays_disconnected() -> None:
    record = run([make("CallDisconnected", "b", 5), make("CallConnected", "a")])
    assert record.state is CallState.DISCONNECTED


def test_failed_transfer_returns_to_connected() -> None:
    start = CallRecord(CALL, state=CallState.TRANSFERRING)
    record = run([make("CallTransferFailed", "t", operationContext="x",
                       resultInformation={"code": 500, "subCode": 7016, "message": "failed"})],
                 start)
    assert record.state is CallState.CONNECTED
    op = record.operation("x")
    assert op is not None and op.status is OperationStatus.FAILED
    assert "failed" in op.reason


def test_transfer_accepted_then_disconnected_ends_transferred() -> None:
    record = run([make("CallConnected", "a"), make("CallTransferAccepted", "t", 3),
                  make("CallDisconnected", "d", 4)])
    assert record.state is CallState.DISCONNECTED
    assert record.transferred


def test_outcome_arriving_before_pending_is_kept() -> None:
    finished = run([make("AddParticipantFailed", "f", operationContext="add-1",
                         resultInformation={"code": 487, "subCode": 10004, "message": "timeout"},
                         participant={"rawId": "4:+14255550177"})])
    pending = Operation("add-1", "addParticipant", OperationStatus.PENDING, requested_at=NOW,
                        target=phone("+14255550177"), invitation_id="inv-1")
    merged = record_pending(finished, pending)
    op = merged.operation("add-1")
    assert op is not None
    assert op.status is OperationStatus.FAILED
    assert op.invitation_id == "inv-1"


def test_unknown_event_changes_nothing_but_is_counted() -> None:
    base = run([make("CallConnected", "a")])
    after = apply_event(base, make("HoldFailed", "u"), NOW)
    assert after.state is base.state and after.event_count == base.event_count + 1


SCENARIO = [
    make("CallConnected", "a", 1),
    roster(1, "+14255550100"),
    make("AddParticipantSucceeded", "s", 3, operationContext="add-1",
         participant={"rawId": "4:+14255550177"}),
    roster(2, "+14255550100", "+14255550177"),
    make("RemoveParticipantSucceeded", "r", 5, operationContext="rm-1",
         participant={"rawId": "4:+14255550177"}),
    roster(3, "+14255550100"),
    make("CallDisconnected", "d", 9),
]


def comparable(record: CallRecord) -> dict[str, object]:
    body = record.to_json()
    body["operations"] = sorted(body["operations"], key=lambda op: op["operationContext"])
    return body


@settings(max_examples=200, deadline=None)
@given(st.permutations(SCENARIO), st.lists(st.sampled_from(SCENARIO), max_size=4))
def test_any_order_with_duplicates_ends_in_the_same_state(
    order: list[CallbackEvent], repeats: list[CallbackEvent]
) -> None:
    expected = run(SCENARIO)
    shuffled = run([*order, *repeats])
    # Duplicates are filtered by the store (event id); here only the count differs.
    assert comparable(shuffled.with_changes(event_count=0)) == comparable(
        expected.with_changes(event_count=0))


def test_participant_transfer_in_a_group_call_keeps_the_call() -> None:
    start = record_pending(run([make("CallConnected", "a")]),
                           Operation("t1", "transferParticipant", OperationStatus.PENDING))
    record = run([make("CallTransferAccepted", "x", 3, operationContext="t1")], start)
    assert record.state is CallState.CONNECTED
    assert not record.transferred
    op = record.operation("t1")
    assert op is not None
    assert op.status is OperationStatus.SUCCEEDED


def test_a_disconnect_settles_what_is_still_pending() -> None:
    start = run([make("CallConnected", "a")])
    for operation in (Operation("h", "terminate", OperationStatus.PENDING),
                      Operation("add", "addParticipant", OperationStatus.PENDING)):
        start = record_pending(start, operation)
    record = run([make("CallDisconnected", "d", 9)], start)
    hang_up, add = record.operation("h"), record.operation("add")
    assert hang_up is not None
    assert hang_up.status is OperationStatus.SUCCEEDED
    assert add is not None
    assert add.status is OperationStatus.FAILED
    assert "ended" in add.reason
    # An outcome ACS stamped before the hang-up, delivered after it, still wins.
    late = run([make("AddParticipantSucceeded", "s", 5, operationContext="add")], record)
    late_add = late.operation("add")
    assert late_add is not None
    assert late_add.status is OperationStatus.SUCCEEDED


def test_times_without_an_offset_are_read_as_utc() -> None:
    naive = parse_callback_event({"id": "n", "type": "Microsoft.Communication.CallConnected",
                                  "time": "2026-11-24T09:00:05", "data": {"callConnectionId": CALL}})
    assert naive.time is not None
    assert naive.time.utcoffset() is not None
    run([make("AddParticipantFailed", "f", 1, operationContext="o"), naive])


def test_an_operation_noted_after_the_call_ended_is_settled_at_once() -> None:
    ended = run([make("CallConnected", "a"), make("CallDisconnected", "d", 5)])
    hang_up = record_pending(ended, Operation("h", "terminate", OperationStatus.PENDING))
    add = record_pending(ended, Operation("x", "addParticipant", OperationStatus.PENDING))
    assert hang_up.operation("h").status is OperationStatus.SUCCEEDED  # type: ignore[union-attr]
    assert add.operation("x").status is OperationStatus.FAILED  # type: ignore[union-attr]


def test_cancel_and_hang_up_in_either_order_end_the_same() -> None:
    start = record_pending(run([make("CallConnected", "a")]),
                           Operation("add", "addParticipant", OperationStatus.PENDING,
                                     invitation_id="inv-1"))
    cancel = make("CancelAddParticipantSucceeded", "c", 2, operationContext="cancel",
                  invitationId="inv-1")
    hang_up = make("CallDisconnected", "d", 5)
    one = run([cancel, hang_up], start).operation("add")
    other = run([hang_up, cancel], start).operation("add")
    assert one is not None
    assert other is not None
    assert one.status is other.status is OperationStatus.CANCELLED
