"""Idempotency-Key records on both table backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.errors import Conflict, InvalidInput
from callcontrol.store.backend import TableBackend
from callcontrol.store.idempotency import IdempotencyStore, StoredResponse

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DONE = StoredResponse(202, '{"ok":true}', "application/json")


async def test_first_request_claims_then_later_ones_replay(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    assert await store.begin("k1", "fp", NOW) is None
    await store.complete("k1", "fp", NOW, DONE)
    assert await store.begin("k1", "fp", NOW + timedelta(hours=1)) == DONE


async def test_in_progress_key_is_a_conflict(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    assert await store.begin("k1", "fp", NOW) is None
    with pytest.raises(Conflict):
        await store.begin("k1", "fp", NOW + timedelta(seconds=1))


async def test_released_key_can_be_used_again(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    assert await store.begin("k1", "fp", NOW) is None
    await store.release("k1")
    assert await store.begin("k1", "fp", NOW) is None


async def test_key_reused_for_another_request_is_refused(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await store.begin("k1", "fp", NOW)
    await store.complete("k1", "fp", NOW, DONE)
    with pytest.raises(InvalidInput):
        await store.begin("k1", "other", NOW)


async def test_keys_expire_after_a_day_and_stale_claims_after_minutes(backend: TableBackend) -> None:
    store = IdempotencyStore(backend)
    await store.begin("k1", "fp", NOW)
    await store.complete("k1", "fp", NOW, DONE)
    assert await store.begin("k1", "fp", NOW + timedelta(hours=25)) is None
    await store.begin("k2", "fp", NOW)  # a request that crashed mid-way
    assert await store.begin("k2", "fp", NOW + timedelta(minutes=5)) is None
