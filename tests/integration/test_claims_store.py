"""The claims store's contract (exactly-once claims, leases, hops), on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from callcontrol.adapters.store.backend import Entity, EtagMismatch, TableBackend, written_at
from callcontrol.adapters.store.claims import (
    RETENTION,
    Acquired,
    ClaimStatus,
    ClaimStore,
    Held,
)
from callcontrol.domain.claims import ClaimOutcome, claim_key
from callcontrol.domain.clock import utc_now
from callcontrol.domain.errors import StoreError
from callcontrol.domain.models import InboundAction, InboundDecision, InboundOutcome
from tests.conftest import azurite_backend
from tests.support.memory_tables import MemoryTableBackend

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OUTCOME_X = ClaimOutcome(InboundDecision(None, InboundAction.ANSWER, InboundOutcome.ANSWERED), "x")
LEASE = timedelta(seconds=15)
KEY = claim_key("eyJhbGciOiJub25lIn0.context-one.")


async def acquire(store: ClaimStore, owner: str = "a", now: datetime = T0) -> Acquired | Held:
    return await store.acquire(KEY, owner=owner, now=now, lease=LEASE, server_call_id="server-1")


def test_the_key_is_stable_per_context_and_differs_between_contexts() -> None:
    assert claim_key("ctx") == claim_key("ctx")
    assert claim_key("ctx") != claim_key("ctx2")
    assert len(claim_key("x" * 8000)) == 40


def test_the_time_of_a_write_is_read_from_a_table_etag_and_only_from_one() -> None:
    assert written_at("W/\"datetime'2026-12-07T04%3A45%3A42.1234567Z'\"") == datetime(
        2026, 12, 7, 4, 45, 42, 123456, tzinfo=UTC)
    assert written_at("W/\"datetime'2026-12-07T04%3A45%3A42Z'\"") == datetime(
        2026, 12, 7, 4, 45, 42, tzinfo=UTC)
    assert written_at('W/"17"') is None  # the plain twin's, or another store's: never an orphan
    assert written_at("W/\"datetime'yesterday'\"") is None


async def test_first_claim_wins_the_second_sees_it_held(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    first = await acquire(store, "a")
    assert isinstance(first, Acquired) and first.claim.status is ClaimStatus.CLAIMED
    assert first.claim.server_call_id == "server-1"
    second = await acquire(store, "b", T0 + timedelta(seconds=1))
    assert isinstance(second, Held)
    assert second.claim.owner == "a" and second.claim.lease_active(T0 + timedelta(seconds=1))


async def test_ten_concurrent_claims_one_wins(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    results = await asyncio.gather(*(acquire(store, f"o{i}") for i in range(10)))
    assert sum(isinstance(r, Acquired) for r in results) == 1


async def test_a_released_claim_can_be_claimed_again(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    first = await acquire(store, "a")
    assert isinstance(first, Acquired)
    await store.release(first.claim)
    assert await store.get(KEY) is None
    again = await acquire(store, "b")
    assert isinstance(again, Acquired) and not again.claim.taken_over


async def test_decided_and_recorded_claims_keep_the_outcome(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    acquired = await acquire(store)
    assert isinstance(acquired, Acquired)
    answered = InboundDecision(rule_id=None, action=InboundAction.ANSWER, outcome=InboundOutcome.ANSWERED)
    outcome = ClaimOutcome(answered, "c-1")
    decided = await store.mark(acquired.claim, ClaimStatus.DECIDED, outcome)
    recorded = await store.mark(decided, ClaimStatus.RECORDED, outcome)
    held = await acquire(store, "b", T0 + LEASE * 10)  # long after the lease: still held
    assert isinstance(held, Held)
    assert held.claim.status is ClaimStatus.RECORDED and held.claim.outcome == outcome
    assert held.claim.server_call_id == "server-1"
    with pytest.raises(EtagMismatch):
        await store.mark(decided, ClaimStatus.RECORDED, outcome)  # stale: not ours any more
    await store.release(decided)  # a stale release leaves the claim alone
    assert (await store.get(KEY)) == recorded


async def test_an_abandoned_claim_is_taken_over_after_its_lease(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    first = await acquire(store, "a")
    assert isinstance(first, Acquired)
    assert isinstance(await acquire(store, "b", T0 + LEASE - timedelta(seconds=1)), Held)
    taken = await acquire(store, "b", T0 + LEASE)
    assert isinstance(taken, Acquired) and taken.claim.taken_over and taken.claim.owner == "b"
    with pytest.raises(EtagMismatch):  # the first owner, back from the dead, cannot finish
        await store.mark(first.claim, ClaimStatus.DECIDED, OUTCOME_X)


async def test_claims_expire_after_the_retention_window(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    first = await acquire(store)
    assert isinstance(first, Acquired)
    await store.mark(first.claim, ClaimStatus.RECORDED, OUTCOME_X)
    assert isinstance(await acquire(store, "b", T0 + RETENTION - timedelta(minutes=1)), Held)
    assert isinstance(await acquire(store, "b", T0 + RETENTION), Acquired)


async def test_hops_are_counted_once_per_offer(backend: TableBackend) -> None:
    store = ClaimStore(backend)
    loop_key = "corr/with+odd#chars?"
    assert await store.hops_before(loop_key, "offer-1", T0) == 0
    await store.record_hop(loop_key, "offer-1", T0)
    await store.record_hop(loop_key, "offer-1", T0)  # a redelivery: not a new hop
    assert await store.hops_before(loop_key, "offer-1", T0) == 0  # own hop excluded
    assert await store.hops_before(loop_key, "offer-2", T0) == 1
    await store.record_hop(loop_key, "offer-2", T0)
    assert await store.hops_before(loop_key, "offer-3", T0) == 2
    assert await store.hops_before("another call", "offer-3", T0) == 0
    await store.forget_hop(loop_key, "offer-2")
    await store.forget_hop(loop_key, "offer-2")
    assert await store.hops_before(loop_key, "offer-3", T0) == 1
    assert await store.hops_before(loop_key, "offer-3", T0 + RETENTION) == 0


# --- a claim written after its holder gave it up (issue 25) -------------------------------

class _Unanswered:
    """Storage that applies an insert but whose answer never reaches the holder (it stalled
    past the holder's deadline, then recovered): the holder sees a timeout."""

    def __init__(self, backend: TableBackend) -> None:
        self._backend = backend

    async def insert(self, table: str, entity: Entity) -> str:
        await self._backend.insert(table, entity)
        raise StoreError(f"request to {table}: no answer within 5 s")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@pytest.fixture(params=["memory", "azurite"])
async def timed_backend(request: pytest.FixtureRequest) -> AsyncIterator[TableBackend]:
    """A backend whose ETags say when each write landed (Azure's, Azurite's, a clocked twin)."""
    made: TableBackend = (MemoryTableBackend(clock=utc_now) if request.param == "memory"
                          else azurite_backend(request.getfixturevalue("azurite")))
    try:
        yield made
    finally:
        await made.close()


async def test_a_claim_written_after_its_holder_gave_up_is_taken_over_at_once(
    timed_backend: TableBackend,
) -> None:
    now = utc_now()
    # The holder sent its insert 10 s ago (by its clock), gave up at its 5 s deadline, and the
    # write landed only now, after storage recovered: the delivery failed, nobody acts on it.
    holder = ClaimStore(cast(TableBackend, _Unanswered(timed_backend)),
                        wall_clock=lambda: utc_now() - timedelta(seconds=10))
    with pytest.raises(StoreError):
        await holder.acquire(KEY, owner="gone", now=now - timedelta(seconds=10), lease=LEASE)
    orphan = await ClaimStore(timed_backend).get(KEY)
    assert orphan is not None and orphan.orphaned and not orphan.lease_active(now)
    # The redelivery, well inside that claim's lease, takes it over instead of waiting on it.
    again = await ClaimStore(timed_backend).acquire(KEY, owner="next", now=now, lease=LEASE)
    assert isinstance(again, Acquired), again
    assert again.claim.taken_over and again.claim.owner == "next"
    assert not again.claim.orphaned and again.claim.lease_active(now)


async def test_a_claim_written_in_time_is_held_for_its_lease(timed_backend: TableBackend) -> None:
    now = utc_now()
    first = await ClaimStore(timed_backend).acquire(KEY, owner="a", now=now, lease=LEASE)
    assert isinstance(first, Acquired) and not first.claim.orphaned
    assert first.claim.written_at is not None and first.claim.write_by is not None
    second = await ClaimStore(timed_backend).acquire(KEY, owner="b", now=now, lease=LEASE)
    assert isinstance(second, Held) and second.claim.owner == "a"


async def test_a_holder_whose_own_write_lands_late_does_not_hold_it(
    timed_backend: TableBackend,
) -> None:
    # A clock 10 s behind the store's: every write it makes lands "after" its deadline, so it
    # never acts on one (nor would any other reader wait on it).
    behind = ClaimStore(timed_backend, wall_clock=lambda: utc_now() - timedelta(seconds=10))
    with pytest.raises(StoreError):
        await behind.acquire(KEY, owner="skewed", now=utc_now(), lease=LEASE)
    taken = await ClaimStore(timed_backend).acquire(KEY, owner="b", now=utc_now(), lease=LEASE)
    assert isinstance(taken, Acquired) and taken.claim.taken_over
