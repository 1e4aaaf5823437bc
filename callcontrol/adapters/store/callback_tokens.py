"""The replay store: each callback token id (`jti`) used once per deployment, whatever the call.

One row per token id in its own table, `callbacktokens`: PartitionKey and RowKey both the SHA-256
of the id (any string a token carries becomes a short, safe key; ids spread over partitions; and
a table service that looks rows up by RowKey first, as Azurite does, finds one row, not all).
The row holds the digest of the body the token first came with, the digest of the calls that
body named, and `ExpiresAt`: the token's `exp` plus the verifier's leeway, after which the token
is refused anyway and the row can go (retention purges it).

The first use inserts the row (insert-if-absent: of two racing requests exactly one wins). A
request that finds the row is ACS redelivering when it carries the same body about the same
calls, and a replay otherwise (401). A row past its expiry that is still there (retention has
not run yet) no longer counts: a new use takes it over, guarded by its ETag.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import UTC, datetime
from typing import Final

from callcontrol.adapters.store.backend import ETAG, Entity, EntityExists, EtagMismatch, TableBackend
from callcontrol.domain.callback_tokens import TokenUse
from callcontrol.domain.errors import NotFound, Unauthenticated

TOKENS_TABLE: Final = "callbacktokens"


def _key(token_id: str) -> str:
    return hashlib.sha256(token_id.encode("utf-8", "surrogatepass")).hexdigest()


def _stamp(when: datetime) -> str:
    # Fixed width, UTC: the purge compares these as strings.
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _entity(use: TokenUse, now: datetime) -> Entity:
    key = _key(use.token_id)
    return {"PartitionKey": key, "RowKey": key,
            "BodySha256": use.body_digest, "CallsSha256": use.calls_digest,
            "ExpiresAt": _stamp(use.remember_until), "UsedAt": _stamp(now)}


class CallbackTokenStore:
    def __init__(self, backend: TableBackend) -> None:
        self._backend = backend

    async def admit(self, use: TokenUse, now: datetime) -> None:
        """Record the token's first use, or let the same delivery through again.

        Raises:
            Unauthenticated: the token was already used for another body or other calls.
        """
        entity = _entity(use, now)
        for _ in range(2):  # a second pass only after an expired row was taken or went
            try:
                await self._backend.insert(TOKENS_TABLE, entity)
                return
            except EntityExists:
                pass
            found = await self._backend.get(TOKENS_TABLE, entity["PartitionKey"], entity["RowKey"])
            if found is None:  # purged meanwhile: insert again
                continue
            if str(found.get("ExpiresAt", "")) <= _stamp(now):
                with contextlib.suppress(EtagMismatch):
                    await self._backend.replace(TOKENS_TABLE, entity, found[ETAG])
                    return
                continue
            earlier = TokenUse(use.token_id, str(found.get("BodySha256", "")),
                               str(found.get("CallsSha256", "")), use.remember_until)
            if use.repeats(earlier):
                return
            raise Unauthenticated("the token was already used for another callback")
        raise Unauthenticated("the token is being used by another callback at the same time")

    async def purge(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` rows of tokens that can no longer be accepted; each delete is
        guarded by the ETag read, so a row taken over meanwhile stays. Returns how many went."""
        expired = await self._backend.query(TOKENS_TABLE, below={"ExpiresAt": _stamp(now)},
                                            select=["ExpiresAt"], limit=limit)
        deleted = 0
        for entity in expired:
            with contextlib.suppress(EtagMismatch, NotFound):
                await self._backend.delete(TOKENS_TABLE, entity["PartitionKey"],
                                           entity["RowKey"], entity[ETAG])
                deleted += 1
        return deleted
