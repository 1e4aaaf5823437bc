"""The reconciler with a controllable clock, over the in-memory store twin and a stand-in ACS
that answers GetCall and the participant list (the real path runs end to end in
tests/e2e/test_timers.py and tests/faults/test_lost_callbacks.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.errors import AcsUnavailable, NotFound
from callcontrol.domain.events.call_events import RECONCILIATION, EventType, announce
from callcontrol.domain.identifiers import from_raw_id, phone
from callcontrol.domain.listing import CallQuery
from callcontrol.domain.models import (
    AcsCall,
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
)
from callcontrol.domain.reconciliation import (
    BEHIND_ACS,
    NOT_FOUND_AT_ACS,
    RECONCILIATION_EVENT,
    OperationLimits,
)
from callcontrol.usecases.reconcile import (
    ReconcileOptions,
    Reconciler,
    ReconcileReport,
    RunReconciliation,
)
from tests.support.memory_tables import MemoryTableBackend

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OPTIONS = ReconcileOptions(quiet_for=timedelta(minutes=10), max_calls=100,
                           limits=OperationLimits(add_margin=timedelta(seconds=60),
                                                  others=timedelta(seconds=300)))


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Acs:
    """The calls ACS still has (connected, with an empty roster unless told otherwise);
    everything else is a 404 (or ACS is down)."""

    live: set[str] = field(default_factory=set)
    down: bool = False
    lookups: list[str] = field(default_factory=list)
    rosters: dict[str, list[Participant]] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)
    roster_down: bool = False

    async def get_call_properties(self, call_connection_id: str) -> AcsCall:
        self.lookups.append(call_connection_id)
        if self.down:
            raise AcsUnavailable("ACS is unavailable for get call (HTTP 503)")
        if call_connection_id not in self.live:
            raise NotFound("ACS: call not found (get call)")
        return AcsCall(call_connection_id, "server-1", "correlation-1", CallState.CONNECTED, (),
                       None, None, None)

    async def list_participants(self, call_connection_id: str) -> list[Participant]:
        self.listed.append(call_connection_id)
        if self.roster_down:
            raise AcsUnavailable("ACS is unavailable for list participants (HTTP 503)")
        return list(self.rosters.get(call_connection_id, []))


@dataclass
class World:
    clock: Clock
    acs: Acs
    store: CallStore
    reconciler: Reconciler

    async def add_call(self, call_id: str, *, state: CallState = CallState.CONNECTED,
                       operations: tuple[Operation, ...] = (),
                       participants: tuple[Participant, ...] = (), sequence: int = 0) -> None:
        now = self.clock()
        await self.store.save(CallRecord(call_id, state=state, created_at=now, updated_at=now,
                                         operations=operations, participants=participants,
                                         participants_sequence=sequence), None)

    async def run(self) -> ReconcileReport:
        return await self.reconciler.run(RunReconciliation("test"))

    async def record(self, call_id: str) -> CallRecord:
        found = await self.store.find(call_id)
        assert found is not None
        return found


def world(options: ReconcileOptions = OPTIONS) -> World:
    clock, acs = Clock(), Acs()
    store = CallStore(MemoryTableBackend())
    return World(clock, acs, store, Reconciler(store, store, lambda: acs, options, clock=clock))


async def test_a_quiet_call_acs_no_longer_knows_ends_with_the_reason() -> None:
    w = world()
    pending = Operation("add-1", OperationKind.ADD_PARTICIPANT, OperationStatus.PENDING,
                        requested_at=T0, target=phone("+14255550100"), timeout_seconds=900)
    await w.add_call("lost", operations=(pending,))
    w.clock.advance(minutes=11)
    report = await w.run()
    record = await w.record("lost")
    assert record.state is CallState.DISCONNECTED
    assert record.end_reason is not None and record.end_reason.message == NOT_FOUND_AT_ACS
    [op] = record.operations
    assert op.status is OperationStatus.FAILED  # nothing stays pending on an ended call
    [entry] = await w.store.events("lost")
    assert entry.type == RECONCILIATION_EVENT
    assert entry.data["action"] == "callEnded" and entry.data["reason"] == NOT_FOUND_AT_ACS
    assert report.ended == ["lost"]
    live = await w.store.list_page(CallQuery(state=CallState.CONNECTED))
    assert live.records == ()
    w.clock.advance(minutes=11)
    again = await w.run()
    assert again.ended == [] and w.acs.lookups == ["lost"]


async def test_a_call_acs_still_has_is_left_alone() -> None:
    w = world()
    await w.add_call("talking")
    w.acs.live.add("talking")
    w.clock.advance(minutes=30)
    await w.run()
    assert (await w.record("talking")).state is CallState.CONNECTED
    assert await w.store.events("talking") == []
    assert w.acs.lookups == ["talking"]


async def test_young_or_recently_changed_calls_are_not_looked_up() -> None:
    w = world()
    await w.add_call("old-but-busy")
    w.clock.advance(minutes=30)
    current = await w.store.get("old-but-busy")
    assert current is not None
    await w.store.save(current.record.with_changes(updated_at=w.clock()), current)  # a callback
    await w.add_call("young")
    w.clock.advance(minutes=9)
    await w.run()
    assert w.acs.lookups == []
    for call_id in ("old-but-busy", "young"):
        assert (await w.record(call_id)).state is CallState.CONNECTED


@pytest.mark.parametrize(("kind", "invitation_seconds", "limit_seconds"), [
    (OperationKind.ADD_PARTICIPANT, 30, 90),  # its invitation timeout + the 60 s margin
    (OperationKind.ADD_PARTICIPANT, None, 240),  # no timeout named: ACS's longest, 180 s
    (OperationKind.TRANSFER, None, 300),  # any other kind: the setting
])
async def test_operations_pending_past_their_limit_are_settled_as_failed(
    kind: OperationKind, invitation_seconds: int | None, limit_seconds: int,
) -> None:
    w = world()
    w.acs.live.add("c1")
    pending = Operation("op-1", kind, OperationStatus.PENDING, requested_at=T0,
                        timeout_seconds=invitation_seconds)
    await w.add_call("c1", operations=(pending,))
    w.clock.advance(seconds=limit_seconds - 1)
    await w.run()
    assert (await w.record("c1")).operations[0].status is OperationStatus.PENDING
    w.clock.advance(seconds=1)
    report = await w.run()
    record = await w.record("c1")
    [op] = record.operations
    assert op.status is OperationStatus.FAILED and op.finished_at == w.clock()
    assert op.result is not None and "settled by reconciliation" in op.result.message
    assert str(limit_seconds) in op.result.message
    assert record.state is CallState.CONNECTED  # the call itself goes on
    [entry] = await w.store.events("c1")
    assert entry.data["action"] == "operationsSettled"
    assert entry.data["operations"] == [{"operationContext": "op-1", "kind": kind.value}]
    assert report.operations_settled == 1


async def test_acs_unreachable_postpones_the_lookup_to_the_next_run() -> None:
    w = world()
    await w.add_call("c1")
    w.clock.advance(minutes=11)
    w.acs.down = True
    report = await w.run()
    assert report.acs_unreachable == 1
    assert (await w.record("c1")).state is CallState.CONNECTED
    w.acs.down = False
    w.clock.advance(minutes=5)
    await w.run()
    assert (await w.record("c1")).state is CallState.DISCONNECTED


async def test_each_run_does_bounded_work_and_the_next_resumes() -> None:
    options = ReconcileOptions(OPTIONS.quiet_for, max_calls=3, limits=OPTIONS.limits)
    w = world(options)
    for n in range(7):
        await w.add_call(f"c{n}")
        w.clock.advance(seconds=1)
    w.clock.advance(minutes=11)
    examined = []
    for _ in range(3):
        report = await w.run()
        examined.append((report.examined, report.completed_pass))
    assert examined == [(3, False), (3, False), (1, True)]
    assert sorted(w.acs.lookups) == [f"c{n}" for n in range(7)]  # each exactly once
    for n in range(7):
        assert (await w.record(f"c{n}")).state is CallState.DISCONNECTED


async def test_a_leftover_open_row_is_removed_without_touching_the_call() -> None:
    w = world()
    await w.add_call("ended")
    current = await w.store.get("ended")
    assert current is not None
    await w.store.save(current.record.with_changes(state=CallState.DISCONNECTED), current)
    # The row's removal after the end was lost (say, a failed write): put it back.
    await w.store.index.add(current.record)
    w.clock.advance(minutes=11)
    report = await w.run()
    assert report.index_rows_removed == 1
    assert w.acs.lookups == []
    assert await w.store.events("ended") == []


async def test_a_call_that_ended_meanwhile_is_not_ended_twice() -> None:
    w = world()
    await w.add_call("c1")
    w.clock.advance(minutes=11)

    class EndsDuringLookup(Acs):
        async def get_call_properties(self, call_connection_id: str) -> AcsCall:
            current = await w.store.get(call_connection_id)
            assert current is not None  # the real CallDisconnected lands first
            await w.store.save(current.record.with_changes(state=CallState.DISCONNECTED),
                               current)
            return await super().get_call_properties(call_connection_id)

    racing = EndsDuringLookup()
    reconciler = Reconciler(w.store, w.store, lambda: racing, OPTIONS, clock=w.clock)
    report = await reconciler.run(RunReconciliation("test"))
    assert report.ended == []
    record = await w.record("c1")
    assert record.end_reason is None  # the real end stands
    assert await w.store.events("c1") == []


# --- calls stuck short of ACS's own view (issue 25: callbacks refused during a stall) -------

ALICE = Participant(phone("+14255550100"))
BOB = Participant(from_raw_id("8:acs:bob"), is_muted=True)


async def test_a_call_stuck_connecting_that_acs_has_connected_is_repaired_in_one_write() -> None:
    w = world()
    connect = Operation("connect-1", OperationKind.CONNECT, OperationStatus.PENDING,
                        requested_at=T0)
    await w.add_call("stuck", state=CallState.CONNECTING, operations=(connect,))
    w.acs.live.add("stuck")
    w.acs.rosters["stuck"] = [ALICE, BOB]
    w.clock.advance(minutes=11)
    before = await w.record("stuck")
    report = await w.run()
    record = await w.record("stuck")
    assert record.state is CallState.CONNECTED
    assert record.participants == (ALICE, BOB) and record.participants_sequence == 0
    assert record.server_call_id == "server-1" and record.correlation_id == "correlation-1"
    [op] = record.operations
    assert op.status is OperationStatus.SUCCEEDED  # as the lost CallConnected would have said
    [entry] = await w.store.events("stuck")
    assert entry.type == RECONCILIATION_EVENT
    assert entry.data["action"] == "callRepaired" and entry.data["reason"] == BEHIND_ACS
    assert entry.data["previousState"] == "connecting" and entry.data["state"] == "connected"
    assert entry.data["participants"] == [ALICE.identifier.raw_id, BOB.identifier.raw_id]
    assert report.repaired == ["stuck"] and report.ended == []
    # The events a topic would get: the call connected, its roster, its connect succeeded.
    kinds = [e.type for e in announce(before, record, RECONCILIATION, w.clock())]
    assert kinds == [EventType.CONNECTED.value, EventType.PARTICIPANTS_UPDATED.value,
                     EventType.OPERATION_SUCCEEDED.value]
    # Repaired once: the next run finds nothing behind.
    w.clock.advance(minutes=11)
    again = await w.run()
    assert again.repaired == [] and len(await w.store.events("stuck")) == 1


async def test_a_roster_short_of_acs_is_replaced_and_keeps_its_sequence() -> None:
    w = world()
    await w.add_call("roster", participants=(ALICE,), sequence=4)
    w.acs.live.add("roster")
    w.acs.rosters["roster"] = [BOB, ALICE]
    w.clock.advance(minutes=11)
    before = await w.record("roster")
    await w.run()
    record = await w.record("roster")
    assert record.state is CallState.CONNECTED
    assert record.participants == (BOB, ALICE) and record.participants_sequence == 4
    [entry] = await w.store.events("roster")
    assert entry.data["action"] == "callRepaired" and "previousState" not in entry.data
    [event] = announce(before, record, RECONCILIATION, w.clock())
    # Not the id of the ParticipantsUpdated #4 already published: a new event.
    assert event.type == EventType.PARTICIPANTS_UPDATED.value
    assert event.id != announce(None, before, RECONCILIATION, T0)[0].id


async def test_the_same_participants_in_another_order_are_left_alone() -> None:
    w = world()
    await w.add_call("same", participants=(ALICE, BOB), sequence=2)
    w.acs.live.add("same")
    w.acs.rosters["same"] = [Participant(BOB.identifier, is_muted=False), ALICE]  # flags alone
    w.clock.advance(minutes=11)
    report = await w.run()
    assert report.repaired == [] and await w.store.events("same") == []


async def test_the_state_is_repaired_even_when_the_roster_cannot_be_read() -> None:
    w = world()
    await w.add_call("half", state=CallState.CONNECTING)
    w.acs.live.add("half")
    w.acs.rosters["half"] = [ALICE]
    w.acs.roster_down = True
    w.clock.advance(minutes=11)
    await w.run()
    record = await w.record("half")
    assert record.state is CallState.CONNECTED and record.participants == ()


async def test_only_quiet_calls_acs_says_are_connected_have_their_roster_read() -> None:
    w = world()
    await w.add_call("busy", state=CallState.CONNECTING)
    w.acs.live.add("busy")
    w.clock.advance(minutes=5)  # changed too recently to be looked up
    await w.run()
    assert w.acs.lookups == [] and w.acs.listed == []
    assert (await w.record("busy")).state is CallState.CONNECTING
