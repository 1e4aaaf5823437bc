"""Idempotency-Key records on both table backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.idempotency import IdempotencyStore
from callcontrol.domain.errors import Conflict, InvalidInput
from callcontrol.domain.idempotency import KeyReservation, StoredResponse

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DONE = StoredResponse(202, '{"ok":true}', {"Content-Type": "application/json", "Location": "/x"})


async def claim(store: IdempotencyStore, key: str, fingerprint: str = "fp",
                at: datetime = NOW) -> KeyReservation:
    got = await store.begin(key, fingerprint, at)
    assert isinstance(got, KeyReservation), got
    return got


async def test_first_request_claims_then_later_ones_replay(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await store.complete(await claim(store, "k1"), "fp", NOW, DONE)
    assert await store.begin("k1", "fp", NOW + timedelta(hours=1)) == DONE


async def test_in_progress_key_is_a_conflict(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await claim(store, "k1")
    with pytest.raises(Conflict):
        await store.begin("k1", "fp", NOW + timedelta(seconds=1))


async def test_released_key_can_be_used_again(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await store.release(await claim(store, "k1"))
    await claim(store, "k1")


async def test_key_reused_for_another_request_is_refused(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await store.complete(await claim(store, "k1"), "fp", NOW, DONE)
    with pytest.raises(InvalidInput):
        await store.begin("k1", "other", NOW)


async def test_keys_expire_after_a_day_and_stale_claims_after_minutes(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await store.complete(await claim(store, "k1"), "fp", NOW, DONE)
    await claim(store, "k1", at=NOW + timedelta(hours=25))
    await claim(store, "k2")  # a request that crashed mid-way
    await claim(store, "k2", at=NOW + timedelta(minutes=5))


async def test_a_late_failure_cannot_release_a_key_taken_over(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    slow = await claim(store, "k1")
    await claim(store, "k1", at=NOW + timedelta(minutes=5))  # the slow request went stale
    await store.release(slow)  # …and then failed: it must not free the new holder's key
    with pytest.raises(Conflict):
        await store.begin("k1", "fp", NOW + timedelta(minutes=5, seconds=1))
