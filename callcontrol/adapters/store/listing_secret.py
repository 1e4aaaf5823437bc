"""The listing's secret at work: continuation tokens signed, phone numbers hashed with a key.

One secret (settings.listing_key) gives two keys, one per use, so a token's signature can never
stand for a number's hash or the other way round. A store built without a secret (tests, tools
that never page) gets one made for the process: its tokens and hashes hold only there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

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
        return hmac.compare_digest(self.sign(text), signature)

    def number_digest(self, number: str) -> str:
        """What the index keeps of a phone number: a keyed hash, never the number."""
        mac = hmac.new(self._number_key, number.encode(), hashlib.sha256).digest()
        return mac[:_NUMBER_DIGEST_BYTES].hex()


PROCESS_SECRET: Final = ListingSecret(secrets.token_bytes(32))
