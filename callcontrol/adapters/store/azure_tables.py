"""Azure Table Storage backend (also Azurite), over the async azure-data-tables client.

The only module that imports the Tables SDK: its exceptions are translated here into the store
vocabulary (`EntityExists`, `EtagMismatch`, `TransactionFailed`, `StoreError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

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
from callcontrol.adapters.telemetry.dependencies import client_options
from callcontrol.domain.errors import StoreError

_CONFLICT_CODES = {"UpdateConditionNotSatisfied", "ResourceNotFound", "EntityNotFound"}


class AzureTableBackend:
    def __init__(self, service: TableServiceClient, *, table_prefix: str = "") -> None:
        self._service = service
        self._prefix = table_prefix
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
                    await self._service.create_table_if_not_exists(name)
                except AzureError as exc:
                    raise StoreError(f"cannot open table {name}: {exc.message}") from exc
                self._clients[table] = self._service.get_table_client(name)
        return self._clients[table]

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
        client = await self._client(table)
        self.round_trips += 1
        try:
            return self._to_entity(await client.get_entity(partition, row))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"read from {table} failed: {exc.message}") from exc

    async def insert(self, table: str, entity: Entity) -> str:
        client = await self._client(table)
        self.round_trips += 1
        try:
            result = await client.create_entity(self._clean(entity))
        except ResourceExistsError as exc:
            raise EntityExists(f"row already exists in {table}") from exc
        except AzureError as exc:
            raise StoreError(f"insert into {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def replace(self, table: str, entity: Entity, etag: str) -> str:
        client = await self._client(table)
        self.round_trips += 1
        try:
            result = await client.update_entity(
                self._clean(entity),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise EtagMismatch(f"row in {table} changed concurrently") from exc
        except AzureError as exc:
            raise StoreError(f"update of {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def upsert(self, table: str, entity: Entity) -> str:
        client = await self._client(table)
        self.round_trips += 1
        try:
            result = await client.upsert_entity(self._clean(entity), mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise StoreError(f"upsert into {table} failed: {exc.message}") from exc
        return str(result["etag"])

    async def delete(self, table: str, partition: str, row: str, etag: str | None = None) -> None:
        client = await self._client(table)
        self.round_trips += 1
        try:
            if etag is None:
                await client.delete_entity(partition, row)
            else:
                await client.delete_entity(
                    partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
                )
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
        client = await self._client(table)
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
        self.round_trips += 1
        try:
            if clauses:
                pages = client.query_entities(" and ".join(clauses), parameters=parameters,
                                              select=columns)
            else:
                pages = client.list_entities(select=columns)
            return [self._to_entity(item) async for item in pages]
        except AzureError as exc:
            raise StoreError(f"query of {table} failed: {exc.message}") from exc

    async def transact(self, table: str, operations: Sequence[TxOp]) -> list[str]:
        client = await self._client(table)
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
        self.round_trips += 1
        try:
            results = await client.submit_transaction(batch)
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
        service = TableServiceClient.from_connection_string(connection_string, **client_options())
    else:
        if table_service_uri is None or credential is None:
            raise ValueError("without a connection string, a table URI and a credential are needed")
        service = TableServiceClient(endpoint=table_service_uri, credential=credential,
                                     **client_options())
    return AzureTableBackend(service)
