"""Deleting a call past retention: its numbers' index rows, its record, spilled events and
outbox, then its other index rows."""

from __future__ import annotations

from callcontrol.adapters.store.backend import TableBackend, TxKind, TxOp, safe_key
from callcontrol.adapters.store.call_index import CallIndex, IndexKind, same_call
from callcontrol.adapters.store.record_rows import CALLS_TABLE
from callcontrol.adapters.store.versions import CallVersions
from callcontrol.domain.listing import IndexedCall


async def delete_call(backend: TableBackend, index: CallIndex, versions: CallVersions,
                      entry: IndexedCall, *, batch: int = 100) -> int:
    """Delete a call's rows (`batch` to a transaction), then its index rows; resumable: until
    the index row goes, the next run finds the call again. Returns the number of rows deleted."""
    partition = safe_key(entry.call_connection_id)
    found = await versions.get(entry.call_connection_id)
    if found is not None and entry.names(found.record):
        # Before the record goes: only the record says which numbers' rows the call has.
        await index.remove_numbers(found.record)
    rows = await backend.query(CALLS_TABLE, partition=partition, select=["RowKey"])
    for first in range(0, len(rows), batch):
        await backend.transact(CALLS_TABLE, [
            TxOp(TxKind.DELETE, {"PartitionKey": partition, "RowKey": row["RowKey"]})
            for row in rows[first:first + batch]])
    versions.forget(entry.call_connection_id)
    await index.remove(entry.position)
    await index.remove(same_call(entry, IndexKind.OPEN))
    return len(rows)
