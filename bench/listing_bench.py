"""Listing at scale: first-page latency of GET /api/calls's store read with 1k, 10k (and, on
request, 100k) stored calls on Azurite, in one run. Target: the largest figure at most 1.2x the
1k figure.

Each size lives in its own set of tables in one Azurite, seeded in the store's own row format
with batch transactions of 100 rows (see `batches_across_partitions` for the records). The
sizes are then measured round by round, interleaved, so the machine's noise hits all alike.

Baseline, same run, same tables: what a page is made of, done bare with the SDK (one query of
51 index rows, then 50 concurrent point reads of the records). Azurite answers every query and
every point read of a record by scanning (its store filters in JavaScript, and every record
shares the RowKey "call", so its key index cannot narrow a lookup): its own cost grows with the
table, about 1 ms per 1,000 records per read on this machine. The ratio of ours to that
baseline at each size is what the app adds. Seeding 100k records costs well over an hour for the
same reason, so 100k is measured only with LISTING_BENCH_SIZES=1000,10000,100000.

For scale, the old way (read every record, sort in memory) is timed once per size.
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
from callcontrol.adapters.store.backend import TxKind, TxOp, safe_key
from callcontrol.adapters.store.call_index import INDEX_TABLE, index_rows
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore, record_row
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

SIZES = tuple(int(n) for n in os.environ.get("LISTING_BENCH_SIZES", "1000,10000").split(","))
ROUNDS, PER_ROUND, WARMUP = 6, 15, 10
SEED_CONCURRENCY = 2  # batches in flight at once
BATCH = 100  # operations per entity-group transaction (the service's maximum)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def stored_call(index: int, total: int) -> CallRecord:
    """A realistic record: spread over 30 days, 1 in 100 still connected."""
    created = NOW - timedelta(days=30) * (1 - index / total)
    live = index % 100 == 0
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

    await send_all(INDEX_TABLE, [row for record in records for row in index_rows(record)])
    with batches_across_partitions():
        await send_all(CALLS_TABLE, [record_row(record) for record in records])
    return time.perf_counter() - started


async def first_page(store: CallStore, query: CallQuery) -> float:
    started = time.perf_counter()
    page = await store.list_page(query)
    elapsed = (time.perf_counter() - started) * 1000
    assert len(page.records) == query.limit or page.continuation is None
    return elapsed


async def bare_page(backend: AzureTableBackend, limit: int) -> float:
    """The same reads as a first page, straight through the SDK's clients."""
    index = await backend._client(INDEX_TABLE)
    calls = await backend._client(CALLS_TABLE)
    started = time.perf_counter()
    rows = []
    async for row in index.query_entities("PartitionKey eq @p and RowKey ge @a and RowKey lt @b",
                                          parameters={"p": "calls", "a": "t|", "b": "t}"},
                                          select=["CallId", "CreatedAt"],
                                          results_per_page=limit + 1):
        rows.append(row)
        if len(rows) > limit:
            break
    await asyncio.gather(*(calls.get_entity(safe_key(str(r["CallId"])), "call")
                           for r in rows[:limit]))
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
                   "first_page_inbound": CallQuery(direction=Direction.INBOUND)}
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
        write("listing", {
            "sizes": list(SIZES),
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
