"""Listing calls: a page at a time, newest first, read through the index (call_index.py).

Each index row is checked against its record (the truth), filters included. A page has a read
budget and a time budget: it examines at most `PAGE_SCAN_FACTOR` index rows per item asked for
and never more than `PAGE_READ_BUDGET`, and it stops reading once `PAGE_TIME_BUDGET` has passed
since the request began (after one batch at least, so every page moves the cursor). So a page may
come back short, with a continuation token, while more calls match: the end of the listing is
the page without a token. When the whole index fits in the first page (a local stack, a new
deployment), the records are read with one query instead of one read each: the console polls
this.

Pages read their records `READS_AT_ONCE` at a time, and at most `PAGES_AT_ONCE` pages of a
process read at once (the others queue): however many listings arrive together, what they ask
of the store at once is bounded, so an IncomingCall's few reads and writes are not starved.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from callcontrol.adapters.store.call_index import (
    CallIndex,
    IndexKind,
    decode_token,
    digest_of,
    encode_token,
    newer_than_bound,
    source_of,
)
from callcontrol.adapters.store.listing_secret import ListingSecret
from callcontrol.adapters.store.record_rows import RECORD_ONLY, RecordTable, decoded
from callcontrol.domain.listing import CallPage, CallQuery, IndexedCall, check_limit
from callcontrol.domain.models import CallRecord, CallState, Direction

PAGE_SCAN_FACTOR: Final = 4  # a filtered page examines at most this many index rows per item
PAGE_READ_BUDGET: Final = 250  # ... and never more than this many, whatever its limit
# Well inside the store's 5 s deadline per request and the host's HTTP timeout: a sparse page
# answers short rather than late. Measured from the request's start, queueing included.
PAGE_TIME_BUDGET: Final = 2.0
READS_AT_ONCE: Final = 25  # record reads of one page in flight at once
PAGES_AT_ONCE: Final = 2  # pages of one process reading at once; the others queue


@dataclass
class _Scan:
    """Where a page's walk along the index is: what it found, where it is, what it may read."""

    query: CallQuery
    limit: int
    after: str | None
    budget: int
    secret: ListingSecret
    ends_at: float  # time.monotonic() past which no further batch starts
    found: list[CallRecord] = field(default_factory=list)
    batches: int = 0

    @property
    def full(self) -> bool:
        return len(self.found) == self.limit

    @property
    def out_of_time(self) -> bool:
        return self.batches > 0 and time.monotonic() >= self.ends_at

    def page(self, *, more: bool) -> CallPage:
        return CallPage(tuple(self.found),
                        encode_token(self.query, self.after or "", self.secret) if more else None)


class CallListing:
    def __init__(self, rows: RecordTable, index: CallIndex) -> None:
        self._rows = rows
        self._index = index
        self._pages = asyncio.Semaphore(PAGES_AT_ONCE)  # binds to the loop on first use

    async def list_page(self, query: CallQuery) -> CallPage:
        """One page of calls, newest first: O(page), not O(table) (see the module doc)."""
        limit = check_limit(query.limit)
        ends_at = time.monotonic() + PAGE_TIME_BUDGET
        secret = await self._index.secret()
        after = decode_token(query, secret)  # a bad token is refused before queueing
        budget = min(limit * PAGE_SCAN_FACTOR, max(limit, PAGE_READ_BUDGET))
        async with self._pages:
            return await self._walk(_Scan(query, limit, after, budget, secret, ends_at))

    async def _walk(self, scan: _Scan) -> CallPage:
        query, limit = scan.query, scan.limit
        kind, digest = source_of(query), digest_of(query, scan.secret)
        start = newer_than_bound(kind, query.until, digest) if query.until is not None else None
        below = newer_than_bound(kind, query.since, digest) if query.since is not None else None
        tables = await self._index.day_tables()  # once per page, however many passes it takes
        while scan.budget > 0 and not scan.out_of_time:
            # One row past what is needed tells whether anything follows this page.
            ask = min(limit - len(scan.found) + 1, scan.budget)
            entries = await self._index.scan(kind, after=scan.after, start=start, below=below,
                                             limit=ask, tables=tables, digest=digest)
            everything = (scan.after is None and start is None and below is None
                          and len(entries) < ask and kind is IndexKind.ALL)
            if everything and (whole := await self._read_all(entries)) is not None:
                return CallPage(tuple(r for r in whole if query.matches(r)), None)
            if not await self._take(scan, entries):  # full, and the index holds more
                return scan.page(more=True)
            if len(entries) < ask:  # the index holds nothing further
                return scan.page(more=False)
        return scan.page(more=True)

    async def _take(self, scan: _Scan, entries: list[IndexedCall]) -> bool:
        """Read the records `entries` name, a page's worth at a time, keeping the matches;
        False when the page filled up before the entries ran out."""
        unread = entries
        while unread:
            if scan.full or scan.out_of_time:
                return False
            room = min(scan.limit - len(scan.found), READS_AT_ONCE)
            batch, unread = unread[:room], unread[room:]
            records = await asyncio.gather(*(self.read_listed(e) for e in batch))
            scan.batches += 1
            for entry, listed in zip(batch, records, strict=True):
                scan.after, scan.budget = entry.position, scan.budget - 1
                if listed is not None and scan.query.matches(listed):
                    scan.found.append(listed)
        return True

    async def _read_all(self, entries: list[IndexedCall]) -> list[CallRecord] | None:
        """The records of every indexed call, with one query; None when the table holds records
        the index does not know (stored by an older release): then they are read one by one."""
        entities = await self._rows.every(limit=len(entries) + 1)
        if len(entities) > len(entries):
            return None
        records = {r.call_connection_id: r for r in (decoded(e) for e in entities)}
        return [records[e.call_connection_id] for e in entries
                if e.names(records.get(e.call_connection_id))]

    async def read_listed(self, entry: IndexedCall) -> CallRecord | None:
        """The record an index row names, without its history; None for a stale row."""
        entity, _ = await self._rows.read(entry.call_connection_id, RECORD_ONLY)
        record = decoded(entity) if entity is not None else None
        return record if entry.names(record) else None

    async def list_calls(self, *, state: CallState | None = None,
                         direction: Direction | None = None) -> list[CallRecord]:
        """Every call (a scan of the records: tools and tests, not the API)."""
        equals = {}
        if state is not None:
            equals["State"] = state.value
        if direction is not None:
            equals["Direction"] = direction.value
        records = [decoded(e) for e in await self._rows.every(equals=equals)]
        # Newest first; ISO strings of UTC times sort like the times.
        return sorted(records, key=lambda r: _iso(r.created_at), reverse=True)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
