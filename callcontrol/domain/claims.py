"""Claims on IncomingCall offers: the states a claim goes through and what a reader gets.

Pure values; the claim store (adapters/store/claims.py) persists them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from callcontrol.domain.models import CallState, InboundDecision

RETENTION: Final = timedelta(hours=24)


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    DECIDED = "decided"
    RECORDED = "recorded"


def claim_key(incoming_call_context: str) -> str:
    """The offer's key: a digest of its context (about 8 KB live, far too long for a key)."""
    return hashlib.sha256(incoming_call_context.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class ClaimOutcome:
    """What a decided claim keeps: enough to write the call record again on a redelivery."""

    decision: InboundDecision
    record_id: str  # the callConnectionId, or a derived id when the call was not answered
    acs_state: CallState | None = None  # ACS's state of an answered call
    acs_server_call_id: str | None = None
    acs_correlation_id: str | None = None
    callback_secret_sha256: str | None = None  # of the answered call's callback URI secret


@dataclass(frozen=True)
class Claim:
    """A claim as read: its state, the owner's lease and what was decided (once decided)."""

    key: str
    status: ClaimStatus
    owner: str
    lease_until: datetime
    claimed_at: datetime
    etag: str
    outcome: ClaimOutcome | None = None
    server_call_id: str | None = None
    taken_over: bool = False

    def expired(self, now: datetime) -> bool:
        return now - self.claimed_at >= RETENTION

    def lease_active(self, now: datetime) -> bool:
        return self.status is ClaimStatus.CLAIMED and now < self.lease_until


@dataclass(frozen=True)
class Acquired:
    claim: Claim


@dataclass(frozen=True)
class Held:
    """Someone else holds (or finished) the claim."""

    claim: Claim
