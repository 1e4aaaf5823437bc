"""Index rows over the call records, so that a page of calls costs O(page), not O(table).

All index rows live in one partition of their own table, keyed so that key order is the order
a reader wants:

* `t|<inverted created time>|<call key>` — every call, newest first;
* `o|<inverted created time>|<call key>` — only the calls not yet ended (a small set: the
  reconciler reads it, and a listing filtered by a live state pages through it).

Index rows are hints; the call record stays the truth. They are written *before* the record is
first inserted (one transaction for both rows), so a record never exists unindexed: a crash in
between leaves an index row without a record, which readers skip. A row counts only when the
record it names exists and was created at the time in its key (the loser of two concurrent
creations leaves a row with its own, different time). The "open" row is removed once the
record is written as ended.

One partition bounds index writes to what one Table partition takes (about 2,000 entities/s),
far above the rate calls are set up; in exchange a call's two rows change in one transaction
and retention deletes old rows in batches.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from callcontrol.adapters.store.backend import (
    EtagMismatch,
    TableBackend,
    TxKind,
    TxOp,
    safe_key,
)
from callcontrol.domain.errors import NotFound
from callcontrol.domain.listing import CallQuery, IndexedCall, bad_token, listed_time
from callcontrol.domain.models import CallRecord

INDEX_TABLE: Final = "callindex"
INDEX_PARTITION: Final = "calls"
CURSOR_PARTITION: Final = "cursors"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)  # keys count microseconds from here
_MAX_MICROS: Final = 10**17 - 1  # microseconds to the year 5138: keys are 17 digits wide
_TOKEN_VERSION: Final = 1


class IndexKind(StrEnum):
    ALL = "t"  # every call, newest first
    OPEN = "o"  # calls not yet ended, newest first


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, min(_MAX_MICROS, (moment - _EPOCH) // timedelta(microseconds=1)))


def _inverted(moment: datetime) -> str:
    return f"{_MAX_MICROS - _micros(moment):017d}"


def row_key(kind: IndexKind, record: CallRecord) -> str:
    return f"{kind.value}|{_inverted(listed_time(record))}|{safe_key(record.call_connection_id)}"


def newer_than_bound(kind: IndexKind, moment: datetime) -> str:
    """The first row key of calls created strictly before `moment` (keys run newest first)."""
    return f"{kind.value}|{_MAX_MICROS - _micros(moment) + 1:017d}|"


def kind_end(kind: IndexKind) -> str:
    return f"{kind.value}}}"  # '}' sorts after '|': just past every row of the kind


def _index_entity(kind: IndexKind, record: CallRecord) -> dict[str, object]:
    return {
        "PartitionKey": INDEX_PARTITION,
        "RowKey": row_key(kind, record),
        "CallId": record.call_connection_id,
        "CreatedAt": listed_time(record).isoformat(),
    }


def index_rows(record: CallRecord) -> list[dict[str, object]]:
    """The index rows a stored record should have: for bulk tools that seed or re-index."""
    kinds = [IndexKind.ALL] if record.state.is_final else [IndexKind.ALL, IndexKind.OPEN]
    return [_index_entity(kind, record) for kind in kinds]


def _entry(entity: dict[str, object]) -> IndexedCall:
    return IndexedCall(str(entity["RowKey"]), str(entity["CallId"]),
                       datetime.fromisoformat(str(entity["CreatedAt"])))


def kind_of(entry: IndexedCall) -> IndexKind:
    return IndexKind(entry.position[0])


def same_call(entry: IndexedCall, kind: IndexKind) -> str:
    """The position of the same call's row in the other index."""
    return kind.value + entry.position[1:]


class CallIndex:
    """Keeps and reads the index rows; the call store calls it around its own writes."""

    def __init__(self, backend: TableBackend) -> None:
        self._backend = backend

    async def add(self, record: CallRecord) -> None:
        """Index a call about to be created: both rows in one transaction (idempotent)."""
        operations = [TxOp(TxKind.UPSERT, row) for row in index_rows(record)]
        await self._backend.transact(INDEX_TABLE, operations)

    async def ended(self, record: CallRecord) -> None:
        """The call's record now says it ended: it leaves the open index."""
        await self.remove(row_key(IndexKind.OPEN, record))

    async def remove(self, key: str) -> None:
        try:
            await self._backend.delete(INDEX_TABLE, INDEX_PARTITION, key)
        except (NotFound, EtagMismatch):
            return  # already gone

    async def scan(self, kind: IndexKind, *, after: str | None = None, start: str | None = None,
                   below: str | None = None, limit: int) -> list[IndexedCall]:
        """Index rows of one kind in key order (newest first), within the given key bounds."""
        entities = await self._backend.query(
            INDEX_TABLE, partition=INDEX_PARTITION, row_after=after,
            row_from=max(start or "", f"{kind.value}|"), row_below=min(below or "~", kind_end(kind)),
            select=["CallId", "CreatedAt"], limit=limit,
        )
        return [_entry(e) for e in entities]

    async def load_cursor(self, name: str) -> str | None:
        found = await self._backend.get(INDEX_TABLE, CURSOR_PARTITION, name)
        return str(found["After"]) if found is not None and found.get("After") else None

    async def save_cursor(self, name: str, after: str | None) -> None:
        await self._backend.upsert(INDEX_TABLE, {"PartitionKey": CURSOR_PARTITION, "RowKey": name,
                                                 "After": after or ""})


# --- the continuation token --------------------------------------------------------------


def source_of(query: CallQuery) -> IndexKind:
    return IndexKind.OPEN if query.live_only else IndexKind.ALL


def encode_token(query: CallQuery, after: str) -> str:
    payload = {"v": _TOKEN_VERSION, "k": after, "f": query.filters_digest()}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(query: CallQuery) -> str | None:
    """The row key a page continues after, from the query's token; 400 when it is not ours."""
    token = query.continuation
    if token is None:
        return None

    refuse = bad_token
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise refuse("is not a token this API issued") from None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        raise refuse("is not a token this API issued")
    after = payload.get("k")
    if not isinstance(after, str) or not after.startswith(f"{source_of(query).value}|"):
        raise refuse("is not a token this API issued")
    if payload.get("f") != query.filters_digest():
        raise refuse("was issued for other filters (state, direction, since, until)")
    return after
