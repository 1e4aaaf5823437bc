"""The callbacks use case around the replay store (issue 25): the token's insert overlaps the
reads a callback needs before its write (on another instance's call the insert and the record
read are in flight together, and the write then needs no read of its own), and a write on the
bare URI never creates a call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.backend import Entity
from callcontrol.adapters.store.callback_tokens import CallbackTokenStore
from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.callback_binding import CallbackCredentials, body_digest, new_callback_secret
from callcontrol.domain.errors import Unauthenticated
from callcontrol.domain.events.callbacks import CallbackEvent, parse_callback_event
from callcontrol.domain.models import CallRecord
from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks
from tests.support.memory_tables import MemoryTableBackend


class SlowTables(MemoryTableBackend):
    """The twin with a little latency on reads and inserts, counting what is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0

    async def _slow(self) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1

    async def get(self, table: str, partition: str, row: str, *,
                  select: Sequence[str] | None = None) -> Entity | None:
        await self._slow()
        return await super().get(table, partition, row, select=select)

    async def insert(self, table: str, entity: Entity) -> str:
        await self._slow()
        return await super().insert(table, entity)


def event(call_id: str, n: int) -> CallbackEvent:
    return parse_callback_event({"id": f"{call_id}-{n}", "type": "Microsoft.Communication.CallConnected",
                                 "time": "2026-12-07T09:00:00Z", "data": {"callConnectionId": call_id}})


def request(call_id: str, n: int, secret: str) -> IngestCallbacks:
    credentials = CallbackCredentials(secret, f"jti-{n}", datetime.now(UTC) + timedelta(minutes=5),
                                      body_digest(f"{n}".encode()))
    return IngestCallbacks((event(call_id, n),), credentials)


async def test_the_token_insert_and_the_record_read_are_in_flight_together() -> None:
    backend, secret = SlowTables(), new_callback_secret()
    writer = Callbacks(CallStore(backend), CallbackTokenStore(backend))
    await writer.ingest(request("c1", 1, secret))
    other = Callbacks(CallStore(backend), CallbackTokenStore(backend))  # holds no version of c1
    before = backend.round_trips

    result = await other.ingest(request("c1", 2, secret))

    assert result.applied == 1
    assert backend.most_in_flight == 2  # the token's insert and the call's read
    assert backend.round_trips - before == 3  # insert, read, write: no second read


async def test_the_instance_that_wrote_last_only_inserts_and_writes() -> None:
    backend, secret = SlowTables(), new_callback_secret()
    callbacks = Callbacks(CallStore(backend), CallbackTokenStore(backend))
    await callbacks.ingest(request("c1", 1, secret))
    before = backend.round_trips
    await callbacks.ingest(request("c1", 2, secret))
    assert backend.round_trips - before == 2


class PrefetchCounting(CallStore):
    def __init__(self, backend: MemoryTableBackend) -> None:
        super().__init__(backend)
        self.prefetched: list[str] = []

    async def prefetch(self, call_connection_id: str) -> None:
        self.prefetched.append(call_connection_id)
        await super().prefetch(call_connection_id)


async def test_a_call_held_here_is_not_prefetched_beside_the_token_insert() -> None:
    # The usual callback (this instance wrote the call last) awaits the token's insert alone:
    # no prefetch with nothing to read, so no tasks to schedule for it.
    backend, secret = SlowTables(), new_callback_secret()
    calls = PrefetchCounting(backend)
    callbacks = Callbacks(calls, CallbackTokenStore(backend))
    await callbacks.ingest(request("c1", 1, secret))  # a call first seen: prefetched
    await callbacks.ingest(request("c1", 2, secret))  # held since: not
    calls.forget("c1")
    await callbacks.ingest(request("c1", 3, secret))  # no longer held: prefetched again

    assert calls.prefetched == ["c1", "c1"]


class VanishingCalls(CallStore):
    """The bare URI's read finds a call from before secrets, which is gone by the write."""

    async def find(self, call_connection_id: str) -> CallRecord | None:
        return CallRecord(call_connection_id)


async def test_a_call_gone_between_the_check_and_the_write_is_not_made_up_again() -> None:
    backend = MemoryTableBackend()
    callbacks = Callbacks(VanishingCalls(backend), CallbackTokenStore(backend))
    credentials = CallbackCredentials(None, None, None, body_digest(b"[]"))

    with pytest.raises(Unauthenticated):
        await callbacks.ingest(IngestCallbacks((event("gone", 1),), credentials))

    assert await CallStore(backend).find("gone") is None


class CountingTables(SlowTables):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def get(self, table: str, partition: str, row: str, *,
                  select: Sequence[str] | None = None) -> Entity | None:
        self.reads.append(table)
        return await super().get(table, partition, row, select=select)


async def test_a_calls_first_callback_reads_its_row_once() -> None:
    backend, secret = CountingTables(), new_callback_secret()
    callbacks = Callbacks(CallStore(backend), CallbackTokenStore(backend))

    result = await callbacks.ingest(request("new", 1, secret))

    assert result.applied == 1
    assert backend.reads.count("calls") == 1  # the prefetch beside the token's insert, no other
    assert (await CallStore(backend).find("new")) is not None


async def test_a_row_made_after_the_prefetch_found_none_is_read_and_kept() -> None:
    backend, secret = MemoryTableBackend(), new_callback_secret()
    late = CallStore(backend)
    await late.prefetch("c1")  # finds nothing; remembered for the next write
    await Callbacks(CallStore(backend)).ingest(request("c1", 1, secret))  # another instance

    # No prefetch this time (no token id): the write inserts, is refused, reads, and applies.
    second = IngestCallbacks((parse_callback_event({
        "id": "c1-2", "type": "Microsoft.Communication.ParticipantsUpdated",
        "time": "2026-12-07T09:00:01Z", "data": {"callConnectionId": "c1", "sequenceNumber": 1,
                                                 "participants": []}}),),
        CallbackCredentials(secret, None, None, body_digest(b"2")))
    result = await Callbacks(late).ingest(second)

    assert result.applied == 1
    assert [e.event_id for e in await CallStore(backend).events("c1")] == ["c1-1", "c1-2"]
