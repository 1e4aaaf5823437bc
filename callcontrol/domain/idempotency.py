"""Idempotency-Key records: their states, the response a replay repeats, and a request's hold.

Pure values; the idempotency store (adapters/store/idempotency.py) persists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IdempotencyState(StrEnum):
    """The values are what the rows keep."""

    IN_PROGRESS = "in-progress"  # a request holds the key and is acting
    DONE = "done"  # the first response is stored and replayed


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    headers: dict[str, str]  # what a replay must repeat (Content-Type, Location, ETag…)


@dataclass(frozen=True)
class KeyReservation:
    """This request's hold on a key; finishing or releasing it is conditional on the hold."""

    key: str
    etag: str
