"""Azure Table Storage backend (also Azurite), over the async azure-data-tables client.

The only module that imports the Tables SDK: its exceptions are translated here into the store
vocabulary (`EntityExists`, `EtagMismatch`, `TransactionFailed`, `StoreError`).

A table is created on first use and then assumed to exist. If it is deleted while the app runs,
the next operation on it fails with TableNotFound: the table is re-created, once, and that
operation retried (Azure refuses the re-creation for about 40 s after a delete: until then the
operation fails as a StoreError, a 503, and the next one tries again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, Unpack

from azure.core import MatchConditions
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from callcontrol.adapters.http_environment import transport_options
from callcontrol.adapters.store.backend import (
    ETAG,
    STORAGE_DEADLINE_SECONDS,
    Entity,
    EntityExists,
    EtagMismatch,
    TransactionFailed,
    TxKind,
    TxOp,
    prefix_end,
)
from callcontrol.adapters.store.query import TableQuery, Where
from callcontrol.adapters.telemetry.dependencies import add_after_retry, client_options
from callcontrol.domain.errors import StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")
_CONFLICT_CODES = {"UpdateConditionNotSatisfied", "ResourceNotFound", "EntityNotFound"}
_TABLE_NOT_FOUND = "TableNotFound"


def _table_missing(exc: AzureError, *, any_not_found: bool = False) -> bool:
    """Whether the service said the table itself does not exist (not just the entity)."""
    code = getattr(exc, "error_code", None)
    if code is not None and str(getattr(code, "value", code)) == _TABLE_NOT_FOUND:
        return True
    # An insert cannot miss an entity: its 404 is the table's (Azurite leaves the code out).
    return any_not_found and isinstance(exc, ResourceNotFoundError)


class AzureTableBackend:
    def __init__(self, service: TableServiceClient, *, table_prefix: str = "",
                 deadline_seconds: float = STORAGE_DEADLINE_SECONDS) -> None:
        self._service = service
        self._prefix = table_prefix
        self._deadline = deadline_seconds
        self._clients: dict[str, TableClient] = {}
        self._ready: dict[str, asyncio.Lock] = {}
        self.round_trips = 0

    def _name(self, table: str) -> str:
        return f"{self._prefix}{table}"

    async def _client(self, table: str) -> TableClient:
        client = self._clients.get(table)
        if client is not None:
            return client
        lock = self._ready.setdefault(table, asyncio.Lock())
        async with lock:
            if table not in self._clients:
                await self._create(table)
                self._clients[table] = self._service.get_table_client(self._name(table))
        return self._clients[table]

    async def _create(self, table: str) -> None:
        try:
            await self._within_deadline(self._service.create_table_if_not_exists(self._name(table)),
                                        f"open table {self._name(table)}")
        except AzureError as exc:
            raise StoreError(f"cannot open table {self._name(table)}: {exc.message}") from exc

    async def _on_table(self, table: str, action: Callable[[TableClient], Awaitable[T]], *,
                        insert: bool = False) -> T:
        """Run `action` with the table's client; if the table has gone, re-create it once and
        run `action` again."""
        client = await self._client(table)
        self.round_trips += 1
        try:
            return await self._within_deadline(action(client), f"request to {table}")
        except AzureError as exc:
            if not _table_missing(exc, any_not_found=insert):
                raise
            logger.warning("table %s is missing (deleted while the app runs): re-creating it",
                           self._name(table))
        async with self._ready.setdefault(table, asyncio.Lock()):
            await self._create(table)
        self.round_trips += 1
        return await self._within_deadline(action(client), f"request to {table}")

    async def _within_deadline(self, request: Awaitable[T], what: str) -> T:
        try:
            async with asyncio.timeout(self._deadline):
                return await request
        except TimeoutError:
            raise StoreError(f"{what}: no answer within {self._deadline:g} s") from None

    @staticmethod
    def _to_entity(raw: Mapping[str, Any]) -> Entity:
        # Selected properties an entity lacks may come back as nulls: drop them.
        entity: Entity = {name: value for name, value in raw.items() if value is not None}
        entity[ETAG] = raw.metadata["etag"]  # type: ignore[attr-defined]
        return entity

    @staticmethod
    def _clean(entity: Entity) -> Entity:
        return {k: v for k, v in entity.items() if k != ETAG}

    async def get(self, table: str, partition: str, row: str, *,
                  select: Sequence[str] | None = None) -> Entity | None:
        columns = None if select is None else ["PartitionKey", "RowKey", *select]
        try:
            found = await self._on_table(table, lambda c: c.get_entity(partition, row,
                                                                       select=columns))
            return self._to_entity(found)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"read from {table} failed: {exc.message}") from exc

    async def insert(self, table: str, entity: Entity) -> str:
        try:
            result = await self._on_table(
                table, lambda c: c.create_entity(self._clean(entity)), insert=True)
        except ResourceExistsError as exc:
            raise EntityExists(f"row already exists in {table}") from exc
        except AzureError as exc:
            raise StoreError(f"insert into {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def replace(self, table: str, entity: Entity, etag: str) -> str:
        try:
            result = await self._on_table(table, lambda c: c.update_entity(
                self._clean(entity),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            ))
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise EtagMismatch(f"row in {table} changed concurrently") from exc
        except AzureError as exc:
            raise StoreError(f"update of {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def upsert(self, table: str, entity: Entity) -> str:
        try:
            result = await self._on_table(
                table, lambda c: c.upsert_entity(self._clean(entity), mode=UpdateMode.REPLACE))
        except AzureError as exc:
            raise StoreError(f"upsert into {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def delete(self, table: str, partition: str, row: str, etag: str | None = None) -> None:
        async def delete(client: TableClient) -> None:
            if etag is None:
                await client.delete_entity(partition, row)
            else:
                await client.delete_entity(
                    partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
                )

        try:
            await self._on_table(table, delete)
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise EtagMismatch(f"row in {table} changed concurrently") from exc
        except AzureError as exc:
            raise StoreError(f"delete from {table} failed: {exc.message}") from exc

    async def query(self, table: str, *, select: Sequence[str] | None = None,
                    limit: int | None = None, **where: Unpack[Where]) -> list[Entity]:
        columns = None if select is None else ["PartitionKey", "RowKey", *select]
        expression, parameters = TableQuery(**where).odata()
        # Ask for no more than is needed: the service pages by up to 1,000 entities.
        per_page = None if limit is None else max(1, min(limit, 1000))

        async def collect(client: TableClient) -> list[Entity]:
            if expression:
                pages = client.query_entities(expression, parameters=parameters,
                                              select=columns, results_per_page=per_page)
            else:
                pages = client.list_entities(select=columns, results_per_page=per_page)
            found: list[Entity] = []
            if limit == 0:
                return found
            async for item in pages:
                found.append(self._to_entity(item))
                # Stop before asking for the next page: that is a request (a scan on Azurite).
                if limit is not None and len(found) >= limit:
                    break
            return found

        try:
            return await self._on_table(table, collect)
        except AzureError as exc:
            raise StoreError(f"query of {table} failed: {exc.message}") from exc

    async def transact(self, table: str, operations: Sequence[TxOp]) -> list[str]:
        batch: list[Any] = []
        for op in operations:
            entity = self._clean(op.entity)
            if op.kind is TxKind.REPLACE and op.etag is not None:
                options = {"mode": UpdateMode.REPLACE, "etag": op.etag,
                           "match_condition": MatchConditions.IfNotModified}
                batch.append((op.kind.value, entity, options))
            elif op.kind in (TxKind.UPSERT, TxKind.REPLACE):
                batch.append((op.kind.value, entity, {"mode": UpdateMode.REPLACE}))
            elif op.kind is TxKind.DELETE and op.etag is not None:
                options = {"etag": op.etag, "match_condition": MatchConditions.IfNotModified}
                batch.append((op.kind.value, entity, options))
            else:
                batch.append((op.kind.value, entity))
        try:
            results = await self._on_table(table, lambda c: c.submit_transaction(batch))
        except TableTransactionError as exc:
            code = str(getattr(exc, "error_code", "") or "")
            cause: StoreError
            if code == "EntityAlreadyExists":
                cause = EntityExists(exc.message or code)
            elif code in _CONFLICT_CODES:
                cause = EtagMismatch(exc.message or code)
            else:
                raise StoreError(f"transaction on {table} failed: {code}") from exc
            raise TransactionFailed(exc.index, cause) from exc
        except AzureError as exc:
            raise StoreError(f"transaction on {table} failed: {exc.message}") from exc
        return [str(result.get("etag") or "") for result in results]

    async def tables(self, prefix: str) -> list[str]:
        # A name range, served from the account's table list: [prefix, prefix + 1 char).
        low = self._name(prefix)
        high = prefix_end(low)

        async def names() -> list[str]:
            found = self._service.query_tables("TableName ge @lo and TableName lt @hi",
                                               parameters={"lo": low, "hi": high})
            return sorted([item.name[len(self._prefix):] async for item in found])

        self.round_trips += 1
        try:
            return await self._within_deadline(names(), "list tables")
        except AzureError as exc:
            raise StoreError(f"listing tables failed: {exc.message}") from exc

    async def drop(self, table: str) -> None:
        self.round_trips += 1
        client = self._clients.pop(table, None)
        if client is not None:
            await client.close()
        try:
            await self._within_deadline(self._service.delete_table(self._name(table)),
                                        f"delete table {self._name(table)}")
        except AzureError as exc:
            raise StoreError(f"deleting table {self._name(table)} failed: {exc.message}") from exc

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        await self._service.close()


def connect_tables(*, connection_string: str | None, table_service_uri: str | None = None,
                   credential: AsyncTokenCredential | None = None,
                   table_prefix: str = "") -> AzureTableBackend:
    """Connection string (local, Azurite) or table URI + managed identity (Azure)."""
    options = {**client_options(), **transport_options()}
    if connection_string:
        service = TableServiceClient.from_connection_string(connection_string, **options)
    else:
        if table_service_uri is None or credential is None:
            raise ValueError("without a connection string, a table URI and a credential are needed")
        service = TableServiceClient(endpoint=table_service_uri, credential=credential, **options)
    if not add_after_retry(service._policies):  # the table clients' pipelines: see add_after_retry
        logger.warning("Table Storage requests will have no dependency spans: "
                       "this azure-data-tables has no retry policy in its policy list")
    return AzureTableBackend(service, table_prefix=table_prefix)
