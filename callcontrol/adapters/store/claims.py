"""Exactly-once handling of IncomingCall: one claim row per call offer, and redirect hop rows.

A claim is keyed by the offer (a digest of its incomingCallContext: identical in every Event
Grid redelivery and in every copy that reaches another instance, new for each redirect hop even
when ACS keeps the serverCallId). Its life:

    claimed (leased) ──action done──▶ decided ──call record written──▶ recorded
        │  └─ lease ran out (owner died) ─▶ taken over by the next delivery
        ├─ transient failure ─▶ released (row deleted) so the redelivery retries
        └─ written after its holder gave it up (an orphan) ─▶ taken over at once

A claim's write carries `WriteBy`, the instant its holder stops waiting for it (now + the
storage deadline, by the wall clock). A write that got no answer by then is given up: the
delivery fails and takes no action. If the write still lands later (storage stalled, then
recovered), the row's ETag, which the service makes from the time of the write, says it landed
after `WriteBy`: the claim is an orphan and the next delivery takes it over instead of waiting
for its lease. The holder applies the same rule to its own write's answer, so the two agree.

`decided` keeps the decision, so a delivery that finds it only writes the missing call record;
no state ever leads to acting twice. Claims count for `retention` (24 h, Event Grid's longest
retry window); after that a row is treated as absent.

Hop rows live in one partition per original call (the loop key), one row per redirected offer,
so counting redirects is idempotent under redelivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from callcontrol.adapters.store.backend import (
    ETAG,
    STORAGE_DEADLINE_SECONDS,
    Entity,
    EntityExists,
    EtagMismatch,
    TableBackend,
    pack_json,
    safe_key,
    unpack_json,
    written_at,
)
from callcontrol.adapters.store.codec import decode_claim_outcome, encode_claim_outcome
from callcontrol.domain.claims import RETENTION, Acquired, Claim, ClaimOutcome, ClaimStatus, Held
from callcontrol.domain.clock import utc_now
from callcontrol.domain.errors import NotFound, StoreError

logger = logging.getLogger(__name__)
CLAIMS_TABLE: Final = "claims"
CLAIM_ROW: Final = "claim"
HOP_PARTITION_PREFIX: Final = "hops|"
_MAX_ATTEMPTS: Final = 5


class ClaimStore:
    def __init__(self, backend: TableBackend, *,
                 write_within: timedelta = timedelta(seconds=STORAGE_DEADLINE_SECONDS),
                 wall_clock: Callable[[], datetime] = utc_now) -> None:
        self._backend = backend
        # How long a claim's writer waits for its write (the backend's deadline), by the wall
        # clock the store's own write times are compared with (not the use case's clock).
        self._write_within = write_within
        self._wall_clock = wall_clock

    async def acquire(self, key: str, *, owner: str, now: datetime, lease: timedelta,
                      server_call_id: str | None = None) -> Acquired | Held:
        """Insert-if-absent; take over a claim whose lease or retention ran out.

        Returns Acquired (this owner may act) or Held (another owner holds or finished it).
        """
        def fresh() -> Entity:  # each write its own deadline
            return _claim_entity(key, owner=owner, now=now, lease=lease,
                                 server_call_id=server_call_id,
                                 write_by=self._wall_clock() + self._write_within)

        for _ in range(_MAX_ATTEMPTS):
            try:
                entity = fresh()
                mine = _from_entity({**entity, ETAG: await self._backend.insert(CLAIMS_TABLE, entity)})
                if not mine.orphaned:
                    return Acquired(mine)
                _landed_late(mine)  # not ours after all: the next attempt takes the orphan over
            except EntityExists:
                pass
            existing = await self.get(key)
            if existing is None:
                continue  # released meanwhile: try the insert again
            if not (existing.expired(now) or _abandoned(existing, now)):
                return Held(existing)
            if existing.orphaned:
                logger.warning("claim %s: written %s after its holder gave it up; taking it over",
                               key[:12], existing.written_at)
            try:
                entity = fresh()
                etag = await self._backend.replace(CLAIMS_TABLE, entity, existing.etag)
            except EtagMismatch:
                continue
            mine = _from_entity({**entity, ETAG: etag}, taken_over=True)
            if not mine.orphaned:
                return Acquired(mine)
            _landed_late(mine)
        raise StoreError(f"claim {key} is contended: gave up after {_MAX_ATTEMPTS} attempts")

    async def get(self, key: str) -> Claim | None:
        entity = await self._backend.get(CLAIMS_TABLE, key, CLAIM_ROW)
        return _from_entity(entity) if entity is not None else None

    async def mark(self, claim: Claim, status: ClaimStatus, outcome: ClaimOutcome) -> Claim:
        """Move our claim on (decided / recorded), guarded by its ETag.

        Raises:
            EtagMismatch: the claim is no longer ours (taken over after our lease ran out).
        """
        entity = {
            **_claim_entity(claim.key, owner=claim.owner, now=claim.claimed_at,
                            lease=claim.lease_until - claim.claimed_at,
                            server_call_id=claim.server_call_id, write_by=claim.write_by),
            "Status": status.value,
            **pack_json("Outcome", encode_claim_outcome(outcome)),
        }
        etag = await self._backend.replace(CLAIMS_TABLE, entity, claim.etag)
        return _from_entity({**entity, ETAG: etag})

    async def release(self, claim: Claim) -> None:
        """Give the claim back so a redelivery retries; a claim no longer ours is left alone."""
        try:
            await self._backend.delete(CLAIMS_TABLE, claim.key, CLAIM_ROW, claim.etag)
        except (EtagMismatch, NotFound):
            return

    # --- redirect hops --------------------------------------------------------------------

    async def hops_before(self, loop_key: str, key: str, now: datetime) -> int:
        """Redirects of the same original call by other offers, within the retention window."""
        rows = await self._backend.query(CLAIMS_TABLE, partition=_hop_partition(loop_key))
        return sum(
            1 for row in rows
            if row["RowKey"] != key and now - datetime.fromisoformat(row["At"]) < RETENTION
        )

    async def record_hop(self, loop_key: str, key: str, now: datetime) -> None:
        entity = {"PartitionKey": _hop_partition(loop_key), "RowKey": key, "At": now.isoformat()}
        try:
            await self._backend.insert(CLAIMS_TABLE, entity)
        except EntityExists:
            return  # a redelivery of the same offer: already counted

    async def forget_hop(self, loop_key: str, key: str) -> None:
        try:
            await self._backend.delete(CLAIMS_TABLE, _hop_partition(loop_key), key)
        except (EtagMismatch, NotFound):
            return


    async def purge(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` claims and hop rows past their retention (guarded by the ETag
        read: a claim taken over meanwhile stays). Returns how many went."""
        cutoff = (now - RETENTION).isoformat()
        claims = await self._backend.query(CLAIMS_TABLE, equals={"RowKey": CLAIM_ROW},
                                           below={"ClaimedAt": cutoff}, select=["ClaimedAt"],
                                           limit=limit)
        hops = await self._backend.query(CLAIMS_TABLE, below={"At": cutoff}, select=["At"],
                                         limit=max(0, limit - len(claims)))
        deleted = 0
        for entity in [*claims, *hops]:
            try:
                await self._backend.delete(CLAIMS_TABLE, entity["PartitionKey"], entity["RowKey"],
                                           entity[ETAG])
            except (EtagMismatch, NotFound):
                continue
            deleted += 1
        return deleted


def _abandoned(claim: Claim, now: datetime) -> bool:
    """Claimed, and the owner's lease ran out (it died or hung before finishing), or its write
    landed after the owner had given it up (an orphan)."""
    return claim.status is ClaimStatus.CLAIMED and not claim.lease_active(now)


def _landed_late(claim: Claim) -> None:
    # Only a write answered after its deadline, or a clock far from the store's, gets here.
    logger.warning("claim %s: our own write landed at %s, after its deadline %s; not ours",
                   claim.key[:12], claim.written_at, claim.write_by)


def _hop_partition(loop_key: str) -> str:
    return safe_key(HOP_PARTITION_PREFIX + loop_key)


def _claim_entity(key: str, *, owner: str, now: datetime, lease: timedelta,
                  server_call_id: str | None, write_by: datetime | None) -> Entity:
    entity: Entity = {
        "PartitionKey": key,
        "RowKey": CLAIM_ROW,
        "Status": ClaimStatus.CLAIMED.value,
        "Owner": owner,
        "ClaimedAt": now.isoformat(),
        "LeaseUntil": (now + lease).isoformat(),
    }
    if server_call_id:
        entity["ServerCallId"] = server_call_id
    if write_by is not None:
        entity["WriteBy"] = write_by.isoformat()
    return entity


def _from_entity(entity: Entity, *, taken_over: bool = False) -> Claim:
    outcome = decode_claim_outcome(unpack_json(entity, "Outcome")) if "Outcome" in entity else None
    return Claim(
        key=str(entity["PartitionKey"]),
        status=ClaimStatus(entity["Status"]),
        owner=str(entity["Owner"]),
        lease_until=datetime.fromisoformat(entity["LeaseUntil"]),
        claimed_at=datetime.fromisoformat(entity["ClaimedAt"]),
        etag=str(entity[ETAG]),
        outcome=outcome,
        server_call_id=entity.get("ServerCallId"),
        taken_over=taken_over,
        write_by=datetime.fromisoformat(entity["WriteBy"]) if "WriteBy" in entity else None,
        written_at=written_at(str(entity[ETAG])),
    )
