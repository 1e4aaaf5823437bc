"""A table deleted while the app runs is re-created on the error that says so, once, and the
operation retried (Azurite)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from azure.data.tables.aio import TableServiceClient

from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.store.backend import TxKind, TxOp
from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.models import CallRecord, CallState
from tools.azurite import Azurite

PREFIX_LENGTH = 10


@pytest.fixture
async def tables(azurite: Azurite) -> AsyncIterator[tuple[AzureTableBackend, TableServiceClient]]:
    prefix = f"r{uuid.uuid4().hex[:PREFIX_LENGTH]}"
    backend = AzureTableBackend(TableServiceClient.from_connection_string(azurite.connection_string),
                                table_prefix=prefix)
    operator = TableServiceClient.from_connection_string(azurite.connection_string)
    backend.test_prefix = prefix  # type: ignore[attr-defined]
    try:
        yield backend, operator
    finally:
        await operator.close()
        await backend.close()


def prefix_of(backend: AzureTableBackend) -> str:
    return str(backend.test_prefix)  # type: ignore[attr-defined]


async def drop(operator: TableServiceClient, backend: AzureTableBackend, table: str) -> None:
    await operator.delete_table(f"{prefix_of(backend)}{table}")


def row(rk: str) -> dict[str, object]:
    return {"PartitionKey": "p", "RowKey": rk, "Value": rk}


async def test_every_operation_survives_its_table_being_deleted(
    tables: tuple[AzureTableBackend, TableServiceClient], caplog: pytest.LogCaptureFixture,
) -> None:
    backend, operator = tables
    await backend.insert("things", row("seed"))  # the backend now believes the table exists
    steps = [
        ("get", lambda: backend.get("things", "p", "absent")),
        ("insert", lambda: backend.insert("things", row("a"))),
        ("upsert", lambda: backend.upsert("things", row("b"))),
        ("query", lambda: backend.query("things", partition="p")),
        ("transact", lambda: backend.transact("things", [TxOp(TxKind.UPSERT, row("c"))])),
    ]
    for name, step in steps:
        await drop(operator, backend, "things")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="callcontrol.store.azure_tables"):
            await step()  # no error: the table came back and the operation ran
        warnings = [r.getMessage() for r in caplog.records if "re-creating" in r.getMessage()]
        assert len(warnings) == 1, name
    stored = await backend.query("things", partition="p")
    assert [e["RowKey"] for e in stored] == ["c"]  # the last step ran on a fresh table


async def test_a_missing_table_is_not_mistaken_for_a_missing_row(
    tables: tuple[AzureTableBackend, TableServiceClient],
) -> None:
    backend, operator = tables
    await backend.insert("things", row("x"))
    await drop(operator, backend, "things")
    assert await backend.get("things", "p", "x") is None  # after re-creation the row is gone
    listed = [t.name async for t in operator.list_tables()]
    assert f"{prefix_of(backend)}things" in listed


async def test_calls_are_stored_again_after_the_calls_table_is_deleted(
    tables: tuple[AzureTableBackend, TableServiceClient],
) -> None:
    backend, operator = tables
    store = CallStore(backend)
    await store.save(CallRecord("before", state=CallState.CONNECTED), None)
    await drop(operator, backend, "calls")
    await drop(operator, backend, "callindex")
    await store.save(CallRecord("after", state=CallState.CONNECTED), None)
    found = await store.get("after")
    assert found is not None and found.record.state is CallState.CONNECTED
