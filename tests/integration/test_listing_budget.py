"""A listing page's budgets (issue 25, deliverable 3), on the in-memory twin and on Azurite.

A sparse filter used to read up to 4 records per item asked for (2,000 for `limit=500`) in one
request, every page's reads at once: 25 such listings starved the store. Bounded now by counts,
asserted as counts: reads per page, reads in flight, a page that runs out of time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store import listing
from callcontrol.adapters.store.backend import Entity, TableBackend, TxKind, TxOp
from callcontrol.adapters.store.call_index import index_rows
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore, record_row
from callcontrol.domain.listing import CallQuery
from callcontrol.domain.models import CallRecord, CallState, Direction

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SEEDED = 700  # more than a page of 500 may read


async def seed_outbound(backend: TableBackend, count: int) -> None:
    """`count` outbound calls, written in bulk (the store's own rows, as the bench seeds)."""
    records = [CallRecord(f"c{n:04d}", state=CallState.CONNECTED, direction=Direction.OUTBOUND,
                          created_at=T0 + timedelta(seconds=n), updated_at=T0)
               for n in range(count)]
    await CallStore(backend).index.write(row for r in records for row in index_rows(r))
    for first in range(0, count, 50):
        await asyncio.gather(*(backend.transact(CALLS_TABLE, [TxOp(TxKind.UPSERT, record_row(r))])
                               for r in records[first:first + 50]))


def untimed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The time budget out of the way (a loaded machine may spend it): the reads alone count."""
    monkeypatch.setattr(listing, "PAGE_TIME_BUDGET", 3600.0)


class RecordReads:
    """Counts the record reads (point reads of the calls table) and the most in flight at once."""

    def __init__(self, backend: TableBackend, monkeypatch: pytest.MonkeyPatch) -> None:
        self.total = self.in_flight = self.most = 0
        get = backend.get

        async def counted(table: str, partition: str, row: str,
                          select: Sequence[str] | None = None) -> Entity | None:
            if table != CALLS_TABLE:
                return await get(table, partition, row, select=select)
            self.total += 1
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            try:
                await asyncio.sleep(0)  # let the others start theirs: concurrency shows
                return await get(table, partition, row, select=select)
            finally:
                self.in_flight -= 1

        monkeypatch.setattr(backend, "get", counted)


async def test_a_sparse_page_of_500_reads_at_most_its_budget_and_says_more_may_follow(
    backend: TableBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_outbound(backend, SEEDED)
    untimed(monkeypatch)
    reads = RecordReads(backend, monkeypatch)
    page = await CallStore(backend).list_page(CallQuery(limit=500, direction=Direction.INBOUND))
    assert page.records == () and page.continuation is not None  # short, with a next
    assert reads.total == max(500, listing.PAGE_READ_BUDGET)  # not 4 x 500, not the whole day


async def test_the_read_budget_holds_whatever_the_limit(
    backend: TableBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_outbound(backend, 300)
    untimed(monkeypatch)
    reads = RecordReads(backend, monkeypatch)
    page = await CallStore(backend).list_page(
        CallQuery(limit=100, state=CallState.DISCONNECTED))
    assert page.records == () and page.continuation is not None
    assert reads.total == min(100 * listing.PAGE_SCAN_FACTOR, listing.PAGE_READ_BUDGET)


async def test_concurrent_listings_queue_rather_than_read_all_at_once(
    backend: TableBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_outbound(backend, 300)
    store = CallStore(backend)
    reads = RecordReads(backend, monkeypatch)
    pages = await asyncio.gather(*(store.list_page(CallQuery(limit=50, direction=Direction.INBOUND))
                                   for _ in range(10)))
    assert all(p.records == () and p.continuation is not None for p in pages)
    assert reads.most <= listing.PAGES_AT_ONCE * listing.READS_AT_ONCE


async def test_a_page_out_of_time_answers_after_one_batch_with_a_next(
    backend: TableBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_outbound(backend, 300)
    store = CallStore(backend)
    monkeypatch.setattr(listing, "PAGE_TIME_BUDGET", 0.0)  # spent before the first read
    reads = RecordReads(backend, monkeypatch)
    page = await store.list_page(CallQuery(limit=200, direction=Direction.INBOUND))
    assert page.records == () and page.continuation is not None
    assert reads.total == listing.READS_AT_ONCE  # one batch: the cursor always moves on
    following = await store.list_page(CallQuery(limit=200, direction=Direction.INBOUND,
                                                 continuation=page.continuation))
    assert following.continuation is not None and reads.total == 2 * listing.READS_AT_ONCE
