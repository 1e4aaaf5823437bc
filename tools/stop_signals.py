"""Ctrl-C and SIGTERM noted for a main loop, without a lock.

A Python signal handler runs in the main thread between two bytecodes, wherever the main thread
is. One that takes a lock (``threading.Event.set``) while the main thread holds that same lock
(inside ``Event.wait``, just woken) waits for itself forever: `make run` once ignored Ctrl-C that
way. The handler here only sets an attribute; the main loop sleeps in short steps and reads it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self, step_seconds: float = 0.1) -> None:
        self.requested = False
        self._step = step_seconds

    def install(self, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        for signum in signals:
            signal.signal(signum, self._note)

    def _note(self, _signum: int, _frame: FrameType | None) -> None:
        self.requested = True  # nothing else: see the module's docstring

    def wait(self, timeout: float) -> bool:
        """Sleep until a stop is requested or ``timeout`` passes; whether one was requested."""
        deadline = time.monotonic() + timeout
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(self._step, left))
        return self.requested
