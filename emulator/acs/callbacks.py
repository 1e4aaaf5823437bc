"""Signed delivery of callback CloudEvents, one ordered lane per call connection.

Each POST carries a JSON array with one CloudEvent and ``Authorization: Bearer <JWT>`` minted
for that request. Faults can be injected: duplicate, drop, delay (delivered late, so later
events overtake it) and reorder (held back until the next event of that lane has gone).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from emulator.acs.tokens import TokenIssuer
from emulator.common.background import Background

logger = logging.getLogger(__name__)

FAULT_MODES = ("duplicate", "drop", "delay", "reorder")
_REORDER_FLUSH_SECONDS = 1.0


@dataclass
class CallbackFault:
    mode: str
    count: int = 1
    event_type: str | None = None
    delay_seconds: float = 1.0

    def matches(self, event_type: str) -> bool:
        return self.count > 0 and (
            self.event_type is None
            or event_type.endswith("." + self.event_type)
            or event_type == self.event_type
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "count": self.count,
            "eventType": self.event_type,
            "delaySeconds": self.delay_seconds,
        }


@dataclass
class _Outgoing:
    url: str
    event: dict[str, Any]
    lane: str


@dataclass
class _Lane:
    key: str
    pending: deque[_Outgoing] = field(default_factory=deque)
    held: _Outgoing | None = None
    worker: asyncio.Task[None] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class CallbackDispatcher:
    def __init__(
        self,
        tokens: TokenIssuer,
        issuer: Callable[[], str],
        background: Background,
        timeout_seconds: float = 10.0,
        log_max_entries: int = 5000,
    ) -> None:
        self._tokens = tokens
        self._issuer = issuer
        self._background = background
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._lanes: dict[str, _Lane] = {}
        self.faults: list[CallbackFault] = []
        # Newest deliveries only: an emulator serving a long test run must not grow without end.
        self.log: deque[dict[str, Any]] = deque(maxlen=log_max_entries)
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def attach(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def reset(self) -> None:
        self.faults.clear()
        self.log.clear()
        for lane in self._lanes.values():
            if lane.worker is not None:
                lane.worker.cancel()
        self._lanes.clear()
        self._pending = 0
        self._idle.set()

    def send(self, url: str, event: dict[str, Any], lane: str) -> None:
        """Queue one event for delivery after every earlier event of the same lane."""
        state = self._lanes.get(lane)
        if state is None:
            state = self._lanes[lane] = _Lane(lane)
        self._pending += 1
        self._idle.clear()
        state.pending.append(_Outgoing(url, event, lane))
        state.arrived.set()
        if state.worker is None or state.worker.done():
            state.worker = self._background.spawn(self._drain(state))

    async def idle(self) -> None:
        """Wait until every queued event has been delivered (for tests and the control API)."""
        await self._idle.wait()

    def _settled(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self._pending = 0
            self._idle.set()

    def _take_fault(self, event_type: str) -> CallbackFault | None:
        for fault in self.faults:
            if fault.matches(event_type):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _drain(self, lane: _Lane) -> None:
        """Deliver a lane's events in order; exits when the lane is empty (no idle worker)."""
        while True:
            if not lane.pending:
                if lane.held is None:
                    self._lanes.pop(lane.key, None)
                    return
                # A reordered event waits for the next one, but not forever.
                lane.arrived.clear()
                try:
                    await asyncio.wait_for(lane.arrived.wait(), _REORDER_FLUSH_SECONDS)
                except TimeoutError:
                    held, lane.held = lane.held, None
                    await self._deliver(held, "reorder")
                    self._settled()
                continue
            item = lane.pending.popleft()
            fault = self._take_fault(item.event["type"])
            mode = fault.mode if fault else None
            if mode == "drop":
                self._record(item, None, None, "drop")
                self._settled()
            elif mode == "delay":
                assert fault is not None
                self._background.spawn(self._deliver_later(item, fault.delay_seconds))
            elif mode == "reorder" and lane.held is None:
                lane.held = item
                continue
            else:
                await self._deliver(item, mode)
                if mode == "duplicate":
                    await self._deliver(item, "duplicate")
                self._settled()
            if lane.held is not None:
                held, lane.held = lane.held, None
                await self._deliver(held, "reorder")
                self._settled()

    async def _deliver_later(self, item: _Outgoing, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._deliver(item, "delay")
        self._settled()

    async def _deliver(self, item: _Outgoing, fault: str | None) -> None:
        assert self._session is not None, "dispatcher not attached to a client session"
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self._tokens.mint(self._issuer())}",
        }
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(
                item.url, data=json.dumps([item.event]), headers=headers, timeout=self._timeout
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            error = type(exc).__name__
            logger.warning("callback delivery failed: %s", error)
        self._record(item, status, error, fault)

    def _record(self, item: _Outgoing, status: int | None, error: str | None, fault: str | None) -> None:
        self.log.append(
            {
                "time": time.time(),
                "url": item.url,
                "callConnectionId": item.lane,
                "eventId": item.event["id"],
                "type": item.event["type"],
                "status": status,
                "error": error,
                "fault": fault,
                "delivered": status is not None and fault != "drop",
                "event": item.event,
            }
        )
