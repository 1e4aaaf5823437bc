"""Azure Table Storage backend (also Azurite), over the async azure-data-tables client.

The only module that imports the Tables SDK: its exceptions are translated here into the store
vocabulary (`EntityExists`, `EtagMismatch`, `TransactionFailed`, `StoreError`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

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

from callcontrol.adapters.store.backend import (
    ETAG,
    Entity,
    EntityExists,
    EtagMismatch,
    TransactionFailed,
    TxKind,
    TxOp,
)
from callcontrol.domain.errors import StoreError

logger = logging.getLogger(__name__)
_CONFLICT_CODES = {"UpdateConditionNotSatisfied", "ResourceNotFound", "EntityNotFound"}


# Every storage request ends within this, the SDK's own retries included: well inside Event
# Grid's 30 s wait for a webhook and the host's HTTP timeout, so a hung store becomes a prompt
# 503 (or a failed delivery that Event Grid retries), never a request that outlives its caller.
STORAGE_DEADLINE_SECONDS = 5.0
_TABLE_GONE = "TableNotFound"
T = TypeVar("T")


def _table_gone(exc: AzureError) -> bool:
    """The table itself is missing (storage was wiped or restarted empty), not a row."""
    code = str(getattr(exc, "error_code", "") or "")
    return code == _TABLE_GONE or "table specified does not exist" in str(exc.message or "")


class AzureTableBackend:
    def __init__(self, service: TableServiceClient, *, table_prefix: str = "",
                 deadline_seconds: float = STORAGE_DEADLINE_SECONDS) -> None:
        self._service = service
        self._prefix = table_prefix
        self._deadline = deadline_seconds
        self._clients: dict[str, TableClient] = {}
        self._ready: dict[str, asyncio.Lock] = {}
        self.round_trips = 0

    async def _client(self, table: str) -> TableClient:
        client = self._clients.get(table)
        if client is not None:
            return client
        lock = self._ready.setdefault(table, asyncio.Lock())
        async with lock:
            if table not in self._clients:
                name = f"{self._prefix}{table}"
                try:
                    async with asyncio.timeout(self._deadline):
                        await self._service.create_table_if_not_exists(name)
                except TimeoutError:
                    raise StoreError(f"cannot open table {name}: no answer within "
                                     f"{self._deadline:g} s") from None
                except AzureError as exc:
                    raise StoreError(f"cannot open table {name}: {exc.message}") from exc
                self._clients[table] = self._service.get_table_client(name)
        return self._clients[table]

    async def _call(self, table: str, action: str,
                    operation: Callable[[TableClient], Awaitable[T]]) -> T:
        """Run one storage request within the deadline. A table found missing (the store lost
        its tables) is created again and the request made once more."""
        for attempt in range(2):
            client = await self._client(table)
            self.round_trips += 1
            try:
                async with asyncio.timeout(self._deadline):
                    return await operation(client)
            except TimeoutError:
                raise StoreError(f"{action} {table}: no answer within {self._deadline:g} s") from None
            except (AzureError, TableTransactionError) as exc:
                if attempt == 0 and _table_gone(exc):
                    logger.warning("table %s is gone; creating it again", table)
                    self._clients.pop(table, None)
                    continue
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _to_entity(raw: Mapping[str, Any]) -> Entity:
        # Selected properties an entity lacks may come back as nulls: drop them.
        entity: Entity = {name: value for name, value in raw.items() if value is not None}
        entity[ETAG] = raw.metadata["etag"]  # type: ignore[attr-defined]
        return entity

    @staticmethod
    def _clean(entity: Entity) -> Entity:
        return {k: v for k, v in entity.items() if k != ETAG}

    async def get(self, table: str, partition: str, row: str) -> Entity | None:
        async def read(client: TableClient) -> Entity:
            return self._to_entity(await client.get_entity(partition, row))

        try:
            return await self._call(table, "read from", read)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"read from {table} failed: {exc.message}") from exc

    async def insert(self, table: str, entity: Entity) -> str:
        async def create(client: TableClient) -> Mapping[str, Any]:
            return await client.create_entity(self._clean(entity))

        try:
            result = await self._call(table, "insert into", create)
        except ResourceExistsError as exc:
            raise EntityExists(f"row already exists in {table}") from exc
        except AzureError as exc:
            raise StoreError(f"insert into {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def replace(self, table: str, entity: Entity, etag: str) -> str:
        async def update(client: TableClient) -> Mapping[str, Any]:
            return await client.update_entity(
                self._clean(entity),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )

        try:
            result = await self._call(table, "update of", update)
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise EtagMismatch(f"row in {table} changed concurrently") from exc
        except AzureError as exc:
            raise StoreError(f"update of {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def upsert(self, table: str, entity: Entity) -> str:
        async def write(client: TableClient) -> Mapping[str, Any]:
            return await client.upsert_entity(self._clean(entity), mode=UpdateMode.REPLACE)

        try:
            result = await self._call(table, "upsert into", write)
        except AzureError as exc:
            raise StoreError(f"upsert into {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def delete(self, table: str, partition: str, row: str, etag: str | None = None) -> None:
        async def remove(client: TableClient) -> None:
            if etag is None:
                await client.delete_entity(partition, row)
            else:
                await client.delete_entity(
                    partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
                )

        try:
            await self._call(table, "delete from", remove)
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise EtagMismatch(f"row in {table} changed concurrently") from exc
        except AzureError as exc:
            raise StoreError(f"delete from {table} failed: {exc.message}") from exc

    async def query(
        self,
        table: str,
        *,
        partition: str | None = None,
        row_prefix: str | None = None,
        equals: Mapping[str, str] | None = None,
        select: Sequence[str] | None = None,
    ) -> list[Entity]:
        columns = None if select is None else ["PartitionKey", "RowKey", *select]
        clauses: list[str] = []
        parameters: dict[str, Any] = {}
        if partition is not None:
            clauses.append("PartitionKey eq @pk")
            parameters["pk"] = partition
        if row_prefix is not None:
            # Prefix scan as a range: [prefix, prefix with its last char incremented).
            clauses.append("RowKey ge @rlo and RowKey lt @rhi")
            parameters["rlo"] = row_prefix
            parameters["rhi"] = row_prefix[:-1] + chr(ord(row_prefix[-1]) + 1)
        for index, (name, value) in enumerate((equals or {}).items()):
            if not name.isidentifier():
                raise ValueError(f"bad property name {name!r}")
            clauses.append(f"{name} eq @v{index}")
            parameters[f"v{index}"] = value

        async def read(client: TableClient) -> list[Entity]:
            if clauses:
                pages = client.query_entities(" and ".join(clauses), parameters=parameters,
                                              select=columns)
            else:
                pages = client.list_entities(select=columns)
            return [self._to_entity(item) async for item in pages]

        try:
            return await self._call(table, "query of", read)
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

        async def submit(client: TableClient) -> list[Mapping[str, Any]]:
            return list(await client.submit_transaction(batch))

        try:
            results = await self._call(table, "transaction on", submit)
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

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        await self._service.close()


def connect_tables(*, connection_string: str | None, table_service_uri: str | None = None,
                   credential: AsyncTokenCredential | None = None) -> AzureTableBackend:
    """Connection string (local, Azurite) or table URI + managed identity (Azure)."""
    if connection_string:
        service = TableServiceClient.from_connection_string(connection_string)
    else:
        if table_service_uri is None or credential is None:
            raise ValueError("without a connection string, a table URI and a credential are needed")
        service = TableServiceClient(endpoint=table_service_uri, credential=credential)
    return AzureTableBackend(service)
