"""Listing at scale: first-page latency of GET /api/calls's store read with 1k, 10k and 100k
stored calls on Azurite, in one run. Target: the 100k figure at most 1.2x the 1k figure.

Each size lives in its own set of tables in one Azurite, seeded in the store's own row format
with batch transactions of 100 rows. Calls are spread over the last LISTING_BENCH_DAYS days
(30 by default: the default retention, so a store of N calls is N calls' worth of a month).
The sizes are then measured round by round, interleaved, so the machine's noise hits all alike.

What a first page is made of: the list of day tables (one request), the newest day's index
rows (one query, more when that day holds fewer calls than the page), then one point read per
call listed, concurrently. Azurite filters every query by scanning the table it is asked about
and looks a row up by RowKey first: a query costs what the day's table holds, a point read of a
record (whose key names the call) does not grow with the store.

Baseline, same run, same tables: the same reads done bare with the SDK. The ratio of ours to
that at each size is what the app adds. For scale, the old way (read every record, sort in
memory) is timed once per size up to 10k (at 100k it reads for minutes).

LISTING_BENCH_SIZES picks the sizes (default 1000,10000,100000); LISTING_BENCH_DAYS=1 puts every
call in one day, where Azurite's scan of that day's table shows (results in
listing_one_day.json); LISTING_BENCH_RESULTS names the results file instead. Also timed: one
caller's calls by `number=` and a `limit=500` page that nothing matches (its read budget).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables._table_batch import TableBatchOperations
from azure.data.tables.aio import TableServiceClient

from bench._common import summary, write
from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.store.backend import TxKind, TxOp, packed_names, prefix_end, safe_key
from callcontrol.adapters.store.call_index import DAY_TABLES, index_rows
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore, record_key, record_row
from callcontrol.adapters.store.codec import FORMAT_PROPERTY
from callcontrol.adapters.store.listing_secret import PROCESS_SECRET
from callcontrol.domain.errors import StoreError
from callcontrol.domain.identifiers import phone
from callcontrol.domain.listing import CallQuery
from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Direction,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
    ResultInfo,
)
from tools.azurite import start_azurite

SIZES = tuple(int(n) for n in os.environ.get("LISTING_BENCH_SIZES",
                                             "1000,10000,100000").split(","))
DAYS = float(os.environ.get("LISTING_BENCH_DAYS", "30"))
FULL_SCAN_UP_TO = 10_000
# The default spread writes listing.json; everything in one day, listing_one_day.json.
RESULTS = os.environ.get("LISTING_BENCH_RESULTS") or (
    "listing" if DAYS == 30 else "listing_one_day" if DAYS == 1 else f"listing_{DAYS:g}_days")
LIVE = 100  # calls in progress: what a contact centre has at once, not a share of history
ROUNDS, PER_ROUND, WARMUP = 6, 15, 10
SEED_CONCURRENCY = 2  # batches in flight at once
BATCH = 100  # operations per entity-group transaction (the service's maximum)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def stored_call(index: int, total: int) -> CallRecord:
    """A realistic record: spread over DAYS days; the newest LIVE calls are still connected
    (calls last minutes, so the live ones are the latest, however long the history)."""
    created = NOW - timedelta(days=DAYS) * (1 - index / total)
    live = index >= total - LIVE
    caller, callee = phone(f"+1425{index % 10_000_000:07d}"), phone("+14255550100")
    return CallRecord(
        call_connection_id=f"bench-{index:06d}-{uuid.uuid4().hex[:8]}",
        state=CallState.CONNECTED if live else CallState.DISCONNECTED,
        direction=Direction.INBOUND if index % 3 else Direction.OUTBOUND,
        server_call_id=f"aHR0cHM6Ly9{index:08d}", correlation_id=str(uuid.uuid4()),
        source=caller, targets=(callee,),
        participants=(Participant(caller), Participant(callee)),
        operations=(Operation(f"connect-{index}", OperationKind.CONNECT, OperationStatus.SUCCEEDED,
                              requested_at=created, finished_at=created),),
        end_reason=None if live else ResultInfo(0, 0, "The conversation has ended."),
        created_at=created, updated_at=created + timedelta(minutes=3), event_count=6,
    )


@contextmanager
def batches_across_partitions() -> Iterator[None]:
    """Let the SDK send a batch whose rows span partitions, which Azurite applies (Azure would
    refuse it). Seeding only: records live one to a partition, and this saves an HTTP exchange
    per record; the rows stored are the same."""
    checked = TableBatchOperations._verify_partition_key
    TableBatchOperations._verify_partition_key = lambda *_: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        TableBatchOperations._verify_partition_key = checked  # type: ignore[method-assign]


async def seed(backend: AzureTableBackend, total: int) -> float:
    started = time.perf_counter()
    records = [stored_call(i, total) for i in range(total)]
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def send(table: str, rows: list[dict[str, Any]]) -> None:
        async with gate:
            for attempt in range(3):  # a busy Azurite may drop a long batch: it is idempotent
                try:
                    await backend.transact(table, [TxOp(TxKind.UPSERT, row) for row in rows])
                    return
                except StoreError:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(1)

    async def send_all(table: str, rows: list[dict[str, Any]]) -> None:
        step = BATCH * 100
        for first in range(0, len(rows), step):
            chunk = rows[first:first + step]
            await asyncio.gather(*(send(table, chunk[i:i + BATCH])
                                   for i in range(0, len(chunk), BATCH)))
            if len(rows) > step:
                print(f"  {table}: {min(len(rows), first + step)} of {len(rows)} rows", flush=True)

    by_table: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        for table, row in index_rows(record, PROCESS_SECRET):  # the numbers' rows too
            by_table.setdefault(table, []).append(row)
    for table, rows in sorted(by_table.items()):
        await send_all(table, rows)
    with batches_across_partitions():
        await send_all(CALLS_TABLE, [record_row(record) for record in records])
    return time.perf_counter() - started


async def first_page(store: CallStore, query: CallQuery) -> float:
    started = time.perf_counter()
    page = await store.list_page(query)
    elapsed = (time.perf_counter() - started) * 1000
    # Not necessarily full: a page stops at its read or time budget (a loaded machine) with a
    # continuation token.
    assert len(page.records) <= query.limit and (page.records or page.continuation is not None
                                                 or query.direction is Direction.UNKNOWN)
    return elapsed


async def bare_page(backend: AzureTableBackend, limit: int) -> float:
    """The same reads as a first page, straight through the SDK's clients."""
    calls = await backend._client(CALLS_TABLE)
    prefix = backend._name(DAY_TABLES)
    started = time.perf_counter()
    days = [t.name async for t in backend._service.query_tables(
        "TableName ge @lo and TableName lt @hi",
        parameters={"lo": prefix, "hi": prefix_end(prefix)})]
    rows: list[Any] = []
    for day in sorted(days, reverse=True):
        async for row in backend._service.get_table_client(day).query_entities(
                "PartitionKey eq @p and RowKey ge @a and RowKey lt @b",
                parameters={"p": "calls", "a": "t|", "b": "t}"},
                select=["CallId", "CreatedAt"], results_per_page=limit + 1 - len(rows)):
            rows.append(row)
            if len(rows) > limit:
                break
        if len(rows) > limit:
            break
    select = [*packed_names("Record"), FORMAT_PROPERTY]
    await asyncio.gather(*(calls.get_entity(key, record_key(key), select=select)
                           for key in (safe_key(str(r["CallId"])) for r in rows[:limit])))
    return (time.perf_counter() - started) * 1000


async def run() -> None:
    azurite = start_azurite()
    try:
        backends = {size: AzureTableBackend(
            TableServiceClient.from_connection_string(azurite.connection_string),
            table_prefix=f"l{size}x{uuid.uuid4().hex[:6]}") for size in SIZES}
        seeding = {}
        for size, backend in backends.items():
            seeding[size] = round(await seed(backend, size), 1)
            print(f"seeded {size} calls in {seeding[size]} s", flush=True)
        stores = {size: CallStore(backend) for size, backend in backends.items()}
        queries = {"first_page": CallQuery(), "first_page_connected":
                   CallQuery(state=CallState.CONNECTED),
                   "first_page_inbound": CallQuery(direction=Direction.INBOUND),
                   # One caller's calls (one), through its number's rows.
                   "first_page_number": CallQuery(number=f"+1425{min(SIZES) // 2:07d}"),
                   # A filter nothing matches, limit 500: the page's read budget, not the store.
                   "sparse_500": CallQuery(limit=500, direction=Direction.UNKNOWN)}
        samples: dict[str, dict[int, list[float]]] = {q: {s: [] for s in SIZES}
                                                      for q in [*queries, "bare_page"]}
        for size, store in stores.items():  # warm connections and caches alike
            for query in queries.values():
                for _ in range(WARMUP):
                    await first_page(store, query)
            for _ in range(WARMUP):
                await bare_page(backends[size], CallQuery().limit)
        for _ in range(ROUNDS):
            for size, store in stores.items():
                for _ in range(PER_ROUND):
                    samples["bare_page"][size].append(await bare_page(backends[size],
                                                                      CallQuery().limit))
                for name, query in queries.items():
                    for _ in range(PER_ROUND):
                        samples[name][size].append(await first_page(store, query))
        full_scan = {}
        for size, store in stores.items():  # the old listing: every record, sorted in memory
            if size > FULL_SCAN_UP_TO:
                continue
            started = time.perf_counter()
            listed = await store.list_calls()
            full_scan[size] = {"ms": round((time.perf_counter() - started) * 1000, 1),
                               "calls": len(listed)}
        figures: dict[str, Any] = {}
        for name in samples:
            by_size = {str(size): summary(values) for size, values in samples[name].items()}
            base = by_size[str(SIZES[0])]["p50_ms"]
            figures[name] = {"by_size": by_size, "p50_ratio_to_smallest": {
                size: round(stat["p50_ms"] / base, 3) for size, stat in by_size.items()}}
        ours_to_bare = {
            str(size): round(figures["first_page"]["by_size"][str(size)]["p50_ms"]
                             / figures["bare_page"]["by_size"][str(size)]["p50_ms"], 3)
            for size in SIZES}
        ratio = figures["first_page"]["p50_ratio_to_smallest"][str(SIZES[-1])]
        write(RESULTS, {
            "sizes": list(SIZES),
            "days_spread": DAYS,
            "page_limit": CallQuery().limit,
            "seed_seconds": {str(k): v for k, v in seeding.items()},
            **figures,
            "first_page_to_bare_sdk_reads": ours_to_bare,
            "old_full_scan_listing": {str(k): v for k, v in full_scan.items()},
            "first_page_largest_to_smallest_ratio": ratio,
            "meets_target": ratio <= 1.2,
            "target": "first page p50 with the most stored calls <= 1.2x the figure with 1k",
        })
        for backend in backends.values():
            await backend.close()
    finally:
        azurite.stop()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
