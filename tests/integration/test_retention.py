"""Retention on both backends (Azurite and the twin) with back-dated rows: what expires goes, in
bounded batches that later runs finish; what is current stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from callcontrol.adapters.store.backend import TableBackend, safe_key
from callcontrol.adapters.store.call_index import DAY_TABLES, INDEX_PARTITION
from callcontrol.adapters.store.calls import CALLS_TABLE, SPILL_AT, CallStore
from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.idempotency import IdempotencyStore
from callcontrol.adapters.store.rules import RuleStore
from callcontrol.domain.claims import claim_key
from callcontrol.domain.listing import CallQuery
from callcontrol.domain.models import CallRecord, CallState, StoredEvent
from callcontrol.domain.rules import default_rule_set
from callcontrol.usecases.retention import Retention, RetentionOptions, RunRetention

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)


@dataclass
class Stores:
    calls: CallStore
    idempotency: IdempotencyStore
    claims: ClaimStore
    rules: RuleStore

    def retention(self, *, batch: int = 500, keep: int = 3) -> Retention:
        options = RetentionOptions(call_retention=timedelta(days=30), rule_versions_kept=keep,
                                   batch=batch)
        return Retention(self.calls, self.calls, self.idempotency, self.claims, self.rules,
                         options, clock=lambda: NOW)


def stores(backend: TableBackend, rules_saved_at: datetime = OLD) -> Stores:
    return Stores(CallStore(backend), IdempotencyStore(backend), ClaimStore(backend),
                  RuleStore(backend, clock=lambda: rules_saved_at))


async def call(store: CallStore, call_id: str, created: datetime, *, events: int = 0,
               updated: datetime | None = None) -> None:
    record = CallRecord(call_id, state=CallState.DISCONNECTED, created_at=created,
                        updated_at=updated or created + timedelta(minutes=5))
    current = None
    for n in range(events):
        event = StoredEvent(f"{call_id}-e{n}", call_id, "Microsoft.Communication.CallConnected",
                            created + timedelta(seconds=n), {})
        await store.save_with_event(record.with_changes(event_count=n + 1), current, event)
        current = await store.get(call_id)
    if current is None:
        await store.save(record, None)


async def rows_of(backend: TableBackend, call_id: str) -> int:
    return len(await backend.query(CALLS_TABLE, partition=safe_key(call_id)))


async def test_old_calls_go_with_their_events_and_index_rows(backend: TableBackend) -> None:
    s = stores(backend)
    await call(s.calls, "old-long", OLD, events=SPILL_AT + 5)  # spilled event rows too
    await call(s.calls, "old-short", OLD + timedelta(hours=1), events=2)
    await call(s.calls, "recent", NOW - timedelta(days=2), events=2)
    await call(s.calls, "old-but-active", OLD, updated=NOW - timedelta(days=1))
    assert await rows_of(backend, "old-long") > 1
    report = await s.retention().run(RunRetention("test"))
    assert (report.calls, report.calls_kept_active) == (2, 1)
    for gone in ("old-long", "old-short"):
        assert await rows_of(backend, gone) == 0
        assert await s.calls.find(gone) is None
    listed = [r.call_connection_id for r in (await s.calls.list_page(CallQuery())).records]
    assert listed == ["recent", "old-but-active"]
    index = [row for table in await backend.tables(DAY_TABLES)
             for row in await backend.query(table, partition=INDEX_PARTITION)]
    assert {row["CallId"] for row in index} == {"recent", "old-but-active"}
    # The old day still indexes the call kept: its table stays.
    assert await backend.tables(DAY_TABLES) == ["callsday20261015", "callsday20261122"]
    assert report.index_tables == 0
    assert [e.event_id for e in await s.calls.events("recent")] == ["recent-e0", "recent-e1"]


async def test_a_day_past_retention_loses_its_table_once_emptied(backend: TableBackend) -> None:
    s = stores(backend)
    await call(s.calls, "older", OLD - timedelta(days=1))
    await call(s.calls, "old", OLD)
    await call(s.calls, "old-but-active", OLD, updated=NOW - timedelta(days=1))
    await call(s.calls, "recent", NOW - timedelta(days=2))
    report = await s.retention().run(RunRetention("test"))
    assert (report.calls, report.calls_kept_active, report.index_tables) == (2, 1, 1)
    assert await backend.tables(DAY_TABLES) == ["callsday20261015", "callsday20261122"]
    listed = [r.call_connection_id for r in (await s.calls.list_page(CallQuery())).records]
    assert listed == ["recent", "old-but-active"]
    again = await s.retention().run(RunRetention("test"))
    assert (again.calls, again.index_tables) == (0, 0)


async def test_batches_are_bounded_and_the_next_runs_finish(backend: TableBackend) -> None:
    s = stores(backend)
    for n in range(5):
        await call(s.calls, f"old{n}", OLD + timedelta(minutes=n))
    retention = s.retention(batch=2)
    done = []
    for _ in range(4):
        report = await retention.run(RunRetention("test"))
        done.append((report.calls, report.more_to_do))
    assert done == [(2, True), (2, True), (1, False), (0, False)]
    assert (await s.calls.list_page(CallQuery())).records == ()


async def test_idempotency_keys_and_claims_go_after_24_hours(backend: TableBackend) -> None:
    s = stores(backend)
    day_ago = NOW - timedelta(hours=25)
    await s.idempotency.begin("old-key", "fp", day_ago)
    await s.idempotency.begin("new-key", "fp", NOW - timedelta(hours=1))
    await s.claims.acquire(claim_key("old-offer"), owner="a", now=day_ago,
                           lease=timedelta(seconds=15))
    await s.claims.acquire(claim_key("new-offer"), owner="a", now=NOW - timedelta(minutes=5),
                           lease=timedelta(seconds=15))
    await s.claims.record_hop("loop-1", claim_key("old-offer"), day_ago)
    await s.claims.record_hop("loop-1", claim_key("new-offer"), NOW - timedelta(minutes=5))
    report = await s.retention().run(RunRetention("test"))
    assert (report.idempotency_keys, report.claims) == (1, 2)
    kept = await backend.query("idempotency")
    assert len(kept) == 1 and kept[0]["CreatedAt"] == (NOW - timedelta(hours=1)).isoformat()
    assert await s.claims.get(claim_key("old-offer")) is None
    assert await s.claims.get(claim_key("new-offer")) is not None
    assert await s.claims.hops_before("loop-1", "someone-else", NOW) == 1


async def test_rule_versions_beyond_the_newest_kept_go_and_the_current_stays(
    backend: TableBackend,
) -> None:
    s = stores(backend)
    current = await s.rules.replace(default_rule_set(), None)
    for _ in range(5):
        current = await s.rules.replace(default_rule_set(), [current.etag])
    assert current.version == 6
    report = await s.retention(keep=2).run(RunRetention("test"))
    assert report.rule_versions == 4
    assert [v.version for v in await s.rules.versions()] == [6, 5]
    assert (await s.rules.current()).version == 6


async def test_a_rule_version_stays_while_a_call_kept_could_still_run_its_flow(
    backend: TableBackend,
) -> None:
    """Versions 1-3 were replaced 40 days ago, 4 and 5 two days ago: beyond the newest two, only
    those replaced before the calls' 30-day cutoff go (a flow run reads its steps from its own
    version; a call decided under 4 may still be kept, and running)."""
    clock = [OLD]
    s = stores(backend)
    s.rules = RuleStore(backend, clock=lambda: clock[0])
    current = await s.rules.replace(default_rule_set(), None)
    for version in range(2, 7):
        clock[0] = OLD if version <= 4 else NOW - timedelta(days=2)
        current = await s.rules.replace(default_rule_set(), [current.etag])
    report = await s.retention(keep=2).run(RunRetention("test"))
    assert report.rule_versions == 3
    assert [v.version for v in await s.rules.versions()] == [6, 5, 4]
