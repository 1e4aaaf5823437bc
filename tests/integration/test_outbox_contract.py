"""The outbox on both table backends (the in-memory twin and real Azurite): kept in the call row with
the change, found by the timer's scan, gone from the row (and the scan) once published and settled."""

from __future__ import annotations

from callcontrol.adapters.store.backend import TableBackend
from tests.unit.events.support import CALL_ID, Rig, custom_event, fixture_event


async def test_pending_events_are_found_by_the_scan_and_leave_the_row_once_settled(
        backend: TableBackend) -> None:
    rig = Rig(backend=backend)
    rig.publisher.failing = True
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.ingest(custom_event("other-1", "CallConnected", callConnectionId="call-other"))
    await rig.relay.idle()
    assert sorted(await rig.store.calls_with_pending_events()) == sorted([CALL_ID, "call-other"])
    [row] = [r for r in await backend.query("calls") if r["PartitionKey"] == CALL_ID]
    assert row["OutboxState"] == "pending" and row["OutboxNext"] == 2

    rig.publisher.failing = False
    result = await rig.relay.sweep()
    assert (result.calls, result.published, result.failed_calls) == (2, 2, 0)
    assert await rig.store.calls_with_pending_events() == []
    for row in await backend.query("calls"):
        assert "OutboxState" not in row and "Outbox" not in row  # replaced, not merged
        assert row["OutboxNext"] == 2  # the numbering goes on with the call's next event
    await rig.ingest(custom_event("d-1", "CallDisconnected"))
    await rig.relay.idle()
    assert [e.sequence for e in rig.publisher.accepted if e.subject == f"calls/{CALL_ID}"] == [1, 2]


async def test_a_fresh_process_reads_the_outbox_another_one_wrote(backend: TableBackend) -> None:
    first = Rig(backend=backend)
    first.publisher.failing = True
    await first.ingest(fixture_event("call_connected.json"))
    await first.relay.idle()
    second = Rig(backend=backend)
    [event] = await second.store.pending_events(CALL_ID, fresh=True)
    assert event.type == "call.connected" and event.sequence == 1
    assert event.data["cause"]["acsEventType"] == "Microsoft.Communication.CallConnected"
