"""The fault tier: each failure class reproduced through the whole stack (devhost + Azurite + the
ACS emulator over real HTTP), with the outcome the app owes asserted.

The stack is the e2e one with two differences: ACS requests are bounded at 2 s (so "ACS slower
than the timeout" costs seconds, not tens of seconds), and callbacks pass through a recording
tap (tests/faults/tap.py) so that a genuine, emulator-signed token can be replayed.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import App, Emulator
from tests.faults.tap import CallbackTap
from tools.azurite import start_azurite
from tools.processes import stop
from tools.stack import Stack, start_stack

ACS_TIMEOUT_SECONDS = 2
EVENT_GRID_TIMEOUT_SECONDS = 30  # Event Grid's wait for a webhook reply (contract §6)


@pytest.fixture(scope="session")
def tap() -> Iterator[CallbackTap]:
    made = CallbackTap()
    made.start()
    yield made
    made.stop()


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, tap: CallbackTap) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("fault-stack-logs")
    running = start_stack(log_dir=logs, app_overrides={
        "CALLBACK_BASE_URL": tap.url,
        "ACS_REQUEST_TIMEOUT_SECONDS": str(ACS_TIMEOUT_SECONDS),
    })
    tap.target = running.app_url
    try:
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):  # never leave it frozen
            os.kill(running.azurite.process.pid, signal.SIGCONT)
        running.stop()
        for log in sorted(logs.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-20:]
            print(f"--- {log.name} (last lines) ---", *tail, sep="\n")


@pytest.fixture(scope="session")
def app(fault_stack: Stack) -> App:
    return App(fault_stack)


@pytest.fixture(scope="session")
def emulator(fault_stack: Stack) -> Emulator:
    return Emulator(fault_stack)


@contextmanager
def storage_frozen(stack: Stack) -> Iterator[None]:
    """Azurite stopped dead (SIGSTOP): connections open, nothing answers, like a hung store."""
    os.kill(stack.azurite.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(stack.azurite.process.pid, signal.SIGCONT)


def restart_storage_empty(stack: Stack, log: Path | None = None) -> None:
    """Azurite restarted on the same port and account, in memory: every table is gone."""
    old = stack.azurite
    stop(old.process)
    stack.azurite = start_azurite(port=old.port, key=old.key, log=log)
