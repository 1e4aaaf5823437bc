"""Claims on IncomingCall offers: the states a claim goes through and what a reader gets.

Pure values; the claim store (adapters/store/claims.py) persists them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from callcontrol.domain.flows.events import AskReply
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
    # What the asks before the answer replied, in order: a redelivery in another process
    # derives the flow's run again from them, without asking again (flow_start.restarted_flow).
    asked: tuple[AskReply, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A claim as read: its state, its holder and lease, and what was decided (once decided).

    A holder gives its claim up when the write taking it gets no answer by `write_by` (its
    storage deadline): that write may still land later, after the holder failed the delivery
    and while a redelivery is on its way. `written_at` (the store's time of the write) says
    whether it did: a claim written after its `write_by` is an orphan, held by no one.
    """

    key: str
    status: ClaimStatus
    owner: str
    lease_until: datetime
    claimed_at: datetime
    etag: str
    outcome: ClaimOutcome | None = None
    server_call_id: str | None = None
    taken_over: bool = False
    write_by: datetime | None = None  # None: a row of an earlier release, or a store that
    written_at: datetime | None = None  # cannot say when a write landed (never an orphan)

    def expired(self, now: datetime) -> bool:
        return now - self.claimed_at >= RETENTION

    @property
    def orphaned(self) -> bool:
        """Claimed by a write that landed after its holder had given it up."""
        return (self.status is ClaimStatus.CLAIMED and self.write_by is not None
                and self.written_at is not None and self.written_at > self.write_by)

    def lease_active(self, now: datetime) -> bool:
        return self.status is ClaimStatus.CLAIMED and not self.orphaned and now < self.lease_until


@dataclass(frozen=True)
class Acquired:
    claim: Claim


@dataclass(frozen=True)
class Held:
    """Someone else holds (or finished) the claim."""

    claim: Claim
