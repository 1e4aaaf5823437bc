"""CallIndex.add: a new call's index rows are plain upserts, sent together; a failure of either
fails the add (so the record, written after it, is never written unindexed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from callcontrol.adapters.store.backend import Entity, TableBackend
from callcontrol.adapters.store.call_index import CallIndex
from callcontrol.domain.errors import StoreError
from callcontrol.domain.models import CallRecord, CallState

CREATED = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


class Upserts:
    """Records upserts; those whose RowKey starts with a prefix in `failing` fail."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.rows: list[tuple[str, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def upsert(self, table: str, entity: Entity) -> str:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        key = str(entity["RowKey"])
        if key.startswith(self.failing):
            raise StoreError(f"upsert of {key[:2]} failed")
        self.rows.append((table, key))
        return "etag"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"CallIndex.add used {name}, not upsert")


def index(backend: Upserts) -> CallIndex:
    return CallIndex(cast(TableBackend, backend))


async def test_a_live_call_gets_both_rows_sent_together() -> None:
    backend = Upserts()
    await index(backend).add(CallRecord("c1", state=CallState.CONNECTING, created_at=CREATED))
    assert sorted(key[:2] for _, key in backend.rows) == ["o|", "t|"]
    assert {table for table, _ in backend.rows} == {"callsday20261207"}
    assert backend.most_in_flight == 2


async def test_an_ended_call_gets_only_its_row_in_the_full_index() -> None:
    backend = Upserts()
    await index(backend).add(CallRecord("c1", state=CallState.DISCONNECTED, created_at=CREATED))
    assert [key[:2] for _, key in backend.rows] == ["t|"]


@pytest.mark.parametrize("failing", [("o|",), ("t|",), ("o|", "t|")])
async def test_a_failed_row_fails_the_add(failing: tuple[str, ...]) -> None:
    backend = Upserts(failing)
    with pytest.raises(StoreError):
        await index(backend).add(CallRecord("c1", state=CallState.CONNECTING, created_at=CREATED))
    assert backend.in_flight == 0  # the other row's upsert was not left running
