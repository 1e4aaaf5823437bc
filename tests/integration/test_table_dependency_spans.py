"""Table Storage requests (Azurite, through the backend the app builds) are dependency spans:
the table clients a TableServiceClient hands out get the policy too, not only the service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from opentelemetry.trace import SpanKind

from callcontrol.adapters.store.azure_tables import AzureTableBackend, connect_tables
from callcontrol.observability.context import invocation_scope, note_call
from tests.support.telemetry import recording
from tools.azurite import Azurite


@pytest.fixture
async def backend(azurite: Azurite) -> AsyncIterator[AzureTableBackend]:
    made = connect_tables(connection_string=azurite.connection_string)
    try:
        yield made
    finally:
        await made.close()


async def test_every_table_request_is_a_client_span_with_the_call_ids(
    azurite: Azurite, backend: AzureTableBackend,
) -> None:
    table = f"spans{uuid.uuid4().hex[:12]}"
    with recording() as recorded, invocation_scope():
        note_call(call_connection_id="c0ffee", correlation_id="corr-1")
        await backend.upsert(table, {"PartitionKey": "p", "RowKey": "r", "n": 1})
        assert await backend.get(table, "p", "r") is not None
        assert await backend.get(table, "p", "missing") is None
    try:
        requests = [s for s in recorded.spans() if s.kind is SpanKind.CLIENT]
        # Creating the table (the service's own client), the upsert and both reads (a table client).
        methods = sorted(s.name for s in requests)
        assert methods == ["GET", "GET", "POST", "PUT"], methods
        for span in requests:
            attributes = dict(span.attributes or {})
            assert attributes["correlationId"] == "corr-1"
            assert (attributes["server.address"], attributes["server.port"]) == ("127.0.0.1", azurite.port)
            assert attributes["az.service_request_id"]
        missed = [s for s in requests if "missing" in str(dict(s.attributes or {})["url.full"])]
        assert [dict(s.attributes or {})["http.response.status_code"] for s in missed] == [404]
    finally:
        await backend.drop(table)
