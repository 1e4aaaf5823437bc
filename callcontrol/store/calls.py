"""Call records and their event history, one partition per call connection.

Row "call" holds the record (ETag-guarded); rows "event|<id>" hold the history. A callback is
applied with one entity-group transaction (record + event row), so a redelivered event conflicts
on its row instead of being counted twice, and a concurrent writer shows up as an ETag mismatch.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from callcontrol.models import CallRecord, CallState, Direction, StoredEvent
from callcontrol.store.backend import (
    ETAG,
    Entity,
    EntityExists,
    EtagMismatch,
    TableBackend,
    TransactionFailed,
    TxKind,
    TxOp,
    pack_json,
    safe_key,
    unpack_json,
)

CALLS_TABLE = "calls"
RECORD_ROW = "call"
EVENT_PREFIX = "event|"


class DuplicateEvent(EntityExists):
    """The event is already in the call's history."""


@dataclass(frozen=True)
class VersionedCall:
    record: CallRecord
    etag: str


class CallStore:
    """Call records and histories.

    Writers may start from `get_for_update`, which serves the version this process last wrote
    (an LRU of recent calls) instead of reading it again: a stale version simply fails its
    ETag check, and the caller reloads with `get`. In the common case a callback then costs one
    round trip (the transaction), not two.
    """

    def __init__(self, backend: TableBackend, *, cache_size: int = 2048) -> None:
        self._backend = backend
        self._recent: OrderedDict[str, VersionedCall] = OrderedDict()
        self._cache_size = cache_size

    def _remember(self, record: CallRecord, etag: str) -> None:
        self._recent[record.call_connection_id] = VersionedCall(record, etag)
        self._recent.move_to_end(record.call_connection_id)
        while len(self._recent) > self._cache_size:
            self._recent.popitem(last=False)

    def forget(self, call_connection_id: str) -> None:
        self._recent.pop(call_connection_id, None)

    async def get_for_update(self, call_connection_id: str) -> VersionedCall | None:
        """The last version this process saw, if any, else a read (see the class doc)."""
        cached = self._recent.get(call_connection_id)
        return cached if cached is not None else await self.get(call_connection_id)

    async def get(self, call_connection_id: str) -> VersionedCall | None:
        entity = await self._backend.get(CALLS_TABLE, safe_key(call_connection_id), RECORD_ROW)
        if entity is None:
            self.forget(call_connection_id)
            return None
        found = VersionedCall(CallRecord.from_json(unpack_json(entity, "Record")), entity[ETAG])
        self._remember(found.record, found.etag)
        return found

    async def save(self, record: CallRecord, etag: str | None) -> str:
        """Insert (etag None: only if absent) or replace (only if unchanged since `etag`)."""
        entity = _record_entity(record)
        try:
            if etag is None:
                new_etag = await self._backend.insert(CALLS_TABLE, entity)
            else:
                new_etag = await self._backend.replace(CALLS_TABLE, entity, etag)
        except EntityExists as exc:
            self.forget(record.call_connection_id)
            raise EtagMismatch("the call record was created concurrently") from exc
        except EtagMismatch:
            self.forget(record.call_connection_id)
            raise
        self._remember(record, new_etag)
        return new_etag

    async def save_with_event(
        self, record: CallRecord, etag: str | None, event: StoredEvent
    ) -> None:
        """Write the record and append the event atomically."""
        record_op = (
            TxOp(TxKind.INSERT, _record_entity(record))
            if etag is None
            else TxOp(TxKind.REPLACE, _record_entity(record), etag)
        )
        event_op = TxOp(TxKind.INSERT, _event_entity(event))
        try:
            etags = await self._backend.transact(CALLS_TABLE, [record_op, event_op])
        except TransactionFailed as exc:
            if exc.index == 1 and isinstance(exc.cause, EntityExists):
                raise DuplicateEvent(f"event {event.event_id} already recorded") from exc
            self.forget(record.call_connection_id)
            raise EtagMismatch("the call record changed concurrently") from exc
        self._remember(record, etags[0])

    async def list_calls(
        self, *, state: CallState | None = None, direction: Direction | None = None
    ) -> list[CallRecord]:
        equals = {"RowKey": RECORD_ROW}
        if state is not None:
            equals["State"] = state.value
        if direction is not None:
            equals["Direction"] = direction.value
        entities = await self._backend.query(CALLS_TABLE, equals=equals)
        records = [CallRecord.from_json(unpack_json(e, "Record")) for e in entities]
        # Newest first; ISO strings of UTC times sort like the times.
        return sorted(records, key=lambda r: _iso(r.created_at), reverse=True)

    async def events(self, call_connection_id: str) -> list[StoredEvent]:
        entities = await self._backend.query(
            CALLS_TABLE, partition=safe_key(call_connection_id), row_prefix=EVENT_PREFIX
        )
        events = [_event_from_entity(call_connection_id, e) for e in entities]
        return sorted(events, key=_event_order)


def _record_entity(record: CallRecord) -> Entity:
    return {
        "PartitionKey": safe_key(record.call_connection_id),
        "RowKey": RECORD_ROW,
        "State": record.state.value,
        "Direction": record.direction.value,
        **pack_json("Record", record.to_json()),
    }


def _event_entity(event: StoredEvent) -> Entity:
    return {
        "PartitionKey": safe_key(event.call_connection_id),
        "RowKey": EVENT_PREFIX + safe_key(event.event_id),
        "EventId": event.event_id,
        "Type": event.type,
        "Time": event.time.isoformat() if event.time else "",
        "ReceivedAt": event.received_at.isoformat() if event.received_at else "",
        **pack_json("Data", event.data),
    }


def _event_from_entity(call_connection_id: str, entity: Entity) -> StoredEvent:
    def when(name: str) -> datetime | None:
        value = entity.get(name)
        return datetime.fromisoformat(value) if value else None

    return StoredEvent(
        event_id=entity["EventId"],
        call_connection_id=call_connection_id,
        type=entity["Type"],
        time=when("Time"),
        data=unpack_json(entity, "Data") or {},
        received_at=when("ReceivedAt"),
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _event_order(event: StoredEvent) -> tuple[str, int, str]:
    # Oldest first by the time ACS stamped; ParticipantsUpdated ties break by sequence.
    sequence = event.data.get("sequenceNumber")
    return (
        _iso(event.time or event.received_at),
        sequence if isinstance(sequence, int) else 0,
        event.event_id,
    )
