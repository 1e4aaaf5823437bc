"""Announcing call changes and publishing the events the store keeps in each call's outbox
(docs/events.md).

The relay is the call store's `CallEventsOutbox` (usecases/ports.py): the store asks it which
events a change announces (`announce`) and writes them in the call's row with the change, then
tells it the call has events pending (`pending`); the relay publishes them from the store it is
attached to (`PendingEvents`).

    a write adds events to the call's outbox ─▶ pending(call) ─▶ the relay's one background task
    gathers the pending events of every call written meanwhile (LINGER), publishes them in
    batches, each call's events oldest first ─▶ marks them published ─▶ they leave the row with
    the call's next write, or with one settle write once the call is quiet (settle_after)

Only `announce` runs inside the write (pure, no I/O); publishing never runs on the call path:
`pending` only records the call and wakes the task, whose failures are logged, never raised. A
failed or slow publish (bounded by `deadline_seconds`) leaves the events pending and stops that
round; the next change of a call or the `outbox` timer (`sweep`) publishes them again, with
the same ids and in the same order: a batch is accepted whole or not at all, and a later batch
is only sent once the earlier ones were accepted. One relay per process; across processes a
duplicate is possible and subscribers de-duplicate by id (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.events.call_events import CallEvent, Cause, announce
from callcontrol.domain.models import CallRecord
from callcontrol.observability.context import bind_call
from callcontrol.usecases.ports import EventPublisher, PendingEvents

logger = logging.getLogger(__name__)
MAX_BATCH = 100  # events per publish
MAX_BATCH_CHARS = 800_000  # Event Grid takes at most 1 MB per publish
LINGER_SECONDS = 0.2  # how long changes gather before a publish (fewer, larger batches)


class PublishFailed(Exception):
    """The topic did not accept the batch (refused, failed, unreachable or too slow)."""


@dataclass(frozen=True)
class SweepResult:
    calls: int  # calls found with pending events
    published: int  # events the topic accepted
    failed_calls: int  # calls whose publish failed (still pending)
    busy_calls: int  # calls this process was publishing already


class OutboxRelay:
    """The call store's CallEventsOutbox: announces its changes, publishes what they left
    pending. Built first, given to the store, then `attach`ed to it."""

    def __init__(self, publisher: Callable[[], EventPublisher], *, clock: Clock = utc_now,
                 deadline_seconds: float = 5.0, settle_after_seconds: float = 1.0,
                 linger_seconds: float = LINGER_SECONDS) -> None:
        self._attached: PendingEvents | None = None
        self._publisher = publisher
        self._clock = clock
        self._deadline = deadline_seconds
        self._settle_after = settle_after_seconds
        self._linger = linger_seconds
        self._dirty: dict[str, None] = {}  # calls with new events, in the order they came
        self._in_flight: set[str] = set()  # calls being published right now
        self._unsettled: dict[str, float] = {}  # published calls → when to settle them
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    def attach(self, store: PendingEvents) -> None:
        """The store whose outboxes this relay publishes (the store it announces for)."""
        self._attached = store

    @property
    def _store(self) -> PendingEvents:
        if self._attached is None:
            raise RuntimeError("the outbox relay publishes from no store: attach() it first")
        return self._attached

    # --- during a write: what the change announces ----------------------------------------

    def announce(self, before: CallRecord | None, after: CallRecord, cause: Cause
                 ) -> list[CallEvent]:
        """The events the change announces (domain/events/call_events.py), stamped now."""
        return announce(before, after, cause, self._clock())

    # --- after a write: fire and forget ------------------------------------------------------

    def pending(self, call_connection_id: str) -> None:
        """The call has unpublished events: publish them soon, off the caller's path."""
        try:
            self._dirty[call_connection_id] = None
            # The write that called us dropped whatever was published: nothing left to settle.
            self._unsettled.pop(call_connection_id, None)
            if self._pump is None or self._pump.done():
                # A context of its own: not the ids of the invocation that happened to start it.
                self._pump = asyncio.get_running_loop().create_task(
                    self._run(), context=contextvars.Context())
            self._wake.set()
        except Exception:  # never let publishing break a write
            logger.exception("could not schedule publishing for call %s", call_connection_id)

    async def _run(self) -> None:
        try:
            while self._dirty or self._unsettled:
                if self._dirty:
                    await asyncio.sleep(self._linger)  # let more changes join this publish
                    ready = [c for c in self._dirty if c not in self._in_flight]
                    self._dirty = {c: None for c in self._dirty if c in self._in_flight}
                    if ready:
                        await self._publish(ready, fresh=False)
                    continue
                await self._settle_due()
        except Exception:
            logger.exception("the outbox relay stopped; pending events wait for the next change "
                             "or the outbox timer")

    async def _settle_due(self) -> None:
        """Wait for the first settle to fall due (or a new change), then write the quiet calls."""
        wait = min(self._unsettled.values()) - time.monotonic()
        if wait > 0:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            return
        now = time.monotonic()
        for call_connection_id in [c for c, due in self._unsettled.items() if due <= now]:
            del self._unsettled[call_connection_id]
            await self._settle(call_connection_id)

    async def _settle(self, call_connection_id: str) -> None:
        with bind_call(call_connection_id=call_connection_id):
            try:
                await self._store.settle(call_connection_id)
            except Exception:  # the published events just stay in the row a little longer
                logger.exception("settling the outbox of call %s failed", call_connection_id)

    # --- publishing -----------------------------------------------------------------------

    async def _publish(self, calls: list[str], *, fresh: bool) -> tuple[set[str], int]:
        """Publish the pending events of `calls` in batches; (calls fully published, count).

        Stops at the first failed batch: what it and later batches held stays pending."""
        self._in_flight.update(calls)
        sent: dict[str, set[str]] = {}
        unsent: set[str] = set()
        try:
            queued: list[tuple[str, CallEvent]] = []
            for call_connection_id in calls:
                events = await self._store.pending_events(call_connection_id, fresh=fresh)
                queued += [(call_connection_id, e) for e in events]
            batches = _batches(queued)
            for index, batch in enumerate(batches):
                if not await self._send(batch):
                    unsent = {c for later in batches[index:] for c, _ in later}
                    break
                for call_connection_id, event in batch:
                    sent.setdefault(call_connection_id, set()).add(event.id)
        finally:
            self._in_flight.difference_update(calls)
            for call_connection_id, ids in sent.items():
                self._store.mark_published(call_connection_id, ids)
                if call_connection_id not in self._dirty:
                    self._unsettled.setdefault(call_connection_id,
                                               time.monotonic() + self._settle_after)
        return set(calls) - unsent, sum(len(ids) for ids in sent.values())

    async def _send(self, batch: list[tuple[str, CallEvent]]) -> bool:
        try:
            async with asyncio.timeout(self._deadline):  # unlike wait_for, never eats a cancel
                await self._publisher().publish([e for _, e in batch])
        except (PublishFailed, TimeoutError) as error:
            reason = str(error) or type(error).__name__
            for call_connection_id in sorted({c for c, _ in batch}):  # one record per call, its ids
                with bind_call(call_connection_id=call_connection_id):
                    logger.warning("publishing the events of call %s failed (%s); they stay pending",
                                   call_connection_id, reason)
            return False
        return True

    # --- the timer ------------------------------------------------------------------------

    async def sweep(self) -> SweepResult:
        """Publish every call's pending events (read fresh from the table), then settle them."""
        calls = await self._store.calls_with_pending_events()
        busy = [c for c in calls if c in self._in_flight]
        ready = [c for c in calls if c not in self._in_flight]
        published: set[str] = set()
        count = 0
        if ready:
            published, count = await self._publish(ready, fresh=True)
            for call_connection_id in published:
                self._unsettled.pop(call_connection_id, None)
                await self._settle(call_connection_id)
        return SweepResult(len(calls), count, len(ready) - len(published), len(busy))

    async def close(self) -> None:
        """Stop the background publishing (shutdown): what is unpublished stays pending."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until everything notified so far was published or failed, and settled
        (tests, benchmarks)."""
        while self._pump is not None and not self._pump.done():
            await asyncio.gather(self._pump, return_exceptions=True)


def _batches(queued: list[tuple[str, CallEvent]]) -> list[list[tuple[str, CallEvent]]]:
    """Consecutive slices within Event Grid's limits; order kept, so a call's events stay in order."""
    batches: list[list[tuple[str, CallEvent]]] = []
    current: list[tuple[str, CallEvent]] = []
    chars = 0
    for item in queued:
        size = len(json.dumps(item[1].data, default=str)) + 512
        if current and (len(current) >= MAX_BATCH or chars + size > MAX_BATCH_CHARS):
            batches.append(current)
            current, chars = [], 0
        current.append(item)
        chars += size
    if current:
        batches.append(current)
    return batches
