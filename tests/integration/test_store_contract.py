"""The table store contract, run against the in-memory twin and against real Azurite."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.backend import (
    EntityExists,
    EtagMismatch,
    TableBackend,
    TransactionFailed,
    TxKind,
    TxOp,
    pack_json,
    unpack_json,
)
from callcontrol.adapters.store.calls import INLINE_BUDGET_CHARS, SPILL_AT, CallStore, DuplicateEvent
from callcontrol.domain.identifiers import phone
from callcontrol.domain.models import CallRecord, CallState, Direction, Participant, StoredEvent
from tools.azurite import Azurite

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def row(pk: str, rk: str, **props: object) -> dict[str, object]:
    return {"PartitionKey": pk, "RowKey": rk, **props}


async def test_insert_refuses_an_existing_row(backend: TableBackend) -> None:
    await backend.insert("things", row("p", "r", Value="one"))
    with pytest.raises(EntityExists):
        await backend.insert("things", row("p", "r", Value="two"))
    found = await backend.get("things", "p", "r")
    assert found is not None and found["Value"] == "one"


async def test_replace_needs_the_current_etag(backend: TableBackend) -> None:
    first = await backend.insert("things", row("p", "r", Value="one"))
    second = await backend.replace("things", row("p", "r", Value="two"), first)
    assert second != first
    with pytest.raises(EtagMismatch):
        await backend.replace("things", row("p", "r", Value="stale"), first)
    found = await backend.get("things", "p", "r")
    assert found is not None and found["Value"] == "two"


async def test_replace_of_a_missing_row_is_a_mismatch(backend: TableBackend) -> None:
    etag = await backend.insert("things", row("p", "r"))
    await backend.delete("things", "p", "r")
    with pytest.raises(EtagMismatch):
        await backend.replace("things", row("p", "r"), etag)


async def test_transaction_is_all_or_nothing(backend: TableBackend) -> None:
    await backend.insert("things", row("p", "b", Value="kept"))
    with pytest.raises(TransactionFailed) as failure:
        await backend.transact(
            "things",
            [TxOp(TxKind.INSERT, row("p", "a")), TxOp(TxKind.INSERT, row("p", "b"))],
        )
    assert failure.value.index == 1
    assert isinstance(failure.value.cause, EntityExists)
    assert await backend.get("things", "p", "a") is None


async def test_query_by_partition_prefix_and_equality(backend: TableBackend) -> None:
    for pk, rk, kind in [("p", "event|1", "x"), ("p", "event|2", "y"), ("p", "call", "x"),
                         ("q", "event|3", "x")]:
        await backend.insert("things", row(pk, rk, Kind=kind))
    events = await backend.query("things", partition="p", row_prefix="event|")
    assert [e["RowKey"] for e in events] == ["event|1", "event|2"]
    xs = await backend.query("things", equals={"Kind": "x"})
    assert sorted((e["PartitionKey"], e["RowKey"]) for e in xs) == [
        ("p", "call"), ("p", "event|1"), ("q", "event|3")]


async def test_large_json_survives_chunking(backend: TableBackend) -> None:
    big = {"participants": ["x" * 1000] * 100}  # ~100 KB, beyond one property's limit
    await backend.insert("things", row("p", "big", **pack_json("Doc", big)))
    found = await backend.get("things", "p", "big")
    assert found is not None and unpack_json(found, "Doc") == big


def record(call_id: str, **changes: object) -> CallRecord:
    return CallRecord(call_connection_id=call_id, created_at=T0).with_changes(**changes)


def event(call_id: str, event_id: str, offset: int = 0) -> StoredEvent:
    return StoredEvent(event_id, call_id, "Microsoft.Communication.CallConnected",
                       T0 + timedelta(seconds=offset), {"callConnectionId": call_id})


async def test_call_store_round_trips_a_full_record(backend: TableBackend) -> None:
    store = CallStore(backend)
    original = record(
        "c/1#odd?id", state=CallState.CONNECTED, direction=Direction.INBOUND,
        source=phone("+14255550100"), targets=(phone("+14255550199"),),
        participants=(Participant(phone("+14255550100"), is_muted=True),),
        participants_sequence=3,
    )
    await store.save(original, None)
    found = await store.get("c/1#odd?id")
    assert found is not None
    assert found.record == original


async def test_call_store_event_is_recorded_once(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save_with_event(record("c1"), None, event("c1", "e1"))
    current = await store.get("c1")
    assert current is not None
    with pytest.raises(DuplicateEvent):
        await store.save_with_event(record("c1", event_count=2), current, event("c1", "e1"))
    after = await store.get("c1")
    assert after is not None and after.etag == current.etag  # record untouched
    assert [e.event_id for e in await store.events("c1")] == ["e1"]


async def test_call_store_stale_etag_changes_nothing(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save(record("c1"), None)
    current = await store.get("c1")
    assert current is not None
    await store.save(record("c1", state=CallState.CONNECTED), current)
    with pytest.raises(EtagMismatch):
        await store.save_with_event(record("c1", state=CallState.DISCONNECTED), current,
                                    event("c1", "e9"))
    assert await store.events("c1") == []
    latest = await store.get("c1")
    assert latest is not None and latest.record.state is CallState.CONNECTED


async def test_call_store_second_create_is_a_conflict(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save(record("c1"), None)
    with pytest.raises(EtagMismatch):
        await store.save(record("c1"), None)


async def test_call_store_lists_by_state_and_direction(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save(record("a", state=CallState.CONNECTED, direction=Direction.INBOUND), None)
    await store.save(record("b", state=CallState.DISCONNECTED, direction=Direction.INBOUND), None)
    await store.save(record("c", state=CallState.CONNECTED, direction=Direction.OUTBOUND), None)
    connected = await store.list_calls(state=CallState.CONNECTED)
    assert sorted(r.call_connection_id for r in connected) == ["a", "c"]
    inbound = await store.list_calls(direction=Direction.INBOUND)
    assert sorted(r.call_connection_id for r in inbound) == ["a", "b"]


async def test_call_store_events_come_oldest_first(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save_with_event(record("c1"), None, event("c1", "zzz", offset=0))
    for index, (event_id, offset) in enumerate([("aaa", 20), ("mmm", 10)], start=1):
        current = await store.get("c1")
        assert current is not None
        await store.save_with_event(record("c1", event_count=index), current,
                                    event("c1", event_id, offset))
    assert [e.event_id for e in await store.events("c1")] == ["zzz", "mmm", "aaa"]


async def test_concurrent_writers_one_wins_per_etag(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save(record("c1"), None)
    current = await store.get("c1")
    assert current is not None
    results = await asyncio.gather(
        *(store.save(record("c1", event_count=n), current) for n in range(5)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, str)) == 1
    assert sum(1 for r in results if isinstance(r, EtagMismatch)) == 4


async def test_a_long_history_spills_to_rows_and_reads_back_whole(backend: TableBackend) -> None:
    store = CallStore(backend)
    total = SPILL_AT * 2 + 7  # two spills and an inline tail
    current = None
    for index in range(total):
        await store.save_with_event(record("c1", event_count=index + 1), current,
                                    event("c1", f"e{index:04d}", offset=index))
        current = await store.get("c1")
    history = await store.events("c1")
    assert [e.event_id for e in history] == [f"e{i:04d}" for i in range(total)]
    spilled = await backend.query("calls", partition="c1", row_prefix="event|")
    assert len(spilled) == SPILL_AT * 2
    assert current is not None
    with pytest.raises(DuplicateEvent):  # an event long spilled is still recognised
        await store.save_with_event(record("c1"), current, event("c1", "e0003", offset=3))


async def test_a_callback_costs_one_write_when_the_version_is_known(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save_with_event(record("c1"), None, event("c1", "e1"))
    current = await store.get_for_update("c1")  # served from memory: this store wrote it
    before = backend.round_trips
    await store.save_with_event(record("c1", event_count=2), current, event("c1", "e2", 1))
    assert backend.round_trips - before == 1


async def test_large_events_spill_before_the_row_outgrows_an_entity(backend: TableBackend) -> None:
    store = CallStore(backend)
    roster = {"participants": [{"rawId": f"4:+1425555{i:04d}"} for i in range(400)]}  # ~10 KB
    current = None
    for index in range(30):
        big = StoredEvent(f"e{index:02d}", "c1", "Microsoft.Communication.ParticipantsUpdated",
                          T0 + timedelta(seconds=index), roster)
        await store.save_with_event(record("c1"), current, big)
        current = await store.get("c1")
    assert current is not None
    assert current.history.inline_chars <= INLINE_BUDGET_CHARS
    assert len(await store.events("c1")) == 30


async def test_listing_reads_records_without_their_histories(backend: TableBackend) -> None:
    store = CallStore(backend)
    big = record("c1", participants=tuple(Participant(phone(f"+1425555{i:04d}"))
                                          for i in range(600)))  # a record past one chunk
    await store.save_with_event(big, None, event("c1", "e1"))
    [listed] = await store.list_calls()
    assert listed == big
    rows = await backend.query("calls", row_prefix="call|", select=["State"])
    assert set(rows[0]) <= {"PartitionKey", "RowKey", "State", "_etag"}


async def test_the_whole_row_stays_within_an_entity(backend: TableBackend) -> None:
    from callcontrol.adapters.store import calls

    store = CallStore(backend)
    roster = tuple(Participant(phone(f"+1425{i:07d}")) for i in range(2600))  # ~410 K chars
    current = None
    for index in range(5):
        await store.save_with_event(record("c1", participants=roster), current,
                                    event("c1", f"e{index}", index))
        current = await store.get("c1")
    entity = await backend.get("calls", "c1", "call|c1")
    assert entity is not None
    text = sum(len(str(v)) for k, v in entity.items() if k[0].isupper())
    assert text <= calls.ENTITY_BUDGET_CHARS + 1000


async def test_a_record_beyond_an_entity_is_refused_by_name(backend: TableBackend) -> None:
    from callcontrol.domain.errors import StoreError

    store = CallStore(backend)
    roster = tuple(Participant(phone(f"+1425{i:07d}")) for i in range(4000))  # ~520 K chars
    with pytest.raises(StoreError, match="too large"):
        await store.save(record("huge", participants=roster), None)
    assert await store.get("huge") is None


async def test_a_limited_query_asks_for_no_page_past_the_limit(azurite: Azurite) -> None:
    from azure.data.tables.aio import TableServiceClient

    from callcontrol.adapters.store.azure_tables import AzureTableBackend

    requests: list[str] = []
    service = TableServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=lambda r: requests.append(r.http_request.url))
    backend = AzureTableBackend(service, table_prefix=f"q{uuid.uuid4().hex[:10]}")
    try:
        await backend.transact("rows", [TxOp(TxKind.UPSERT, {"PartitionKey": "p",
                                                             "RowKey": f"r{n:02d}"})
                                        for n in range(12)])
        requests.clear()
        rows = await backend.query("rows", partition="p", limit=5)
        assert [r["RowKey"] for r in rows] == ["r00", "r01", "r02", "r03", "r04"]
        assert len(requests) == 1  # one page of five; the continuation is not followed
    finally:
        await backend.close()
