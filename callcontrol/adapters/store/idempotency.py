"""Idempotency-Key records: the first response to a key, replayed for 24 hours.

A request first claims its key with an insert-if-absent "in progress" row; the winner acts and
then stores its response; concurrent or later requests with the key get that response (or a 409
while it is still in progress). A failed action releases the key so the client can retry. A
key reused with a different request is refused instead of replaying the wrong response.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta

from callcontrol.adapters.store.backend import (
    ETAG,
    EntityExists,
    EtagMismatch,
    TableBackend,
    pack_json,
    unpack_json,
)
from callcontrol.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from callcontrol.domain.idempotency import IdempotencyState, KeyReservation, StoredResponse

IDEMPOTENCY_TABLE = "idempotency"
RETENTION = timedelta(hours=24)
STALE_IN_PROGRESS = timedelta(minutes=2)  # a crashed request must not block its key forever


def _partition(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, backend: TableBackend) -> None:
        self._backend = backend

    async def begin(self, key: str, fingerprint: str, now: datetime) -> KeyReservation | StoredResponse:
        """Claim `key`, or return the response already stored for it."""
        entity = {"PartitionKey": _partition(key), "RowKey": "key",
                  "State": IdempotencyState.IN_PROGRESS.value, "Fingerprint": fingerprint,
                  "CreatedAt": now.isoformat()}
        try:
            return KeyReservation(key, await self._backend.insert(IDEMPOTENCY_TABLE, entity))
        except EntityExists:
            pass
        found = await self._backend.get(IDEMPOTENCY_TABLE, _partition(key), "key")
        if found is None:  # released meanwhile: try once more
            return await self.begin(key, fingerprint, now)
        created = datetime.fromisoformat(found["CreatedAt"])
        stale = (found["State"] == IdempotencyState.IN_PROGRESS and now - created > STALE_IN_PROGRESS)
        if now - created > RETENTION or stale:
            try:
                etag = await self._backend.replace(IDEMPOTENCY_TABLE, entity, found[ETAG])
                return KeyReservation(key, etag)
            except EtagMismatch:
                raise Conflict("a request with this Idempotency-Key is in progress") from None
        if found["Fingerprint"] != fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was used for a different request",
                [FieldProblem("Idempotency-Key", "reused with a different method, path or body")],
            )
        if found["State"] == IdempotencyState.IN_PROGRESS:
            raise Conflict("a request with this Idempotency-Key is in progress; retry shortly")
        return StoredResponse(int(found["Status"]), unpack_json(found, "Body"),
                              unpack_json(found, "Headers"))

    async def complete(self, reservation: KeyReservation, fingerprint: str, now: datetime,
                       response: StoredResponse) -> None:
        """Store the response, unless another request took the key over (then it is theirs)."""
        entity = {
            "PartitionKey": _partition(reservation.key), "RowKey": "key",
            "State": IdempotencyState.DONE.value,
            "Fingerprint": fingerprint, "CreatedAt": now.isoformat(), "Status": response.status,
            **pack_json("Body", response.body), **pack_json("Headers", response.headers),
        }
        with contextlib.suppress(EtagMismatch):
            await self._backend.replace(IDEMPOTENCY_TABLE, entity, reservation.etag)

    async def release(self, reservation: KeyReservation) -> None:
        """Give the key back after a failure, unless another request already holds it."""
        with contextlib.suppress(EtagMismatch):
            await self._backend.delete(IDEMPOTENCY_TABLE, _partition(reservation.key), "key",
                                       reservation.etag)

    async def purge(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` keys older than the 24 h they are kept for; each delete is
        guarded by the ETag read, so a key reclaimed meanwhile stays. Returns how many went."""
        cutoff = (now - RETENTION).isoformat()
        expired = await self._backend.query(IDEMPOTENCY_TABLE, below={"CreatedAt": cutoff},
                                            select=["CreatedAt"], limit=limit)
        deleted = 0
        for entity in expired:
            with contextlib.suppress(EtagMismatch, NotFound):
                await self._backend.delete(IDEMPOTENCY_TABLE, entity["PartitionKey"],
                                           entity["RowKey"], entity[ETAG])
                deleted += 1
        return deleted
