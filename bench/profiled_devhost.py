"""`python bench/profiled_devhost.py <devhost args>`: devhost, with cProfile switched by signals.

Run with the working directory at any checkout of the app (it imports that checkout's devhost and
app), so bench/inbound_cpu.py can profile the same delivery at an old commit and today's. SIGUSR1
starts profiling the worker's main thread (the event loop: every invocation runs there); SIGUSR2
stops it and writes the stats to $DEVHOST_PROFILE_OUT. Each then creates `<that path>.ack`, so the
caller knows the signal was handled. Nothing of this is in devhost itself: old commits lack it.
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
import time
from pathlib import Path
from types import FrameType

# The thread's CPU clock, not the wall clock: on a loaded machine the wall clock charges the
# waits for a core (and epoll's waits) to whatever function was running.
_profile = cProfile.Profile(time.thread_time)


def _ack(name: str) -> None:
    Path(f"{os.environ['DEVHOST_PROFILE_OUT']}.{name}").touch()


def _start(_signum: int, _frame: FrameType | None) -> None:
    _profile.enable()
    _ack("started")


def _stop(_signum: int, _frame: FrameType | None) -> None:
    _profile.disable()
    _profile.dump_stats(os.environ["DEVHOST_PROFILE_OUT"])
    _ack("stopped")


def main() -> None:
    sys.path[0] = os.getcwd()  # the checkout's devhost and app, not this file's directory
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    runpy.run_module("devhost", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
