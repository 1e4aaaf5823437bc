"""Finding a call by number (issue 24), on the in-memory twin and on Azurite: `number=` pages
like the other filters, through index rows keyed by a keyed hash of the number, never by it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.call_index import DAY_TABLES, INDEX_PARTITION, IndexKind
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore, record_row
from callcontrol.adapters.store.listing_secret import ListingSecret
from callcontrol.composition import Services, use_services
from callcontrol.domain.identifiers import Identifier, IdentifierKind, phone
from callcontrol.domain.listing import CallPage, CallQuery
from callcontrol.domain.models import CallRecord, CallState, Direction
from callcontrol.settings import load_settings
from tests.support.app import http_request, invoke, json_body

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
WANTED = "+14255550123"
OTHER = "+14255550999"
APP_USER = Identifier(IdentifierKind.COMMUNICATION_USER, "8:acs:app")


def call(call_id: str, second: int, *, source: Identifier | None = None,
         targets: tuple[Identifier, ...] = (), direction: Direction = Direction.INBOUND,
         state: CallState = CallState.CONNECTED) -> CallRecord:
    created = T0 + timedelta(seconds=second)
    return CallRecord(call_id, state=state, direction=direction, source=source, targets=targets,
                      created_at=created, updated_at=created)


def mixed_calls() -> list[CallRecord]:
    """40 calls; the wanted number calls in (c03, c23, as caller) and is called (c13, c33, as
    callee)."""
    made = []
    for n in range(40):
        number = WANTED if n % 10 == 3 else OTHER
        if n % 2 and n % 20 != 13:
            made.append(call(f"c{n:02d}", n, source=phone(number), targets=(APP_USER,)))
        else:
            made.append(call(f"c{n:02d}", n, source=APP_USER, targets=(phone(number),),
                             direction=Direction.OUTBOUND))
    return made


async def pages(store: CallStore, query: CallQuery) -> list[CallPage]:
    found = [await store.list_page(query)]
    while found[-1].continuation is not None:
        assert len(found) < 50
        found.append(await store.list_page(CallQuery(
            query.limit, query.state, query.direction, query.since, query.until,
            found[-1].continuation, query.number)))
    return found


def ids(found: list[CallPage]) -> list[str]:
    return [r.call_connection_id for page in found for r in page.records]


async def test_a_number_finds_its_calls_inbound_and_outbound_newest_first(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    for record in mixed_calls():
        await store.save(record, None)
    found = await pages(store, CallQuery(limit=2, number=WANTED))
    assert ids(found) == ["c33", "c23", "c13", "c03"]
    assert ids(await pages(store, CallQuery(number=WANTED, direction=Direction.OUTBOUND))) == [
        "c33", "c13"]
    assert ids(await pages(store, CallQuery(
        number=WANTED, since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=30)))) == [
        "c23", "c13"]
    assert ids(await pages(store, CallQuery(number="+14255550100"))) == []


async def test_a_page_by_number_reads_only_that_numbers_calls(backend: TableBackend) -> None:
    store = CallStore(backend)
    for record in mixed_calls():
        await store.save(record, None)
    before = backend.round_trips
    page = await store.list_page(CallQuery(number=WANTED))
    # The table list, one index query, one read per call of the number: O(page), not O(table).
    assert ids([page]) == ["c33", "c23", "c13", "c03"] and page.continuation is None
    assert backend.round_trips - before == 2 + 4


async def test_no_table_key_holds_a_phone_number(backend: TableBackend) -> None:
    store = CallStore(backend)
    for record in mixed_calls():
        await store.save(record, None)
    keys = [f"{row['PartitionKey']} {row['RowKey']}"
            for table in [CALLS_TABLE, *await backend.tables(DAY_TABLES)]
            for row in await backend.query(table, select=["RowKey"])]
    assert any(key.startswith(f"{INDEX_PARTITION} n|") for key in keys)
    for number in (WANTED, OTHER):
        assert not [k for k in keys if number[1:] in k or number[2:] in k]


async def test_the_hash_is_keyed_by_the_listing_secret() -> None:
    one, other = ListingSecret(b"1" * 32), ListingSecret(b"2" * 32)
    assert one.number_digest(WANTED) == ListingSecret(b"1" * 32).number_digest(WANTED)
    assert one.number_digest(WANTED) != other.number_digest(WANTED)
    assert one.number_digest(WANTED) != one.number_digest(OTHER)


async def test_a_number_learned_after_the_first_write_is_indexed_then(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    # The first callback stores the call before the create response names its target.
    await store.save(call("early", 1, direction=Direction.UNKNOWN), None)
    await store.modify("early", lambda r: r and r.with_changes(
        targets=(phone(WANTED),), direction=Direction.OUTBOUND))
    assert ids(await pages(store, CallQuery(number=WANTED))) == ["early"]


async def test_the_reindex_backfills_the_numbers_of_calls_stored_before(
    backend: TableBackend,
) -> None:
    store = CallStore(backend)
    stored_before = call("before", 1, source=phone(WANTED), targets=(APP_USER,))
    await store.save(stored_before, None)
    # As the release before number rows left it: the other index rows and the record only.
    for table in await backend.tables(DAY_TABLES):
        for row in await backend.query(table, row_prefix="n|"):
            await backend.delete(table, str(row["PartitionKey"]), str(row["RowKey"]))
    await backend.upsert(CALLS_TABLE, record_row(stored_before))
    assert ids(await pages(store, CallQuery(number=WANTED))) == []
    assert await store.reindex() == 1
    assert ids(await pages(store, CallQuery(number=WANTED))) == ["before"]


async def test_retention_removes_the_numbers_rows_so_the_day_can_go(backend: TableBackend) -> None:
    store = CallStore(backend)
    await store.save(call("old", 1, source=phone(WANTED), targets=(phone(OTHER),),
                          state=CallState.DISCONNECTED), None)
    [entry] = await store.index.scan(IndexKind.ALL, limit=5)
    await store.delete_call(entry)
    for table in await backend.tables(DAY_TABLES):
        assert await backend.query(table) == []
    assert await store.drop_emptied_days(T0 + timedelta(days=2)) == 1


@pytest.fixture
def wired(backend: TableBackend) -> Iterator[None]:
    with use_services(lambda: Services(load_settings({}), backend=backend)):
        yield


@pytest.mark.usefixtures("wired")
async def test_the_api_filters_by_number_and_refuses_a_bad_one(backend: TableBackend) -> None:
    store = Services(load_settings({}), backend=backend).call_store
    for record in mixed_calls()[:20]:
        await store.save(record, None)
    for raw in (WANTED, " " + WANTED[1:]):  # '+' encoded, and as an unencoded '+' arrives
        response = await invoke("list_calls", http_request("GET", "calls", params={
            "number": raw, "limit": "1"}))
        body = json_body(response)
        assert response.status_code == 200, body
        assert [c["callConnectionId"] for c in body["value"]] == ["c13"]
        assert "number=%2B14255550123" in body["next"]
    response = await invoke("list_calls", http_request("GET", "calls", params={
        "number": "4255550123"}))
    body = json_body(response)
    assert response.status_code == 400
    assert [e["field"] for e in body["errors"]] == ["number"]
    assert "4255550123" not in response.get_body().decode()  # the value is not echoed
