"""Bringing stored calls to this release's layout (`python -m commands.reindex`, docs/operations.md).

Records an earlier release kept under the RowKey "call" move to their own key (a record's next
write moves it too, atomically: record_rows.record_ops), every record gets its index rows, and
index rows an earlier release kept in `callindex` move to the day tables.
"""

from __future__ import annotations

import logging

from callcontrol.adapters.store.backend import ETAG, TableBackend, TransactionFailed, TxKind, TxOp, safe_key
from callcontrol.adapters.store.call_index import CallIndex, index_rows
from callcontrol.adapters.store.record_rows import (
    CALLS_TABLE,
    LEGACY_RECORD_ROW,
    RecordTable,
    decoded,
    leave_legacy_key,
    record_key,
)
from callcontrol.adapters.store.versions import CallVersions

logger = logging.getLogger(__name__)


class Migration:
    def __init__(self, backend: TableBackend, rows: RecordTable, index: CallIndex,
                 versions: CallVersions) -> None:
        self._backend = backend
        self._rows = rows
        self._index = index
        self._versions = versions

    async def reindex(self, *, batch: int = 100) -> int:
        """Bring every stored call to this release's layout (one-off after an upgrade;
        idempotent). Reads every record: run it once, not on a schedule. Returns the number
        of calls."""
        entities = await self._rows.every()
        secret = await self._index.secret()
        rows = []
        for entity in entities:
            record = decoded(entity)
            if entity["RowKey"] == LEGACY_RECORD_ROW:
                await self._move_to_record_key(record.call_connection_id)
            rows += index_rows(record, secret)
        await self._index.write(rows, batch=batch)
        await self._index.move_legacy_rows(batch=batch)
        await self._rows.note_layout()
        return len(entities)

    async def _move_to_record_key(self, call_connection_id: str) -> None:
        """Move a record from the old key to its own, atomically; a concurrent write (which
        moves it too) wins."""
        partition = safe_key(call_connection_id)
        entity = await self._backend.get(CALLS_TABLE, partition, LEGACY_RECORD_ROW)
        if entity is None:
            return
        moved = {**entity, "RowKey": record_key(partition)}
        try:
            await self._backend.transact(CALLS_TABLE, [*leave_legacy_key(partition, entity[ETAG]),
                                                       TxOp(TxKind.INSERT, moved)])
        except TransactionFailed:
            logger.info("call %s changed while moving its record: its own write moved it",
                        call_connection_id)
        self._versions.forget(call_connection_id)
