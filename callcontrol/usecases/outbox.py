"""Publishing the call events the store keeps in each call's outbox (docs/events.md).

    a write adds events to the call's outbox ─▶ notify(call) ─▶ a background task publishes the
    call's pending events, oldest first, in one batch ─▶ mark them published ─▶ they leave the
    row with the call's next write, or with one settle write once the call is quiet

Nothing here runs on the call path: `notify` only schedules a task, and the task's failures
are logged, never raised. A failed or slow publish (bounded by `deadline_seconds`) leaves the
events pending; the next change of the call or the `outbox` timer (`sweep`) publishes them
again, with the same ids and in the same order: a call's events go out only after every
earlier one was accepted. One relay per process publishes one call at a time; across
processes, a duplicate is possible and subscribers de-duplicate by id (at least once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from callcontrol.domain.announcements import CallEvent

logger = logging.getLogger(__name__)
MAX_BATCH = 100  # events per publish (Event Grid takes up to 1 MB per batch)


class PublishFailed(Exception):
    """The topic did not accept the batch (refused, failed, unreachable or too slow)."""


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[CallEvent]) -> None:
        """Send the events as one batch; raise PublishFailed unless the topic accepted them all."""
        ...


class PendingEvents(Protocol):
    """The call store's outbox side."""

    async def pending_events(self, call_connection_id: str, *, fresh: bool = False
                             ) -> list[CallEvent]: ...

    def mark_published(self, call_connection_id: str, event_ids: set[str]) -> None: ...

    async def settle(self, call_connection_id: str) -> bool: ...

    async def calls_with_pending_events(self) -> list[str]: ...


@dataclass(frozen=True)
class SweepResult:
    calls: int  # calls found with pending events
    published: int  # events the topic accepted
    failed_calls: int  # calls whose publish failed (still pending)
    busy_calls: int  # calls this process was publishing already


class OutboxRelay:
    def __init__(self, store: PendingEvents, publisher: Callable[[], EventPublisher], *,
                 deadline_seconds: float = 5.0, settle_after_seconds: float = 1.0) -> None:
        self._store = store
        self._publisher = publisher
        self._deadline = deadline_seconds
        self._settle_after = settle_after_seconds
        self._busy: set[str] = set()  # calls being published by this process
        self._again: set[str] = set()  # calls written to while busy
        self._tasks: set[asyncio.Task[None]] = set()

    # --- after a write: fire and forget ------------------------------------------------------

    def notify(self, call_connection_id: str) -> None:
        """The call has unpublished events: publish them soon, off the caller's path."""
        try:
            if call_connection_id in self._busy:
                self._again.add(call_connection_id)
                return
            self._busy.add(call_connection_id)
            task = asyncio.get_running_loop().create_task(self._run(call_connection_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        except Exception:  # never let publishing break a write
            self._busy.discard(call_connection_id)
            logger.exception("could not schedule publishing for call %s", call_connection_id)

    async def _run(self, call_connection_id: str) -> None:
        try:
            while True:
                self._again.discard(call_connection_id)
                if not (await self._publish_pending(call_connection_id, fresh=False))[0]:
                    return  # left pending for the next change or the timer
                if call_connection_id in self._again:
                    continue
                await asyncio.sleep(self._settle_after)  # a busy call's next write settles for free
                if call_connection_id in self._again:
                    continue
                await self._store.settle(call_connection_id)
                if call_connection_id not in self._again:
                    return
        except Exception:
            logger.exception("publishing the events of call %s failed; they stay pending",
                             call_connection_id)
        finally:
            self._busy.discard(call_connection_id)
            self._again.discard(call_connection_id)

    async def _publish_pending(self, call_connection_id: str, *, fresh: bool) -> tuple[bool, int]:
        """Publish the call's pending events in order: (none left unpublished, how many went)."""
        events = await self._store.pending_events(call_connection_id, fresh=fresh)
        for start in range(0, len(events), MAX_BATCH):
            batch = events[start:start + MAX_BATCH]
            try:
                await asyncio.wait_for(self._publisher().publish(batch), self._deadline)
            except (PublishFailed, TimeoutError) as error:
                logger.warning("publishing %d event(s) of call %s failed (%s); they stay pending",
                               len(events) - start, call_connection_id,
                               str(error) or type(error).__name__)
                return False, start
            self._store.mark_published(call_connection_id, {e.id for e in batch})
        return True, len(events)

    # --- the timer ------------------------------------------------------------------------

    async def sweep(self) -> SweepResult:
        """Publish every call's pending events (read fresh), one call at a time."""
        calls = await self._store.calls_with_pending_events()
        published = failed = busy = 0
        for call_connection_id in calls:
            if call_connection_id in self._busy:
                busy += 1
                continue
            self._busy.add(call_connection_id)
            try:
                done, count = await self._publish_pending(call_connection_id, fresh=True)
                published += count
                if count:
                    await self._store.settle(call_connection_id)
                if not done:
                    failed += 1
            except Exception:  # one call's trouble must not stop the others
                logger.exception("re-publishing the events of call %s failed", call_connection_id)
                failed += 1
            finally:
                self._busy.discard(call_connection_id)
                if call_connection_id in self._again:
                    self._again.discard(call_connection_id)
                    self.notify(call_connection_id)
        return SweepResult(len(calls), published, failed, busy)

    async def close(self) -> None:
        """Stop the background publishing (shutdown): what is unpublished stays pending."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def idle(self) -> None:
        """Wait for the background publishing started so far (tests, benchmarks, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
