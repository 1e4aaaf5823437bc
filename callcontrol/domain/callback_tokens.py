"""Callback token ids (`jti`) used once per deployment, whatever the call.

A token captured in its five minutes must not speak again, on this call or any other: the first
request that presents a token id records what it was used for (the body's digest and the calls
the body names) until the token can no longer be accepted. The same token again with the same
body about the same calls is ACS redelivering (acknowledged: its events are duplicates); with
anything else it is a replay, and refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from callcontrol.domain.callback_binding import CallbackCredentials

# The verifier accepts a token this long past its `exp` (clock skew); it is remembered as long.
TOKEN_LEEWAY = timedelta(seconds=30)
# A token without `exp` is refused by the verifier; this only bounds the memory if one got by.
DEFAULT_TOKEN_LIFETIME = timedelta(minutes=5)


def calls_digest(call_ids: Iterable[str]) -> str:
    """One digest for the set of calls a request names (a batch may name several)."""
    joined = "\n".join(sorted(set(call_ids)))
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenUse:
    """One use of a token id: what it was used for, and until when a replay must be refused."""

    token_id: str
    body_digest: str
    calls_digest: str
    remember_until: datetime

    def repeats(self, earlier: TokenUse) -> bool:
        """Whether this is the same delivery as `earlier` (ACS retrying it), not a replay."""
        return (self.token_id == earlier.token_id
                and hmac.compare_digest(self.body_digest, earlier.body_digest)
                and hmac.compare_digest(self.calls_digest, earlier.calls_digest))


def token_use(credentials: CallbackCredentials, call_ids: Iterable[str],
              now: datetime) -> TokenUse | None:
    """The use a request makes of its token, or None when the token carries no id."""
    if credentials.token_id is None:
        return None
    expires = credentials.token_expires_at or now + DEFAULT_TOKEN_LIFETIME
    return TokenUse(credentials.token_id, credentials.body_digest, calls_digest(call_ids),
                    expires + TOKEN_LEEWAY)
