"""The outbox over the in-memory store twin: written with the change, published after, re-published
by the sweep in order with the same ids, never failing the write that produced it."""

from __future__ import annotations

import asyncio
import time

from callcontrol.adapters.store.outbox import OUTBOX_BUDGET_CHARS
from callcontrol.domain.events.call_events import RECONCILIATION
from callcontrol.domain.models import CallState
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.events.support import CALL_ID, NOW, Rig, custom_event, fixture_event


def roster(sequence: int, count: int = 2) -> dict[str, object]:
    return {"sequenceNumber": sequence, "participants": [
        {"identifier": {"rawId": f"8:acs:user-{n}", "kind": "communicationUser",
                        "communicationUser": {"id": f"8:acs:user-{n}"}}} for n in range(count)]}


async def test_events_are_in_the_same_write_as_the_change() -> None:
    rig = Rig()
    rig.publisher.failing = True
    await rig.ingest(fixture_event("call_connected.json"))
    [stored] = await rig.stored_outbox()
    assert stored["type"] == "call.connected" and stored["seq"] == 1
    [row] = await rig.backend.query("calls")
    assert row["OutboxState"] == "pending"
    assert (await rig.store.find(CALL_ID)).state is CallState.CONNECTED  # type: ignore[union-attr]
    await rig.relay.idle()


async def test_published_after_the_write_and_then_cleared_from_the_row() -> None:
    rig = Rig()
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.ingest(custom_event("p-1", "ParticipantsUpdated", **roster(1)))
    await rig.relay.idle()
    assert rig.publisher.types() == ["call.connected", "call.participants.updated"]
    assert [e.sequence for e in rig.publisher.accepted] == [1, 2]
    assert await rig.stored_outbox() == []
    [row] = await rig.backend.query("calls")
    assert "OutboxState" not in row  # the sweep's scan no longer finds it


async def test_a_failing_topic_never_fails_the_callback_and_the_sweep_catches_up_in_order() -> None:
    rig = Rig()
    rig.publisher.failing = True
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.ingest(custom_event("p-1", "ParticipantsUpdated", **roster(1)))
    await rig.ingest(custom_event("p-2", "ParticipantsUpdated", **roster(2, 3)))
    await rig.ingest(fixture_event("call_disconnected.json"))
    await rig.relay.idle()
    assert rig.publisher.accepted == [] and rig.publisher.attempts >= 1
    pending = await rig.store.pending_events(CALL_ID, fresh=True)
    assert [e.type for e in pending] == ["call.connected", "call.participants.updated",
                                         "call.participants.updated", "call.ended"]
    assert await rig.store.calls_with_pending_events() == [CALL_ID]

    rig.publisher.failing = False
    result = await rig.relay.sweep()
    assert (result.calls, result.published, result.failed_calls) == (1, 4, 0)
    assert [e.id for e in rig.publisher.accepted] == [e.id for e in pending]  # same ids, same order
    assert await rig.stored_outbox() == []
    assert await rig.store.calls_with_pending_events() == []
    assert (await rig.relay.sweep()).calls == 0  # nothing is published twice


async def test_a_later_change_publishes_the_earlier_pending_events_first() -> None:
    rig = Rig()
    rig.publisher.failing = True
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.relay.idle()
    rig.publisher.failing = False
    await rig.ingest(custom_event("p-1", "ParticipantsUpdated", **roster(1)))
    await rig.relay.idle()
    assert rig.publisher.types() == ["call.connected", "call.participants.updated"]


async def test_a_redelivered_callback_announces_nothing_new() -> None:
    rig = Rig()
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.relay.idle()
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.relay.idle()
    assert rig.publisher.types() == ["call.connected"]


async def test_a_slow_topic_is_cut_off_by_the_deadline_off_the_call_path() -> None:
    rig = Rig()
    rig.publisher.delay = 5.0  # the rig's deadline is 0.5 s
    started = time.perf_counter()
    await rig.ingest(fixture_event("call_connected.json"))
    assert time.perf_counter() - started < 0.4  # the callback did not wait for the topic
    await rig.relay.idle()
    assert rig.publisher.accepted == []
    assert len(await rig.store.pending_events(CALL_ID, fresh=True)) == 1
    rig.publisher.delay = 0.0
    assert (await rig.relay.sweep()).published == 1


async def test_another_instance_sweeps_what_this_one_left_pending() -> None:
    first = Rig()
    first.publisher.failing = True
    await first.ingest(fixture_event("call_connected.json"))
    await first.relay.idle()
    second = Rig(backend=first.backend)  # same table, a fresh process
    result = await second.relay.sweep()
    assert result.published == 1 and second.publisher.types() == ["call.connected"]
    assert first.publisher.accepted == []


async def test_published_events_leave_with_the_next_write_without_a_settle_write() -> None:
    rig = Rig(settle_after=30.0)  # the settle write would come much later
    await rig.ingest(fixture_event("call_connected.json"))
    await asyncio.sleep(0.3)  # published (after the linger), waiting to settle
    assert rig.publisher.types() == ["call.connected"]
    writes = rig.backend.round_trips
    await rig.ingest(custom_event("p-1", "ParticipantsUpdated", **roster(1)))
    assert rig.backend.round_trips == writes + 1  # the callback's own write, nothing more
    assert [e["type"] for e in await rig.stored_outbox()] == ["call.participants.updated"]
    await rig.relay.close()  # ends the long settle wait


async def test_a_reconciliation_change_is_announced_with_its_cause() -> None:
    rig = Rig()
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.store.modify(CALL_ID, lambda r: r and r.with_changes(state=CallState.DISCONNECTED),
                           cause=RECONCILIATION)
    await rig.relay.idle()
    assert rig.publisher.types() == ["call.connected", "call.ended"]
    assert rig.publisher.accepted[-1].data["cause"] == {"source": "reconciliation"}


async def test_a_long_outage_keeps_every_event_within_the_row_budget() -> None:
    rig = Rig()
    rig.publisher.failing = True
    await rig.ingest(fixture_event("call_connected.json"))
    for sequence in range(1, 80):  # large rosters: far past the outbox budget
        await rig.ingest(custom_event(f"p-{sequence}", "ParticipantsUpdated", **roster(sequence, 40)))
    await rig.relay.idle()
    stored = await rig.stored_outbox()
    assert len(stored) == 80 and [e["seq"] for e in stored] == list(range(1, 81))
    assert sum(len(str(e)) for e in stored) < OUTBOX_BUDGET_CHARS * 1.2
    assert stored[0]["data"].get("truncated") and not stored[-1]["data"].get("truncated")
    rig.publisher.failing = False
    assert (await rig.relay.sweep()).published == 80


async def test_without_announce_the_store_keeps_no_outbox() -> None:
    from callcontrol.adapters.store.calls import CallStore
    from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks

    backend = MemoryTableBackend()
    await Callbacks(CallStore(backend)).ingest(IngestCallbacks((fixture_event("call_connected.json"),)))
    [row] = await backend.query("calls")
    assert not any(name.startswith("Outbox") for name in row)


async def test_changes_of_several_calls_go_out_in_one_publish() -> None:
    rig = Rig()
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.ingest(custom_event("other", "CallConnected", callConnectionId="call-2"))
    await rig.relay.idle()
    assert rig.publisher.attempts == 1
    assert {e.subject for e in rig.publisher.accepted} == {f"calls/{CALL_ID}", "calls/call-2"}


async def test_a_failed_batch_holds_back_every_later_one() -> None:
    from callcontrol.usecases import outbox

    rig = Rig()
    rig.publisher.failing = True
    await rig.ingest(fixture_event("call_connected.json"))
    for sequence in range(1, outbox.MAX_BATCH + 20):  # more than one batch of one call
        await rig.ingest(custom_event(f"p-{sequence}", "ParticipantsUpdated", **roster(sequence, 1)))
    await rig.relay.idle()
    attempts = rig.publisher.attempts
    rig.publisher.failing = False
    result = await rig.relay.sweep()
    assert rig.publisher.attempts == attempts + 2  # two batches, in order
    assert result.published == outbox.MAX_BATCH + 20
    assert [e.sequence for e in rig.publisher.accepted] == list(range(1, outbox.MAX_BATCH + 21))
    assert all(len(e.id) == 36 for e in rig.publisher.accepted)


async def test_the_reconcilers_amendment_is_announced_as_reconciliation() -> None:
    from callcontrol.domain.reconciliation import end_missing_call

    rig = Rig()
    await rig.ingest(fixture_event("call_connected.json"))
    await rig.store.amend(CALL_ID, lambda record: end_missing_call(record, NOW))
    await rig.relay.idle()
    assert rig.publisher.types() == ["call.connected", "call.ended"]
    assert rig.publisher.accepted[-1].data["cause"] == {"source": "reconciliation"}


class OvertakenHangUp:
    """ACS hangs up and its CallDisconnected reaches the app before ACS's answer does."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool,
                      repeatability_id: str | None = None) -> None:
        await self.rig.ingest(fixture_event("call_disconnected.json"))


async def test_a_hang_up_overtaken_by_its_call_disconnected_is_announced_before_the_end() -> None:
    from callcontrol.usecases.calls import Calls, HangUp

    rig = Rig()
    await rig.ingest(fixture_event("call_connected.json"))
    calls = Calls(rig.store, lambda: OvertakenHangUp(rig),  # type: ignore[arg-type,return-value]
                  default_caller_id=lambda: None, clock=lambda: NOW)
    await calls.hang_up(HangUp(CALL_ID, for_everyone=True))
    await rig.relay.idle()
    assert rig.publisher.types() == [
        "call.connected", "call.operation.succeeded", "call.ended"]
    [hang_up] = (await rig.store.find(CALL_ID)).operations  # type: ignore[union-attr]
    assert (hang_up.kind.value, hang_up.status.value) == ("terminate", "succeeded")
