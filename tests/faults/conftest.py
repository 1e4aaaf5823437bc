"""The fault tier: each failure class reproduced through the whole stack (devhost + Azurite + the
ACS emulator over real HTTP), with the outcome the app owes asserted.

The stack is the e2e one with three differences: ACS requests are bounded at 2 s (so "ACS slower
than the timeout" costs seconds, not tens of seconds), callbacks pass through a recording tap
(tests/faults/tap.py) so that a genuine, emulator-signed token can be replayed, and the app's
table requests pass through a storage tap (tests/faults/storage_tap.py) that can hold one.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E_TIMER_SETTINGS, App, Emulator
from tests.faults.storage_tap import StorageTap
from tests.faults.tap import CallbackTap
from tools.azurite import ACCOUNT, start_azurite
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
def storage_tap() -> Iterator[StorageTap]:
    made = StorageTap()
    made.start()
    yield made
    made.stop()


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, tap: CallbackTap,
                storage_tap: StorageTap) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("fault-stack-logs")
    storage_key = base64.b64encode(secrets.token_bytes(32)).decode()
    running = start_stack(log_dir=logs, storage_key=storage_key, app_overrides={
        **E2E_TIMER_SETTINGS,  # timers run when a test asks; the reconciler looks every call up
        "CALLBACK_BASE_URL": tap.url,
        "ACS_REQUEST_TIMEOUT_SECONDS": str(ACS_TIMEOUT_SECONDS),
        "CallStateStorage": storage_tap.connection_string(ACCOUNT, storage_key),
    })
    tap.target = running.app_url
    storage_tap.target_port = running.azurite.port
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
