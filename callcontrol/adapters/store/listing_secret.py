"""The listing's secret at work: continuation tokens signed, phone numbers hashed with a key.

One secret (settings.listing_key) gives two keys, one per use, so a token's signature can never
stand for a number's hash or the other way round. A store built without a secret (tests, tools
that never page) gets one made for the process: its tokens and hashes hold only there. A
deployment with no secret to derive one from keeps one in the store (ListingKeys).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import secrets
from typing import Final

from callcontrol.adapters.store.backend import EntityExists, TableBackend
from callcontrol.domain.errors import StoreError

_SIGNATURE_BYTES: Final = 16  # 128 bits: forging one is out of reach
_NUMBER_DIGEST_BYTES: Final = 16


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ListingSecret:
    def __init__(self, secret: bytes) -> None:
        self._token_key = hmac.new(secret, b"continuation-token", hashlib.sha256).digest()
        self._number_key = hmac.new(secret, b"number-index", hashlib.sha256).digest()

    def sign(self, text: str) -> str:
        mac = hmac.new(self._token_key, text.encode(), hashlib.sha256).digest()
        return b64(mac[:_SIGNATURE_BYTES])

    def signed(self, text: str, signature: str) -> bool:
        # Tokens are base64url, ASCII only; compare_digest refuses non-ASCII strings (a 500).
        if not (text.isascii() and signature.isascii()):
            return False
        return hmac.compare_digest(self.sign(text), signature)

    def number_digest(self, number: str) -> str:
        """What the index keeps of a phone number: a keyed hash, never the number."""
        mac = hmac.new(self._number_key, number.encode(), hashlib.sha256).digest()
        return mac[:_NUMBER_DIGEST_BYTES].hex()


PROCESS_SECRET: Final = ListingSecret(secrets.token_bytes(32))


# Where a deployment without a secret keeps the one it made (see ListingKeys).
_KEPT_TABLE: Final = "callindex"
_KEPT_ROW: Final = ("keys", "listing")


class ListingKeys:
    """Where the listing's secret comes from: given (LISTING_KEY, one derived from the storage
    account key, or the process's own), or, where the deployment has no secret at all
    (identity-based storage without LISTING_KEY), made once and kept in the store: inserted only
    if absent, so every instance reads the same one. Kept there it guards the keys and logs
    (storage logs name row keys), not against a reader of the table itself: LISTING_KEY does."""

    def __init__(self, given: ListingSecret | None = None, *,
                 backend: TableBackend | None = None) -> None:
        assert given is not None or backend is not None
        self._secret = given
        self._backend = backend
        self._lock = asyncio.Lock()

    async def secret(self) -> ListingSecret:
        if self._secret is None:
            async with self._lock:
                if self._secret is None:
                    self._secret = ListingSecret(await self._kept())
        return self._secret

    async def _kept(self) -> bytes:
        assert self._backend is not None
        partition, row = _KEPT_ROW
        found = await self._backend.get(_KEPT_TABLE, partition, row)
        if found is None:
            made = b64(secrets.token_bytes(32))
            with contextlib.suppress(EntityExists):  # another instance made it first: theirs
                await self._backend.insert(_KEPT_TABLE, {"PartitionKey": partition,
                                                         "RowKey": row, "Secret": made})
            found = await self._backend.get(_KEPT_TABLE, partition, row)
        if found is None or not isinstance(found.get("Secret"), str):
            raise StoreError("the listing's kept secret could not be read")
        text = str(found["Secret"])
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


PROCESS_KEYS: Final = ListingKeys(PROCESS_SECRET)
