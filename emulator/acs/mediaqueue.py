"""A call connection's media operations: one runs at a time, the others wait in order.

ACS queues play and recognize requests per call and runs them one after another; a request
with `interruptCallMediaOperation` barges in (the running and queued ones are cancelled).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    QUEUED = "queued"
    # Playing (a play, or a recognize's prompt).
    PLAYING = "playing"
    # A recognize listening for tones.
    COLLECTING = "collecting"
    DONE = "done"


Body = Callable[["MediaOperation"], Coroutine[Any, Any, None]]


@dataclass
class MediaOperation:
    kind: str  # "play" | "recognize"
    operation_context: str | None
    callback_uri: str | None
    body: Body
    # Recognize only: whose tones count, and whether a tone may cut its prompt short.
    target: str | None = None
    interrupt_prompt: bool = False
    phase: Phase = Phase.QUEUED
    tones: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    def hears(self, participant: str) -> bool:
        """Whether a tone this participant presses now reaches this operation."""
        if self.kind != "recognize" or participant != self.target:
            return False
        return self.phase is Phase.COLLECTING or (self.phase is Phase.PLAYING and self.interrupt_prompt)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "phase": self.phase.value, "operationContext": self.operation_context}


class MediaQueue:
    def __init__(self) -> None:
        self.current: MediaOperation | None = None
        self.pending: deque[MediaOperation] = deque()
        self._worker: asyncio.Task[None] | None = None

    def enqueue(self, operation: MediaOperation, spawn: Callable[[Coroutine[Any, Any, None]], Any]) -> None:
        self.pending.append(operation)
        if self._worker is None or self._worker.done():
            self._worker = spawn(self._drain())

    async def _drain(self) -> None:
        while self.pending:
            operation = self.current = self.pending.popleft()
            operation.phase = Phase.PLAYING
            operation.task = asyncio.get_running_loop().create_task(operation.body(operation))
            try:
                # wait() does not raise when the operation is cancelled: the next one runs.
                await asyncio.wait({operation.task})
            except asyncio.CancelledError:
                operation.task.cancel()
                raise
            operation.phase = Phase.DONE
            self.current = None

    def cancel_all(self) -> list[MediaOperation]:
        """Stop the running operation and drop the queued ones; they are returned, in order,
        for their Canceled callbacks (an operation that already reported its end is not)."""
        stopped = [
            op for op in (self.current, *self.pending) if op is not None and op.phase is not Phase.DONE
        ]
        self.pending.clear()
        for operation in stopped:
            operation.phase = Phase.DONE
            if operation.task is not None:
                operation.task.cancel()
        return stopped

    def drop(self) -> None:
        """The connection is gone: everything stops and nothing reports (no callback follows
        CallDisconnected)."""
        self.cancel_all()
        if self._worker is not None:
            self._worker.cancel()

    def press(self, participant: str, tone: str) -> bool:
        operation = self.current
        if operation is None or not operation.hears(participant):
            return False
        operation.tones.put_nowait(tone)
        return True

    def describe(self) -> list[dict[str, Any]]:
        return [op.describe() for op in (self.current, *self.pending) if op is not None]
