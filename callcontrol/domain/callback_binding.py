"""Binding callbacks to their call: a per-call secret in the callback URI, and token ids used once.

The JWT on a callback proves ACS sent it, not which call it is about: any token captured in its
five minutes would otherwise speak for every call. So each call the app creates or answers gets
its own callback URI carrying a random secret (`?callSecret=<64 hex>`, as the ACS how-to on
securing webhooks suggests alongside the JWT). The call's record keeps only the secret's SHA-256;
a callback about the call must present the secret, compared in constant time. A record without
one (a call created before this existed) keeps working until it ends.

Token ids (`jti`) are remembered once per deployment, not per call: see callback_tokens.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from callcontrol.domain.errors import Unauthenticated

SECRET_PARAMETER = "callSecret"


def new_callback_secret() -> str:
    # Hex, so the log redaction of long opaque strings always recognises it.
    return secrets.token_hex(32)


def offer_callback_secret(incoming_call_context: str) -> str:
    """The secret for an inbound call's callback URI, the same for every delivery of the offer:
    a retried answer reaches ACS with the Repeatability-Request-ID of the first, and ACS keeps
    the first's callback URI, so the secret must not change between attempts. It is derived from
    the offer's incomingCallContext, which only ACS and this app hold (callbacks never carry it).
    """
    return hmac.new(incoming_call_context.encode("utf-8", "surrogatepass"),
                    b"callback-secret", hashlib.sha256).hexdigest()


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def callback_uri(base_uri: str, secret: str) -> str:
    separator = "&" if "?" in base_uri else "?"
    return f"{base_uri}{separator}{urlencode({SECRET_PARAMETER: secret})}"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class CallbackCredentials:
    """What one callback request presents beyond its (already verified) JWT."""

    secret: str | None  # from the callback URI's query; None on the bare sink URI
    token_id: str | None  # the JWT's jti, when it has one
    token_expires_at: datetime | None
    body_digest: str


@dataclass(frozen=True)
class CallbackBinding:
    """What a call's record keeps to check its callbacks."""

    secret_sha256: str | None = None

    @classmethod
    def for_secret(cls, secret: str) -> CallbackBinding:
        return cls(secret_sha256=secret_digest(secret))

    def with_digest(self, digest: str | None) -> CallbackBinding:
        """The create/answer records the secret it sent. A digest already there came with the
        call's own first callbacks (through the URI ACS really uses), so it stays."""
        if digest is None or self.secret_sha256 is not None:
            return self
        return replace(self, secret_sha256=digest)

    def admit(self, credentials: CallbackCredentials) -> None:
        """Check that the request may speak for this call.

        Raises:
            Unauthenticated: the call has a secret and the request does not present it.
        """
        if self.secret_sha256 is not None:
            presented = secret_digest(credentials.secret or "")
            if not hmac.compare_digest(presented, self.secret_sha256):
                raise Unauthenticated("the callback URI does not belong to this call")

    def pinned(self, credentials: CallbackCredentials) -> CallbackBinding:
        """A call first seen through a callback (it overtook the create/answer response): the
        secret it presents is the call's until the create/answer records its own."""
        if self.secret_sha256 is not None or credentials.secret is None:
            return self
        return replace(self, secret_sha256=secret_digest(credentials.secret))
