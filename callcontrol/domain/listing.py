"""Listing calls a page at a time: the query, the page, and the limits. Pure.

A page is newest first; the continuation token is opaque (the store makes and reads it) and
belongs to the filters it was issued for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.models import CallRecord, CallState, Direction

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
TOKEN_FIELD: Final = "continuationToken"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CallQuery:
    """One page of calls: newest first, filtered, after a continuation token."""

    limit: int = DEFAULT_LIMIT
    state: CallState | None = None
    direction: Direction | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    continuation: str | None = None
    number: str | None = None  # an E.164 number: the call's caller or one of its callees

    @property
    def live_only(self) -> bool:
        """Filtered by a state a call has before it ends: the small index of open calls will do."""
        return self.state is not None and not self.state.is_final

    def filters_text(self) -> str:
        """The filters a continuation token belongs to; the number in it is raw, so a token
        carries only a keyed digest of this (the store's)."""
        return json.dumps([self.state, self.direction, _iso(self.since), _iso(self.until),
                           *([self.number] if self.number is not None else [])])

    def filters_digest(self) -> str:
        return hashlib.sha256(self.filters_text().encode()).hexdigest()[:12]

    def matches(self, record: CallRecord) -> bool:
        return ((self.state is None or record.state is self.state)
                and (self.direction is None or record.direction is self.direction)
                and (self.number is None or self.number in phone_numbers(record)))


@dataclass(frozen=True)
class CallPage:
    records: tuple[CallRecord, ...]
    continuation: str | None  # absent on the last page


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        reason = f"must be between 1 and {MAX_LIMIT}"
        raise InvalidInput(f"limit {reason}", [FieldProblem("limit", reason)])
    return limit


def bad_token(reason: str) -> InvalidInput:
    return InvalidInput(f"{TOKEN_FIELD} {reason}", [FieldProblem(TOKEN_FIELD, reason)])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class IndexedCall:
    """A call as an index row names it: where the row sits (an opaque position, in the index's
    order) and when the call was created. The record stays the truth: a row counts only when
    `names` its record."""

    position: str
    call_connection_id: str
    created_at: datetime

    def names(self, record: CallRecord | None) -> bool:
        """Whether the row stands for this record (and not for a lost concurrent creation)."""
        return (record is not None and record.call_connection_id == self.call_connection_id
                and listed_time(record) == self.created_at)


def phone_numbers(record: CallRecord) -> frozenset[str]:
    """The E.164 numbers a call is found by: its caller and its callees (inbound: from and to;
    outbound: the numbers it called), which a call keeps for good, unlike its roster."""
    identities = [record.source, *record.targets]
    return frozenset(i.value for i in identities if i is not None and i.is_phone)


def listed_time(record: CallRecord) -> datetime:
    """The time a call is listed under: its creation (a record always has one in practice)."""
    return record.created_at or record.updated_at or _EPOCH
