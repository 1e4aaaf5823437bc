"""`make run`'s stop handler runs wherever the main thread is: it must not wait for itself.

A signal handler runs between two bytecodes of the main thread. Here the handler is run at each
traced line of the main loop's wait in turn (each line of the standard library's code it calls
too), in one thread, as the interpreter would run it on a signal arriving there. A handler that
took a lock the wait holds (threading.Event.set inside Event.wait) hangs at that line.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

from tools.stop_signals import StopSignals


def _wait_with_handler_at_line(stop: StopSignals, at: int) -> tuple[bool, int]:
    """Run stop.wait with the SIGINT handler called at its `at`-th traced line; (finished, lines)."""
    seen = [0]

    def tracer(frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            seen[0] += 1
            if seen[0] == at:
                stop._note(signal.SIGINT, frame)
        return tracer

    def body() -> None:
        sys.settrace(tracer)
        try:
            stop.wait(0.05)
        finally:
            sys.settrace(None)

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(5.0)
    return not worker.is_alive(), seen[0]


def test_the_handler_can_run_at_every_line_of_the_wait_and_is_noted() -> None:
    _, lines = _wait_with_handler_at_line(StopSignals(step_seconds=0.01), at=0)
    assert lines > 3  # the wait was traced at all
    for at in range(1, lines + 1):
        stop = StopSignals(step_seconds=0.01)
        finished, _ = _wait_with_handler_at_line(stop, at)
        assert finished, f"the wait hung when the handler ran at its line {at}"
        assert stop.requested


def test_the_wait_returns_at_once_when_a_stop_was_already_requested() -> None:
    stop = StopSignals()
    stop._note(signal.SIGTERM, None)
    assert stop.wait(60) is True


def test_the_wait_ends_at_its_timeout_without_a_stop() -> None:
    assert StopSignals(step_seconds=0.01).wait(0.03) is False
