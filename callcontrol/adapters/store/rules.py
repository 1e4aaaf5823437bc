"""The inbound rule set in Table Storage: the current version behind an ETag, every version kept.

One partition, two kinds of row:

* `head` — which version is current (small: revalidating a cached set reads only this);
* `v0000000042` — version 42, written once and never changed.

A change inserts the next version row and moves `head` in one entity-group transaction, guarded
by head's table ETag, so two concurrent writers cannot both win and no version is lost. The
HTTP ETag of a version is `"<version>-<digest of its canonical JSON>"`: it changes with every
version and cannot repeat across a wiped and re-seeded store with different content.

With nothing stored the shipped default (answer every call) is in force as version 0; when a
rules file is configured, the first read seeds it as version 1 instead (insert-if-absent, so
concurrent first starts seed once and a set PUT earlier is never overwritten).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from callcontrol.adapters.store.backend import (
    ETAG,
    Entity,
    TableBackend,
    TransactionFailed,
    TxKind,
    TxOp,
    pack_json,
    unpack_json,
)
from callcontrol.domain.access import Actor
from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import (
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from callcontrol.domain.rules import RuleSet, parse_rule_set
from callcontrol.domain.rules.versions import RuleSetVersion, default_version, version_etag

RULES_TABLE: Final = "rules"
PARTITION: Final = "ruleset"
HEAD_ROW: Final = "head"
VERSION_PREFIX: Final = "v"
ANY: Final = "*"
APP_ROOT: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Head:
    version: int
    etag: str  # the HTTP ETag of the current version
    table_etag: str


def _version_row(version: int) -> str:
    return f"{VERSION_PREFIX}{version:010d}"


Seed = Callable[[], RuleSet | None]


def no_seed() -> RuleSet | None:
    return None


class RuleStore:
    def __init__(self, backend: TableBackend, *, seed: Seed = no_seed, clock: Clock = utc_now) -> None:
        self._backend = backend
        self._seed = seed
        self._clock = clock

    async def head(self) -> Head | None:
        """Which version is current: one small point read (no rule set is transferred)."""
        entity = await self._backend.get(RULES_TABLE, PARTITION, HEAD_ROW)
        if entity is None:
            return None
        return Head(int(entity["Version"]), str(entity["Etag"]), str(entity[ETAG]))

    async def current(self) -> RuleSetVersion:
        """The rule set in force, seeding the rules file when nothing is stored yet."""
        head = await self.head()
        if head is None:
            seeded = await self._seed_once()
            if seeded is not None:
                return seeded
            return default_version()
        return await self.version(head.version)

    async def version(self, version: int) -> RuleSetVersion:
        """One version, current or earlier; 0 is the shipped default.

        Raises:
            NotFound: when no such version was ever stored.
        """
        if version == 0:
            return default_version()
        entity = await self._backend.get(RULES_TABLE, PARTITION, _version_row(version))
        if entity is None:
            raise NotFound(f"rule set version {version} does not exist")
        return _from_entity(entity)

    async def versions(self) -> list[RuleSetVersion]:
        """Every stored version, newest first."""
        entities = await self._backend.query(RULES_TABLE, partition=PARTITION, row_prefix=VERSION_PREFIX)
        return sorted((_from_entity(e) for e in entities), key=lambda v: v.version, reverse=True)

    async def replace(self, rules: RuleSet, if_match: Sequence[str] | None,
                      actor: Actor | None = None) -> RuleSetVersion:
        """Store `rules` as the next version, if the caller saw the current one.

        `if_match` holds the entity tags of an If-Match header (`*` matches any), or None
        when the header was absent: allowed only while no set is stored.

        Raises:
            PreconditionRequired: a set is stored and no If-Match was given.
            PreconditionFailed: If-Match names another version, or a concurrent change won.
        """
        head = await self.head()
        if head is None and await self._seed_once() is not None:
            head = await self.head()  # a configured seed counts as stored
        current_etag = head.etag if head is not None else default_version().etag
        if if_match is None:
            if head is not None:
                raise PreconditionRequired(
                    "the rule set exists: send If-Match with the ETag from GET /api/rules"
                )
        elif ANY not in if_match and current_etag not in if_match:
            raise PreconditionFailed(
                f"If-Match does not match the current rule set (ETag {current_etag})"
            )
        saved = await self._append(rules, head, source="api", actor=actor)
        if saved is None:
            raise PreconditionFailed("the rule set was changed concurrently; GET it and retry")
        return saved

    async def prune(self, keep: int, limit: int, superseded_before: datetime | None = None) -> int:
        """Delete stored versions beyond the newest `keep`, never the current one, at most
        `limit` per call (100 to a transaction). Returns how many went.

        With `superseded_before`, a version also stays until the version after it was stored
        before that time: a call decided under it may still be running its flow (whose steps
        are read from their own version), so it goes only with the calls that could use it.
        """
        head = await self.head()
        rows = await self._backend.query(RULES_TABLE, partition=PARTITION, row_prefix=VERSION_PREFIX,
                                         select=["Version", "SavedAt"])
        newest_first = sorted(rows, key=lambda row: int(row["Version"]), reverse=True)
        current = head.version if head is not None else None
        doomed = [row for index, row in enumerate(newest_first)
                  if index >= keep and int(row["Version"]) != current
                  and _superseded_before(newest_first[index - 1] if index else None, superseded_before)
                  ][:limit]
        for first in range(0, len(doomed), 100):
            await self._backend.transact(RULES_TABLE, [
                TxOp(TxKind.DELETE, {"PartitionKey": PARTITION, "RowKey": row["RowKey"]})
                for row in doomed[first:first + 100]])
        return len(doomed)

    async def _seed_once(self) -> RuleSetVersion | None:
        rules = self._seed()
        if rules is None:
            return None
        saved = await self._append(rules, None, source="seed")
        if saved is not None:
            return saved
        # Someone else seeded or stored a set first: theirs is in force.
        head = await self.head()
        return await self.version(head.version) if head is not None else None

    async def _append(self, rules: RuleSet, head: Head | None, *, source: str,
                      actor: Actor | None = None) -> RuleSetVersion | None:
        """Insert the next version and move head atomically; None when another writer won."""
        number = head.version + 1 if head is not None else 1
        saved = RuleSetVersion(rules, number, version_etag(number, rules), self._clock(), source,
                               actor)
        head_entity: Entity = {
            "PartitionKey": PARTITION, "RowKey": HEAD_ROW, "Version": number, "Etag": saved.etag,
        }
        head_op = (
            TxOp(TxKind.INSERT, head_entity)
            if head is None
            else TxOp(TxKind.REPLACE, head_entity, head.table_etag)
        )
        try:
            await self._backend.transact(RULES_TABLE, [TxOp(TxKind.INSERT, _to_entity(saved)), head_op])
        except TransactionFailed:
            return None
        return saved


def _superseded_before(successor: Entity | None, cutoff: datetime | None) -> bool:
    """Whether the version stored after a row's (its successor; None: the row is the newest)
    came before `cutoff`. Rows written before versions kept SavedAt count as long ago."""
    if cutoff is None:
        return True
    if successor is None:
        return False
    saved_at = successor.get("SavedAt")
    return not saved_at or datetime.fromisoformat(str(saved_at)) < cutoff


def _to_entity(saved: RuleSetVersion) -> Entity:
    return {
        "PartitionKey": PARTITION,
        "RowKey": _version_row(saved.version),
        "Version": saved.version,
        "Etag": saved.etag,
        "SavedAt": saved.saved_at.isoformat() if saved.saved_at else "",
        "Source": saved.source,
        **pack_json("RuleSet", saved.rules.to_json()),
        # Only when known: a row without it (seed, or written before issue 25) reads as None.
        **({"SavedBy": json.dumps(saved.actor.to_json())} if saved.actor is not None else {}),
    }


def _from_entity(entity: Entity) -> RuleSetVersion:
    saved_at = entity.get("SavedAt")
    return RuleSetVersion(
        rules=parse_rule_set(unpack_json(entity, "RuleSet")),
        version=int(entity["Version"]),
        etag=str(entity["Etag"]),
        saved_at=datetime.fromisoformat(saved_at) if saved_at else None,
        source=str(entity.get("Source", "api")),
        actor=Actor.from_json(json.loads(entity["SavedBy"])) if entity.get("SavedBy") else None,
    )


class RuleSetCache:
    """The rule set for the IncomingCall path: served from memory, revalidated by ETag.

    Within `ttl_seconds` of the last check no table is read. After that the next caller reads
    `head` (a small point read) and, only when its ETag changed, the new version. Concurrent
    callers share one revalidation. A change made anywhere is in force here within the TTL;
    one made through this process's store is in force at once (`prime`).
    """

    def __init__(
        self,
        store: RuleStore,
        ttl_seconds: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._entry: RuleSetVersion | None = None
        self._checked_at = 0.0
        self.revalidations = 0  # how often the store was consulted (for tests and benchmarks)

    def _fresh(self) -> RuleSetVersion | None:
        if self._entry is not None and self._monotonic() - self._checked_at < self._ttl:
            return self._entry
        return None

    async def get(self) -> RuleSetVersion:
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self._lock:
            fresh = self._fresh()
            if fresh is not None:
                return fresh
            return await self._revalidate()

    async def _revalidate(self) -> RuleSetVersion:
        self.revalidations += 1
        started = self._monotonic()
        entry = self._entry
        head = await self._store.head()
        if entry is None or not _still_current(entry, head):
            entry = await self._store.current()
        self._entry, self._checked_at = entry, started
        return entry

    def prime(self, entry: RuleSetVersion) -> None:
        """Take a version just written by this process as current."""
        self._entry, self._checked_at = entry, self._monotonic()


def _still_current(entry: RuleSetVersion, head: Head | None) -> bool:
    if head is None:
        return entry.version == 0  # still nothing stored: the default stays in force
    return head.etag == entry.etag

