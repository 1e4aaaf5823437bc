"""The paging contract of the call listing, on the in-memory twin and on real Azurite.

Newest first, stable, no duplicate and no gap across pages while calls are being added or end,
filters, an opaque continuation token bound to its filters, limits, and a page whose cost does
not grow with the table.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.backend import EtagMismatch, TableBackend
from callcontrol.adapters.store.call_index import (
    DAY_TABLES,
    INDEX_PARTITION,
    INDEX_TABLE,
    IndexKind,
    row_key,
)
from callcontrol.adapters.store.calls import CALLS_TABLE, LEGACY_RECORD_ROW, CallStore, record_row
from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.listing import MAX_LIMIT, CallPage, CallQuery
from callcontrol.domain.models import CallRecord, CallState, Direction
from tools.azurite import Azurite

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def call(call_id: str, second: float, **changes: object) -> CallRecord:
    created = T0 + timedelta(seconds=second)
    return CallRecord(call_connection_id=call_id, created_at=created, updated_at=created,
                      state=CallState.CONNECTED).with_changes(**changes)


async def seed(store: CallStore, records: list[CallRecord]) -> None:
    for record in records:
        await store.save(record, None)


async def every_page(store: CallStore, query: CallQuery) -> list[CallPage]:
    pages = [await store.list_page(query)]
    while pages[-1].continuation is not None:
        assert len(pages) < 200, "the listing does not end"
        pages.append(await store.list_page(
            CallQuery(query.limit, query.state, query.direction, query.since, query.until,
                      pages[-1].continuation)))
    return pages


def ids(pages: list[CallPage]) -> list[str]:
    return [r.call_connection_id for page in pages for r in page.records]


async def day_rows(backend: TableBackend, kind: str = "t") -> dict[str, list[str]]:
    """The call ids in each day's index table, of one kind (`t`: every call, `o`: open)."""
    return {table: [str(row["CallId"]) for row in await backend.query(table, row_prefix=f"{kind}|")]
            for table in await backend.tables(DAY_TABLES)}


def legacy_row(record: CallRecord) -> dict[str, object]:
    """A record's row as releases before the day tables stored it: under the key "call"."""
    return {**record_row(record), "RowKey": LEGACY_RECORD_ROW}


async def test_pages_run_newest_first_and_join_up_exactly(backend: TableBackend) -> None:
    store = CallStore(backend)
    # Two calls share a creation time: their order is still fixed (by id) and both appear.
    records = [call(f"c{n:02d}", n) for n in range(23)] + [call("c07-twin", 7)]
    await seed(store, records)
    pages = await every_page(store, CallQuery(limit=5))
    assert [len(p.records) for p in pages] == [5, 5, 5, 5, 4]
    listed = ids(pages)
    expected = sorted(records, key=lambda r: r.call_connection_id)
    expected = sorted(expected, key=lambda r: r.created_at or T0, reverse=True)
    assert listed == [r.call_connection_id for r in expected]
    again = ids(await every_page(store, CallQuery(limit=5)))
    assert again == listed  # stable


async def test_no_duplicate_and_no_gap_while_calls_are_added(backend: TableBackend) -> None:
    store = CallStore(backend)
    await seed(store, [call(f"old{n:02d}", n) for n in range(30)])
    query = CallQuery(limit=7)
    page = await store.list_page(query)
    seen = list(page.records)
    added = 0
    while page.continuation is not None:
        # New calls arrive between pages (and one lands inside a page already read).
        await store.save(call(f"new{added:02d}", 1000 + added), None)
        added += 1
        page = await store.list_page(CallQuery(limit=7, continuation=page.continuation))
        seen.extend(page.records)
    listed = [r.call_connection_id for r in seen]
    assert len(listed) == len(set(listed)), "a call was listed twice"
    assert set(listed) == {f"old{n:02d}" for n in range(30)}  # every call present at the start
    fresh = ids(await every_page(store, CallQuery(limit=7)))
    assert fresh[:added] == [f"new{n:02d}" for n in reversed(range(added))]


async def test_a_call_ending_between_pages_is_neither_repeated_nor_skipped_wrongly(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    await seed(store, [call(f"c{n:02d}", n) for n in range(12)])
    first = await store.list_page(CallQuery(limit=4, state=CallState.CONNECTED))
    # A call on the first page ends, and so does one not yet listed.
    for ended in (first.records[0].call_connection_id, "c01"):
        current = await store.get(ended)
        assert current is not None
        await store.save(current.record.with_changes(state=CallState.DISCONNECTED), current)
    rest = await every_page(store, CallQuery(limit=4, state=CallState.CONNECTED,
                                             continuation=first.continuation))
    listed = [r.call_connection_id for r in first.records] + ids(rest)
    assert len(listed) == len(set(listed))
    assert "c01" not in listed
    assert set(listed) == {f"c{n:02d}" for n in range(12)} - {"c01"}


async def test_filters_state_direction_since_until(backend: TableBackend) -> None:
    store = CallStore(backend)
    records = []
    for n in range(20):
        state = CallState.DISCONNECTED if n % 3 == 0 else CallState.CONNECTED
        direction = Direction.INBOUND if n % 2 == 0 else Direction.OUTBOUND
        records.append(call(f"c{n:02d}", n * 60, state=state, direction=direction))
    await seed(store, records)

    def expect(keep: object) -> list[str]:
        chosen = [r for r in records if keep(r)]  # type: ignore[operator]
        return [r.call_connection_id for r in sorted(chosen, key=lambda r: r.created_at,
                                                     reverse=True)]

    ended = ids(await every_page(store, CallQuery(limit=3, state=CallState.DISCONNECTED)))
    assert ended == expect(lambda r: r.state is CallState.DISCONNECTED)
    live = ids(await every_page(store, CallQuery(limit=3, state=CallState.CONNECTED)))
    assert live == expect(lambda r: r.state is CallState.CONNECTED)
    inbound = ids(await every_page(store, CallQuery(limit=3, direction=Direction.INBOUND)))
    assert inbound == expect(lambda r: r.direction is Direction.INBOUND)
    since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=12)
    window = ids(await every_page(store, CallQuery(limit=2, since=since, until=until)))
    assert window == expect(lambda r: since <= r.created_at < until)  # since in, until out
    both = ids(await every_page(store, CallQuery(
        limit=2, since=since, until=until, direction=Direction.OUTBOUND,
        state=CallState.CONNECTED)))
    assert both == expect(lambda r: since <= r.created_at < until
                          and r.direction is Direction.OUTBOUND and r.state is CallState.CONNECTED)


async def test_a_sparse_filter_pages_with_bounded_work_and_still_finds_everything(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    records = [call(f"c{n:02d}", n, direction=Direction.INBOUND if n % 9 == 0
                    else Direction.OUTBOUND) for n in range(40)]
    await seed(store, records)
    pages = await every_page(store, CallQuery(limit=2, direction=Direction.INBOUND))
    assert ids(pages) == [f"c{n:02d}" for n in (36, 27, 18, 9, 0)]
    assert all(len(p.records) <= 2 for p in pages)


async def test_the_default_limit_is_50_and_the_maximum_500(backend: TableBackend) -> None:
    store = CallStore(backend)
    await seed(store, [call(f"c{n:02d}", n) for n in range(51)])
    first = await store.list_page(CallQuery())
    assert len(first.records) == 50 and first.continuation is not None
    last = await store.list_page(CallQuery(continuation=first.continuation))
    assert [r.call_connection_id for r in last.records] == ["c00"]
    assert last.continuation is None
    assert len((await store.list_page(CallQuery(limit=MAX_LIMIT))).records) == 51
    for bad in (0, MAX_LIMIT + 1, -5):
        with pytest.raises(InvalidInput) as refused:
            await store.list_page(CallQuery(limit=bad))
        assert [p.field for p in refused.value.problems] == ["limit"]


async def test_the_token_is_opaque_and_refused_when_not_ours(backend: TableBackend) -> None:
    store = CallStore(backend)
    await seed(store, [call(f"c{n:02d}", n) for n in range(5)])
    page = await store.list_page(CallQuery(limit=2))
    token = page.continuation
    assert token is not None
    assert "c03" not in token and "|" not in token  # no key in sight
    for bad in ("nonsense", "", "%%%", token[:-3] + "abc", "eyJ2IjoyfQ"):
        with pytest.raises(InvalidInput) as refused:
            await store.list_page(CallQuery(limit=2, continuation=bad))
        assert [p.field for p in refused.value.problems] == ["continuationToken"]
    with pytest.raises(InvalidInput, match="other filters"):
        await store.list_page(CallQuery(limit=2, direction=Direction.INBOUND, continuation=token))


async def test_a_page_costs_the_same_at_any_table_size(backend: TableBackend) -> None:
    small, large = CallStore(backend), None
    await seed(small, [call(f"s{n:03d}", n) for n in range(30)])
    before = backend.round_trips
    await small.list_page(CallQuery(limit=10))
    small_trips = backend.round_trips - before
    await seed(small, [call(f"l{n:03d}", 100 + n) for n in range(150)])
    large = CallStore(backend)
    before = backend.round_trips
    page = await large.list_page(CallQuery(limit=10))
    assert backend.round_trips - before == small_trips  # one index read + one read per item
    assert len(page.records) == 10


async def test_a_lost_concurrent_creation_leaves_no_duplicate(backend: TableBackend) -> None:
    store_a, store_b = CallStore(backend), CallStore(backend)
    results = await asyncio.gather(store_a.save(call("race", 1), None),
                                   store_b.save(call("race", 2), None), return_exceptions=True)
    assert sum(1 for r in results if isinstance(r, str)) == 1
    listed = ids(await every_page(store_a, CallQuery(limit=10)))
    assert listed == ["race"]
    live = ids(await every_page(store_a, CallQuery(limit=10, state=CallState.CONNECTED)))
    assert live == ["race"]


async def test_an_ended_call_leaves_the_open_index(backend: TableBackend) -> None:
    store = CallStore(backend)
    await seed(store, [call("a", 1), call("b", 2)])
    current = await store.get("a")
    assert current is not None
    await store.save(current.record.with_changes(state=CallState.DISCONNECTED), current)
    assert await day_rows(backend, "o") == {"callsday20261124": ["b"]}
    assert await day_rows(backend) == {"callsday20261124": ["b", "a"]}


def test_the_query_describes_its_filters_for_the_token() -> None:
    plain, filtered = CallQuery(), CallQuery(state=CallState.CONNECTED)
    assert plain.filters_digest() != filtered.filters_digest()
    assert json.dumps(plain.filters_digest())  # a short string


async def test_calls_stored_before_the_index_are_listed_after_a_reindex(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    legacy = [call(f"legacy{n}", n) for n in range(3)]
    for record in legacy:  # rows as an older release wrote them: old key, no index rows
        await backend.insert(CALLS_TABLE, legacy_row(record))
    # ...and index rows as the release before the day tables kept them, in `callindex`.
    for kind in (IndexKind.ALL, IndexKind.OPEN):  # the two kinds that release had
        await backend.insert(INDEX_TABLE, {
            "PartitionKey": INDEX_PARTITION, "RowKey": row_key(kind, legacy[0]),
            "CallId": "legacy0", "CreatedAt": T0.isoformat()})
    await store.save(call("new", 10), None)
    assert ids(await every_page(store, CallQuery(limit=2))) == ["new"]
    assert await store.reindex() == 4
    assert await store.reindex() == 4  # idempotent
    expected = ["new", "legacy2", "legacy1", "legacy0"]
    assert ids(await every_page(store, CallQuery(limit=2))) == expected
    assert ids(await every_page(store, CallQuery(state=CallState.CONNECTED))) == expected
    # Every record now sits under its own key; nothing is left under the old one or in the
    # old index's place.
    records = await backend.query(CALLS_TABLE, select=["State"])
    assert sorted(str(r["RowKey"]) for r in records) == sorted(
        f"call|{name}" for name in ["new", "legacy0", "legacy1", "legacy2"])
    assert await backend.query(INDEX_TABLE, partition=INDEX_PARTITION) == []
    assert await day_rows(backend) == {"callsday20261124": expected}
    assert await day_rows(backend, "o") == {"callsday20261124": expected}


async def test_the_reindex_command_uses_the_app_settings(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from commands import reindex

    monkeypatch.setenv("CallStateStorage", azurite.connection_string)
    assert await asyncio.to_thread(reindex.main) == 0
    assert "call(s) indexed" in capsys.readouterr().out
    monkeypatch.setenv("CallStateStorage", "")
    monkeypatch.delenv("CallStateStorage__tableServiceUri", raising=False)
    assert await asyncio.to_thread(reindex.main) == 1
    assert "CallStateStorage" in capsys.readouterr().err


async def test_a_record_under_the_old_key_is_read_and_moved_by_its_next_write(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    old = call("old", 1)
    await backend.insert(CALLS_TABLE, legacy_row(old))
    await store.index.add(old)
    [page] = await every_page(store, CallQuery())
    assert page.records == (old,)
    current = await store.get("old")
    assert current is not None and current.legacy_key
    await store.save(old.with_changes(state=CallState.DISCONNECTED), current)
    rows = await backend.query(CALLS_TABLE, partition="old")
    assert [(r["RowKey"], r["State"]) for r in rows] == [("call|old", "disconnected")]
    moved = await store.get("old")
    assert moved is not None and not moved.legacy_key
    assert moved.record.state is CallState.DISCONNECTED
    # A writer still holding the old key's version loses its ETag race and reads again.
    with pytest.raises(EtagMismatch):
        await store.save(old.with_changes(state=CallState.CONNECTED), current)


async def test_pages_run_across_days_and_their_bounds(backend: TableBackend) -> None:
    store = CallStore(backend)
    # Nine calls over four days, one day without any: each day has a table of its own.
    hours = [0, 5, 14, 24, 30, 63, 72, 80, 95]  # 14: 23:00; 63: midnight
    await seed(store, [call(f"h{h:02d}", h * 3600) for h in hours])
    assert sorted(await day_rows(backend)) == [
        "callsday20261124", "callsday20261125", "callsday20261127", "callsday20261128"]
    newest_first = [f"h{h:02d}" for h in reversed(hours)]
    for limit in (1, 2, 4, 9, 50):
        assert ids(await every_page(store, CallQuery(limit=limit))) == newest_first
    since, until = T0 + timedelta(hours=5), T0 + timedelta(hours=80)
    assert ids(await every_page(store, CallQuery(limit=2, since=since, until=until))) == [
        "h72", "h63", "h30", "h24", "h14", "h05"]
    before = backend.round_trips
    page = await store.list_page(CallQuery(limit=2))
    # The tables, the two newest days' rows (the newest holds one call), a read per call listed.
    assert backend.round_trips - before == 1 + 2 + 2
    assert page.continuation is not None


async def test_a_filtered_page_and_a_record_the_index_does_not_know(backend: TableBackend) -> None:
    store = CallStore(backend)
    await seed(store, [call(f"c{n:02d}", n, direction=Direction.INBOUND if n % 2
                            else Direction.OUTBOUND) for n in range(12)])
    paged = ids(await every_page(store, CallQuery(limit=5)))
    inbound = await store.list_page(CallQuery(direction=Direction.INBOUND))
    assert [r.call_connection_id for r in inbound.records] == [f"c{n:02d}" for n in
                                                               range(11, 0, -2)]
    # A record the index does not know (stored by an older release) is not listed until
    # `reindex` indexes it.
    await backend.insert(CALLS_TABLE, legacy_row(call("legacy", 99)))
    assert ids(await every_page(store, CallQuery())) == paged


async def test_a_miss_costs_one_read_once_no_record_can_have_the_old_key(
    backend: TableBackend,
) -> None:
    fresh = CallStore(backend)
    await fresh.modify("a", lambda _: call("a", 1))  # began empty: noted as such
    before = backend.round_trips
    assert await CallStore(backend).find("nobody") is None
    assert backend.round_trips - before == 2  # its own key, then (once) the layout row

    # A store holding a record under the old key (and no layout row) looks there after a miss
    # until `reindex` has moved every record.
    await backend.delete(INDEX_TABLE, "layout", "records")
    await backend.insert(CALLS_TABLE, legacy_row(call("old", 2)))
    older = CallStore(backend)
    assert (await older.find("old")) == call("old", 2)
    before = backend.round_trips
    assert await older.find("nobody") is None
    assert backend.round_trips - before == 2  # its own key, then the old one
    await older.reindex()
    before = backend.round_trips
    assert await older.find("nobody") is None
    assert backend.round_trips - before == 1
    assert (await CallStore(backend).find("old")) == call("old", 2)


async def test_a_table_that_only_shares_the_day_prefix_is_not_read(backend: TableBackend) -> None:
    store = CallStore(backend)
    await seed(store, [call("a", 1)])
    for stranger in ("callsday2026", "callsday20261399", "callsdayarchive1"):
        await backend.upsert(stranger, {"PartitionKey": INDEX_PARTITION, "RowKey": "t|0|x",
                                        "CallId": "x", "CreatedAt": T0.isoformat()})
    assert ids(await every_page(store, CallQuery())) == ["a"]
    assert await store.drop_emptied_days(T0 + timedelta(days=400)) == 0


async def test_a_filtered_page_lists_the_day_tables_once_however_many_passes(
    backend: TableBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = CallStore(backend)
    # One inbound call in three, over three days: a page of two inbound calls takes four passes.
    await seed(store, [call(f"d{n:02d}", n * 3 * 3600, direction=Direction.INBOUND if n % 3 == 0
                            else Direction.OUTBOUND) for n in range(24)])
    listed = 0
    tables = backend.tables

    async def counted(prefix: str) -> list[str]:
        nonlocal listed
        listed += 1
        return await tables(prefix)

    monkeypatch.setattr(backend, "tables", counted)
    page = await store.list_page(CallQuery(limit=2, direction=Direction.INBOUND))
    assert ids([page]) == ["d21", "d18"]
    assert listed == 1
