"""Index rows over the call records, so that a page of calls costs O(page), not O(table).

Every call's index rows live in the table of the UTC day it was created (`callsday20261130`),
in one partition, keyed so that key order is the order a reader wants:

* `t|<inverted created time>|<call key>`: every call, newest first;
* `o|<inverted created time>|<call key>`: only the calls not yet ended (a small set: the
  reconciler reads it, and a listing filtered by a live state pages through it);
* `n|<number digest>|<inverted created time>|<call key>`: one per phone number of the call (its
  caller, its callees), so `?number=` pages like the other filters. The digest is a keyed hash
  (HMAC, the listing's secret: listing_secret.py), never the number: a key names no one.

A day's keys all sort before the previous day's, so reading the day tables newest first, each in
key order, reads one index in one order. A call's two rows are upserted together, not in one
transaction (see `CallIndex.add`). `callindex` keeps the timers' cursors.

One table per day keeps what a page reads bounded by a day's calls, whatever the retention:
Azure serves a key range from its index anyway, but a table service that filters by scanning
(Azurite, on every developer's machine) then scans one day, not the whole history. Retention
drops a day's table once it is emptied, instead of deleting rows one by one. The tables that
exist are listed from the service (a name range), so no directory has to be kept in step.

Index rows are hints; the call record stays the truth. They are written *before* the record is
first inserted, so a record never exists unindexed: a crash in between leaves an index row
without a record, which readers skip. A row counts only when the record it names exists and
was created at the time in its key (the loser of two concurrent creations leaves a row with its
own, different time). The "open" row is removed once the record is written as ended.

Releases before the day tables kept the rows in `callindex`: `python -m commands.reindex` moves them
(docs/operations.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final

from callcontrol.adapters.store.backend import (
    Entity,
    EtagMismatch,
    TableBackend,
    TxKind,
    TxOp,
    safe_key,
)
from callcontrol.adapters.store.listing_secret import PROCESS_KEYS, ListingKeys, ListingSecret, b64
from callcontrol.domain.errors import NotFound
from callcontrol.domain.listing import (
    CallQuery,
    IndexedCall,
    bad_token,
    listed_time,
    phone_numbers,
)
from callcontrol.domain.models import CallRecord

INDEX_TABLE: Final = "callindex"  # the timers' cursors (and an earlier release's index rows)
DAY_TABLES: Final = "callsday"  # + YYYYMMDD: every call created that UTC day
INDEX_PARTITION: Final = "calls"
CURSOR_PARTITION: Final = "cursors"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)  # keys count microseconds from here
_MAX_MICROS: Final = 10**17 - 1  # microseconds to the year 5138: keys are 17 digits wide
_ONE_DAY: Final = timedelta(days=1)
_TRANSACTION_ROWS: Final = 100  # the service's most operations in one transaction
_TOKEN_VERSION: Final = 2  # 1: unsigned, no longer accepted
_TOKEN_MAX_CHARS: Final = 512  # ours are about 120: a longer one is refused unread


class IndexKind(StrEnum):
    ALL = "t"  # every call, newest first
    OPEN = "o"  # calls not yet ended, newest first
    NUMBER = "n"  # the calls of one phone number (by its digest), newest first


def prefix(kind: IndexKind, digest: str | None = None) -> str:
    """What every row key of an index starts with (a number's index: with its digest)."""
    return f"{kind.value}|{digest}|" if kind is IndexKind.NUMBER else f"{kind.value}|"


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, min(_MAX_MICROS, (moment - _EPOCH) // timedelta(microseconds=1)))


def _inverted(moment: datetime) -> str:
    return f"{_MAX_MICROS - _micros(moment):017d}"


def row_key(kind: IndexKind, record: CallRecord, digest: str | None = None) -> str:
    return (f"{prefix(kind, digest)}{_inverted(listed_time(record))}|"
            f"{safe_key(record.call_connection_id)}")


def newer_than_bound(kind: IndexKind, moment: datetime, digest: str | None = None) -> str:
    """The first row key of calls created strictly before `moment` (keys run newest first)."""
    if _micros(moment) == 0:
        # Nothing is listed before 1970 (the keys start there): past every key, not a key of
        # 18 digits, which would sort before them all and turn `since`/`until` inside out.
        return kind_end(kind, digest)
    return f"{prefix(kind, digest)}{_MAX_MICROS - _micros(moment) + 1:017d}|"


def kind_end(kind: IndexKind, digest: str | None = None) -> str:
    return f"{prefix(kind, digest)[:-1]}}}"  # '}' sorts after '|': past every row of the kind


# --- the day tables --------------------------------------------------------------------------


def day_table(moment: datetime) -> str:
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return f"{DAY_TABLES}{utc:%Y%m%d}"


def _is_day_table(name: str) -> bool:
    """Whether a table listed under the prefix is one of ours."""
    if len(name) != len(DAY_TABLES) + 8 or not name[len(DAY_TABLES):].isdigit():
        return False
    try:
        _day_start(name)
    except ValueError:
        return False
    return True


def _day_start(table: str) -> datetime:
    day = date(int(table[-8:-4]), int(table[-4:-2]), int(table[-2:]))
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _created_at(position: str) -> datetime:
    """The creation time an index row's key holds."""
    parts = position.split("|")
    inverted = parts[2] if parts[0] == IndexKind.NUMBER.value else parts[1]
    return _EPOCH + timedelta(microseconds=_MAX_MICROS - int(inverted))


def table_of(position: str) -> str:
    """The table an index row lives in, from its key."""
    return day_table(_created_at(position))


def _day_keys(table: str, kind: IndexKind, digest: str | None) -> tuple[str, str]:
    """[first, past the last) row key of a kind a day table can hold."""
    start = _day_start(table)
    return (newer_than_bound(kind, start + _ONE_DAY, digest),
            newer_than_bound(kind, start, digest))


def _outside(table: str, kind: IndexKind, after: str | None, start: str | None,
             below: str | None, digest: str | None) -> bool:
    first, past = _day_keys(table, kind, digest)
    return ((after is not None and past <= after) or (start is not None and past <= start)
            or (below is not None and first >= below))


def _index_entity(kind: IndexKind, record: CallRecord, digest: str | None = None) -> Entity:
    return {
        "PartitionKey": INDEX_PARTITION,
        "RowKey": row_key(kind, record, digest),
        "CallId": record.call_connection_id,
        "CreatedAt": listed_time(record).isoformat(),
    }


def index_rows(record: CallRecord, secret: ListingSecret | None = None
               ) -> list[tuple[str, Entity]]:
    """The index rows a stored record should have, each with its table: for bulk tools that
    seed or re-index. Its numbers' rows only with the listing's secret (their key needs it)."""
    kinds = [IndexKind.ALL] if record.state.is_final else [IndexKind.ALL, IndexKind.OPEN]
    table = day_table(listed_time(record))
    rows = [(table, _index_entity(kind, record)) for kind in kinds]
    if secret is not None:
        rows += number_rows(record, phone_numbers(record), secret)
    return rows


def number_rows(record: CallRecord, numbers: Iterable[str], secret: ListingSecret
                ) -> list[tuple[str, Entity]]:
    table = day_table(listed_time(record))
    return [(table, _index_entity(IndexKind.NUMBER, record, secret.number_digest(n)))
            for n in sorted(numbers)]


def _entry(entity: Entity) -> IndexedCall:
    return IndexedCall(str(entity["RowKey"]), str(entity["CallId"]),
                       datetime.fromisoformat(str(entity["CreatedAt"])))


def kind_of(entry: IndexedCall) -> IndexKind:
    return IndexKind(entry.position[0])


def same_call(entry: IndexedCall, kind: IndexKind) -> str:
    """The position of the same call's row in the other index."""
    return kind.value + entry.position[1:]


class CallIndex:
    """Keeps and reads the index rows; the call store calls it around its own writes."""

    def __init__(self, backend: TableBackend, keys: ListingKeys = PROCESS_KEYS) -> None:
        self._backend = backend
        self._keys = keys

    async def secret(self) -> ListingSecret:
        """The listing's secret: the numbers' keys and the tokens' signatures."""
        return await self._keys.secret()

    async def add(self, record: CallRecord) -> None:
        """Index a call about to be created: its rows upserted concurrently (idempotent).

        Not one transaction: the Tables SDK spends about 1.5x the CPU of two upserts on an
        entity-group transaction's multipart body and reply. The rows need not be atomic: the
        record is written only once all are, and a row without its record is skipped. The
        secret is asked for only when the call has numbers to index.
        """
        secret = await self.secret() if phone_numbers(record) else None
        results = await asyncio.gather(*(self._backend.upsert(table, row)
                                          for table, row in index_rows(record, secret)),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def add_numbers(self, record: CallRecord, numbers: Iterable[str]) -> None:
        """Index numbers a call has gained since it was created (its targets came after its
        first callback): before the record says so, like `add`."""
        await self.write(number_rows(record, numbers, await self.secret()))

    async def remove_numbers(self, record: CallRecord) -> None:
        secret = await self.secret()
        for number in phone_numbers(record):
            await self.remove(row_key(IndexKind.NUMBER, record, secret.number_digest(number)))

    async def ended(self, record: CallRecord) -> None:
        """The call's record now says it ended: it leaves the open index."""
        await self.remove(row_key(IndexKind.OPEN, record))

    async def remove(self, position: str) -> None:
        try:
            await self._backend.delete(table_of(position), INDEX_PARTITION, position)
        except (NotFound, EtagMismatch):
            return  # already gone

    async def day_tables(self) -> list[str]:
        """The day tables there are now, oldest first (one request): a scan can be given them.
        Only ours: another table may share the prefix."""
        return [t for t in await self._backend.tables(DAY_TABLES) if _is_day_table(t)]

    async def scan(self, kind: IndexKind, *, after: str | None = None, start: str | None = None,
                   below: str | None = None, limit: int, tables: Sequence[str] | None = None,
                   digest: str | None = None) -> list[IndexedCall]:
        """Index rows of one kind (a number's: with its digest) in key order (newest first),
        within the given key bounds; through `tables` (from `day_tables`) when given, else
        through those there are now."""
        found: list[IndexedCall] = []
        for table in reversed(tables if tables is not None else await self.day_tables()):
            if len(found) >= limit:
                break
            if _outside(table, kind, after, start, below, digest):
                continue
            found += await self._scan_table(table, kind, digest, (after, start, below),
                                            limit - len(found))
        return found

    async def _scan_table(self, table: str, kind: IndexKind, digest: str | None,
                          bounds: tuple[str | None, str | None, str | None],
                          limit: int) -> list[IndexedCall]:
        after, start, below = bounds
        entities = await self._backend.query(
            table, partition=INDEX_PARTITION, row_after=after,
            row_from=max(start or "", prefix(kind, digest)),
            row_below=min(below or "~", kind_end(kind, digest)),
            select=["CallId", "CreatedAt"], limit=limit,
        )
        return [_entry(e) for e in entities]

    async def drop_emptied_days(self, cutoff: datetime) -> int:
        """Drop the day tables that ended before `cutoff` and hold no row any more."""
        dropped = 0
        for table in await self.day_tables():
            if _day_start(table) + _ONE_DAY > cutoff:
                continue
            if not await self._backend.query(table, select=["RowKey"], limit=1):
                await self._backend.drop(table)
                dropped += 1
        return dropped

    async def move_legacy_rows(self, *, batch: int = 100) -> int:
        """Move the index rows an earlier release kept in `callindex` to their day tables."""
        legacy = [row for kind in (IndexKind.ALL, IndexKind.OPEN) for row in await self._backend.query(
            INDEX_TABLE, partition=INDEX_PARTITION, row_prefix=f"{kind.value}|")]
        await self.write([(table_of(str(row["RowKey"])), row) for row in legacy], batch=batch)
        for first in range(0, len(legacy), batch):
            await self._backend.transact(INDEX_TABLE, [
                TxOp(TxKind.DELETE, {"PartitionKey": INDEX_PARTITION, "RowKey": row["RowKey"]})
                for row in legacy[first:first + batch]])
        return len(legacy)

    async def write(self, rows: Iterable[tuple[str, Entity]], *, batch: int = 100) -> None:
        """Upsert index rows (each with its table), `batch` to a transaction: bulk tools."""
        by_table: dict[str, list[Entity]] = {}
        for table, row in rows:
            by_table.setdefault(table, []).append(row)
        for table, entities in by_table.items():
            for first in range(0, len(entities), batch):
                await self._backend.transact(table, [TxOp(TxKind.UPSERT, row)
                                                     for row in entities[first:first + batch]])

    async def load_cursor(self, name: str) -> str | None:
        found = await self._backend.get(INDEX_TABLE, CURSOR_PARTITION, name)
        return str(found["After"]) if found is not None and found.get("After") else None

    async def save_cursor(self, name: str, after: str | None) -> None:
        await self._backend.upsert(INDEX_TABLE, {"PartitionKey": CURSOR_PARTITION, "RowKey": name,
                                                 "After": after or ""})


# --- the continuation token --------------------------------------------------------------


def source_of(query: CallQuery) -> IndexKind:
    """The index a query pages through: a number's calls are few, then the open calls."""
    if query.number is not None:
        return IndexKind.NUMBER
    return IndexKind.OPEN if query.live_only else IndexKind.ALL


def digest_of(query: CallQuery, secret: ListingSecret) -> str | None:
    return secret.number_digest(query.number) if query.number is not None else None


def encode_token(query: CallQuery, after: str, secret: ListingSecret) -> str:
    """`<payload>.<signature>`: the payload says where the page ends and for which filters; the
    signature (HMAC, the listing's secret) makes any other position a refused token."""
    payload = {"v": _TOKEN_VERSION, "k": after, "f": secret.sign(query.filters_text())}
    text = b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{text}.{secret.sign(text)}"


def decode_token(query: CallQuery, secret: ListingSecret) -> str | None:
    """The row key a page continues after, from the query's token; 400 when it is not ours.
    The signature is checked before anything of the payload is parsed."""
    token = query.continuation
    if token is None:
        return None

    refuse = bad_token
    text, dot, signature = token.partition(".")
    if len(token) > _TOKEN_MAX_CHARS or not dot or not secret.signed(text, signature):
        raise refuse("is not a token this API issued")
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise refuse("is not a token this API issued") from None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        raise refuse("is not a token this API issued")
    after = payload.get("k")
    if payload.get("f") != secret.sign(query.filters_text()):
        raise refuse("was issued for other filters (state, direction, since, until, number)")
    if not isinstance(after, str) or not after.startswith(
            prefix(source_of(query), digest_of(query, secret))):
        raise refuse("is not a token this API issued")
    return after
