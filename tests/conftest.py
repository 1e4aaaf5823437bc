"""Fixtures shared by every tier: the ACS contract folder, payload fixtures, Azurite."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.store.backend import TableBackend
from tests.support import shared
from tests.support.memory_tables import MemoryTableBackend
from tools.azurite import Azurite, start_azurite

EVENTS = Path(__file__).resolve().parent / "events"


@pytest.fixture(scope="session")
def contract_dir() -> Path:
    """../shared/acs-contract, as in a CI checkout; skipped where a user's clone lacks it."""
    found = shared.contract_dir()
    if found is None:
        pytest.skip("../shared/acs-contract is absent (set ACS_SHARED_DIR to run this test)")
    return found


def load_event(name: str) -> Any:
    """A real-shaped payload fixture from tests/events/."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    handle = start_azurite()
    try:
        yield handle
    finally:
        handle.stop()


def azurite_backend(azurite: Azurite) -> AzureTableBackend:
    from azure.data.tables.aio import TableServiceClient

    service = TableServiceClient.from_connection_string(azurite.connection_string)
    return AzureTableBackend(service, table_prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["memory", "azurite"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[TableBackend]:
    """Both table backends: contract tests must pass on the twin and on real storage."""
    made: TableBackend
    if request.param == "memory":
        made = MemoryTableBackend()
    else:
        made = azurite_backend(request.getfixturevalue("azurite"))
    try:
        yield made
    finally:
        await made.close()
