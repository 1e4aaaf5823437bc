"""Listing at scale: first-page latency of GET /api/calls's store read with 1k, 10k and 100k
stored calls on Azurite, in one run. Target: the 100k figure at most 1.2x the 1k figure.

Each size lives in its own set of tables in one Azurite, seeded in the store's own row format
(records one per partition, written concurrently; index rows 100 to a batch transaction). The
sizes are then measured round by round, interleaved, so the machine's noise hits all alike. For
scale, the old way (read every record, sort in memory) is timed once per size.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables.aio import TableServiceClient

from bench._common import summary, write
from callcontrol.identifiers import phone
from callcontrol.models import (
    CallRecord,
    CallState,
    Direction,
    Operation,
    OperationStatus,
    Participant,
    ResultInfo,
)
from callcontrol.store.azure_tables import AzureTableBackend
from callcontrol.store.backend import TxKind, TxOp
from callcontrol.store.call_index import INDEX_TABLE, CallQuery, index_rows
from callcontrol.store.calls import CALLS_TABLE, CallStore, record_row
from tools.azurite import start_azurite

SIZES = (1_000, 10_000, 100_000)
ROUNDS, PER_ROUND, WARMUP = 6, 15, 10
SEED_CONCURRENCY = 48
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
        operations=(Operation(f"connect-{index}", "connect", OperationStatus.SUCCEEDED,
                              requested_at=created, finished_at=created),),
        end_reason=None if live else ResultInfo(0, 0, "The conversation has ended."),
        created_at=created, updated_at=created + timedelta(minutes=3), event_count=6,
    )


async def seed(backend: AzureTableBackend, total: int) -> float:
    started = time.perf_counter()
    records = [stored_call(i, total) for i in range(total)]
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def insert(record: CallRecord) -> None:
        async with gate:
            await backend.insert(CALLS_TABLE, record_row(record))

    async def index(chunk: list[dict[str, Any]]) -> None:
        async with gate:
            await backend.transact(INDEX_TABLE, [TxOp(TxKind.UPSERT, row) for row in chunk])

    rows = [row for record in records for row in index_rows(record)]
    await asyncio.gather(*(index(rows[i:i + BATCH]) for i in range(0, len(rows), BATCH)))
    step = 10_000
    for first in range(0, total, step):  # records are one to a partition: no batching them
        await asyncio.gather(*(insert(record) for record in records[first:first + step]))
        if total > step:
            print(f"  {min(total, first + step)} of {total} records", flush=True)
    return time.perf_counter() - started


async def first_page(store: CallStore, query: CallQuery) -> float:
    started = time.perf_counter()
    page = await store.list_page(query)
    elapsed = (time.perf_counter() - started) * 1000
    assert len(page.records) == query.limit or page.continuation is None
    return elapsed


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
        samples: dict[str, dict[int, list[float]]] = {q: {s: [] for s in SIZES} for q in queries}
        for store in stores.values():  # warm connections and caches alike
            for query in queries.values():
                for _ in range(WARMUP):
                    await first_page(store, query)
        for _ in range(ROUNDS):
            for name, query in queries.items():
                for size, store in stores.items():
                    for _ in range(PER_ROUND):
                        samples[name][size].append(await first_page(store, query))
        full_scan = {}
        for size, store in stores.items():  # the old listing: every record, sorted in memory
            started = time.perf_counter()
            listed = await store.list_calls()
            full_scan[size] = {"ms": round((time.perf_counter() - started) * 1000, 1),
                               "calls": len(listed)}
        figures: dict[str, Any] = {}
        for name in queries:
            by_size = {str(size): summary(values) for size, values in samples[name].items()}
            base = by_size[str(SIZES[0])]["p50_ms"]
            figures[name] = {"by_size": by_size, "p50_ratio_to_1k": {
                size: round(stat["p50_ms"] / base, 3) for size, stat in by_size.items()}}
        ratio = figures["first_page"]["p50_ratio_to_1k"][str(SIZES[-1])]
        write("listing", {
            "sizes": list(SIZES),
            "page_limit": CallQuery().limit,
            "seed_seconds": {str(k): v for k, v in seeding.items()},
            **figures,
            "old_full_scan_listing": {str(k): v for k, v in full_scan.items()},
            "first_page_100k_to_1k_ratio": ratio,
            "meets_target": ratio <= 1.2,
            "target": "first page p50 with 100k stored calls <= 1.2x the 1k figure",
        })
        for backend in backends.values():
            await backend.close()
    finally:
        azurite.stop()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
