"""Listings under load beside inbound traffic (issue 25, deliverable 3).

Before: 25 concurrent `GET /api/calls?state=disconnected&limit=500` over a store of connected
calls each read up to 2,000 records at once; all 25 ended in 503 and the IncomingCalls offered
meanwhile were decided after 19.6 s. Now a page has a read and a time budget and a process's
pages queue for the store, so each listing answers with a short page and a `next`, and every
offer is answered within Event Grid's 30 s (the contract's bound, not a timing claim).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables.aio import TableServiceClient

from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.store.backend import TxKind, TxOp
from callcontrol.adapters.store.call_index import index_rows
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore, record_row
from callcontrol.domain.models import CallRecord, CallState, Direction
from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    ANSWER_ALL,
    deliver,
    emulator_settings_fixture,  # noqa: F401  (a fixture)
    inbound_calls,
    incoming_event,
    put_rules,
    requests_for,
    undelivered_call,
)
from tests.faults.conftest import EVENT_GRID_TIMEOUT_SECONDS
from tests.faults.support import answered_within
from tests.support.http import Reply
from tools.stack import Stack

LISTINGS = 25
OFFERS = 5
CONNECTED_CALLS = 800  # newer than anything else, none disconnected: the filter is sparse
SPARSE = "calls?state=disconnected&limit=500"


async def _seed_connected(connection_string: str, count: int) -> None:
    """Connected calls written straight into the app's tables, the store's own rows, in bulk."""
    async with TableServiceClient.from_connection_string(connection_string) as service:
        backend = AzureTableBackend(service)
        now = datetime.now(UTC)
        records = [CallRecord(f"load{n:04d}", state=CallState.CONNECTED,
                              direction=Direction.OUTBOUND, created_at=now - timedelta(seconds=n),
                              updated_at=now) for n in range(count)]
        await CallStore(backend).index.write(row for r in records for row in index_rows(r))
        for first in range(0, count, 50):
            await asyncio.gather(*(backend.transact(
                CALLS_TABLE, [TxOp(TxKind.UPSERT, record_row(r))]) for r in records[first:first + 50]))


def test_concurrent_sparse_listings_answer_short_pages_and_starve_no_incoming_call(
    app: App, emulator: Emulator, fault_stack: Stack,
    emulator_settings: Callable[[dict[str, Any]], None],
) -> None:
    # GIVEN a store whose newest 800 calls are all connected, and offers the test delivers
    asyncio.run(_seed_connected(fault_stack.azurite.connection_string, CONNECTED_CALLS))
    put_rules(app, ANSWER_ALL)
    emulator_settings({"eventWebhook": None})
    offers = []
    for _ in range(OFFERS):
        caller, callee = pstn(), acs_user()
        placed = undelivered_call(emulator, caller, callee)
        offers.append((placed, incoming_event(placed, caller, callee)))

    listed: list[Reply] = []
    delivered: list[Reply] = []
    lock = threading.Lock()

    def list_sparse() -> None:
        reply = answered_within(EVENT_GRID_TIMEOUT_SECONDS, app, "GET", SPARSE)
        with lock:
            listed.append(reply)

    def offer(event: dict[str, Any]) -> None:
        reply = deliver(fault_stack.webhook_url, event)
        with lock:
            delivered.append(reply)

    # WHEN 25 sparse listings run at once and the offers arrive while they do
    listings = [threading.Thread(target=list_sparse) for _ in range(LISTINGS)]
    deliveries = [threading.Thread(target=offer, args=(event,)) for _, event in offers]
    for thread in listings:
        thread.start()
    for thread in deliveries:
        thread.start()
    for thread in deliveries:
        thread.join(EVENT_GRID_TIMEOUT_SECONDS)
    decided_in_time = not any(thread.is_alive() for thread in deliveries)
    for thread in [*deliveries, *listings]:
        thread.join()

    # THEN every offer was decided before Event Grid gives up, and answered exactly once
    assert decided_in_time, f"an IncomingCall got no answer within {EVENT_GRID_TIMEOUT_SECONDS} s"
    assert [r.status for r in delivered if r.status not in (200, 202)] == [], \
        [r.text for r in delivered]
    for placed, _ in offers:
        assert len(requests_for(emulator, "AnswerCall", placed["incomingCallContext"])) == 1
        [call] = eventually(lambda p=placed: inbound_calls(app, p["serverCallId"]),
                            what="the inbound call record")
        assert call["inbound"]["outcome"] == "answered"
    # AND every listing answered with a page: short (no disconnected call among the newest
    # 800 it may read), with a next to follow, never a 503
    assert sorted(r.status for r in listed) == [200] * LISTINGS, \
        [r.text for r in listed if r.status != 200]
    for reply in listed:
        body = reply.json()
        assert len(body["value"]) < 500 and body["next"].startswith("/api/calls?")
