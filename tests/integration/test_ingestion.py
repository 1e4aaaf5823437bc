"""Callback ingestion on both backends: once per event, all concurrent events applied, and the
round trips the design promises (≤ 2 per event; 1 when this instance wrote the last version)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.events.callbacks import CallbackEvent, parse_callback_event
from callcontrol.domain.models import CallState
from tests.support.calls import StoredCalls

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def service(backend: TableBackend) -> StoredCalls:
    # One instance of the app: its own call store (and cache) over the shared tables. The
    # callbacks use case has no way to reach ACS at all.
    return StoredCalls(CallStore(backend))


def roster(call: str, sequence: int) -> CallbackEvent:
    return parse_callback_event({
        "id": f"{call}-p{sequence}", "type": "Microsoft.Communication.ParticipantsUpdated",
        "time": (T0 + timedelta(seconds=sequence)).isoformat(),
        "data": {"callConnectionId": call, "sequenceNumber": sequence, "participants": [
            {"identifier": {"rawId": f"4:+1425555{i:04d}"}} for i in range(sequence % 5 + 1)]},
    })


def connected(call: str) -> CallbackEvent:
    return parse_callback_event({"id": f"{call}-c", "type": "Microsoft.Communication.CallConnected",
                                 "time": T0.isoformat(), "data": {"callConnectionId": call}})


async def test_sequential_events_cost_one_round_trip_each(backend: TableBackend) -> None:
    ingest = service(backend)
    await ingest.ingest_callbacks([connected("c1")])
    before = backend.round_trips
    await ingest.ingest_callbacks([roster("c1", n) for n in range(1, 11)])
    assert backend.round_trips - before == 10


async def test_two_instances_interleaving_apply_everything(backend: TableBackend) -> None:
    first, second = service(backend), service(backend)
    events = [connected("c1"), *[roster("c1", n) for n in range(1, 9)]]
    for index, event in enumerate(events):
        await (first if index % 2 else second).ingest_callbacks([event])
    stored = await first.stored("c1")
    assert stored.state is CallState.CONNECTED
    assert stored.participants_sequence == 8
    assert stored.event_count == len(events)
    # A stale cached version costs a re-read: never more than 3 round trips for an event. Once
    # per store, its first miss looks for the layout row (and, the store being empty, writes
    # it after one query): 3 more.
    assert backend.round_trips <= 3 * len(events) + 2 + 3


async def test_concurrent_duplicated_shuffled_delivery_matches_in_order(backend: TableBackend) -> None:
    events = [connected("c2"), *[roster("c2", n) for n in range(1, 13)]]
    in_order = service(backend)
    for event in events:
        await in_order.ingest_callbacks([event])
    expected = await in_order.stored("c2")

    shuffled = [e.__class__(**{**e.__dict__, "call_connection_id": "c3",
                               "data": {**e.data, "callConnectionId": "c3"},
                               "id": e.id.replace("c2", "c3")}) for e in events]
    deliveries = shuffled * 2
    random.Random(7).shuffle(deliveries)
    instances = [service(backend) for _ in range(3)]
    results = await asyncio.gather(*(instances[i % 3].ingest_callbacks([event])
                                     for i, event in enumerate(deliveries)))
    assert sum(r.applied for r in results) == len(events)
    assert sum(r.duplicates for r in results) == len(events)
    got = await in_order.stored("c3")
    assert got.state is expected.state
    assert got.participants == expected.participants
    assert got.event_count == expected.event_count
    history = await in_order.call_events("c3")
    assert [e.event_id.replace("c3", "c2") for e in history] == [
        e.event_id for e in await in_order.call_events("c2")]
