"""Repeatability-Request-ID: a repeated id gets the stored first response and acts once."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


class RepeatabilityStore:
    def __init__(self) -> None:
        self._entries: OrderedDict[str, asyncio.Future[StoredResponse | None]] = OrderedDict()

    def clear(self) -> None:
        self._entries.clear()

    def claim(self, request_id: str) -> asyncio.Future[StoredResponse | None] | None:
        """None when this id is new (the caller must then `complete` it); else the first's future."""
        existing = self._entries.get(request_id)
        if existing is not None:
            return existing
        self._entries[request_id] = asyncio.get_running_loop().create_future()
        while len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)
        return None

    def complete(self, request_id: str, response: StoredResponse | None) -> None:
        """Store the first response; None (a failure not worth replaying) frees the id."""
        future = self._entries.get(request_id)
        if future is None:
            return
        if response is None:
            del self._entries[request_id]
        if not future.done():
            future.set_result(response)
