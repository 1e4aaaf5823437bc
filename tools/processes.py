"""Starting and stopping the local stack's processes (used by `make run` and the tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int) -> None:
    """Refuse to start on a taken port: waiting on it would find a stale process instead.

    SO_REUSEADDR, as our servers bind: a connection left in TIME_WAIT by a stack stopped a moment
    ago (Ctrl-C) does not count, only a live socket bound to the port does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise RuntimeError(
                f"port {port} is already in use (is an earlier `make run` still running?)"
            ) from None


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def start(command: list[str], *, env: dict[str, str] | None = None,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a child in its own process group, so stopping it stops its children too."""
    if log is None:
        return _spawn(command, env, subprocess.DEVNULL)
    with open(log, "ab") as output:  # the child keeps its own copy of the descriptor
        return _spawn(command, env, output)


def _spawn(command: list[str], env: dict[str, str] | None, output: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 5.0,
         sig: signal.Signals = signal.SIGTERM) -> bool:
    """Ask the child's process group to stop with ``sig``; kill it after ``timeout`` seconds.

    True when it stopped of itself, False when it had to be killed.
    """
    return stop_all([(process, sig)], timeout) == []


def stop_all(children: Sequence[tuple[subprocess.Popen[bytes], signal.Signals]],
             timeout: float = 5.0) -> list[subprocess.Popen[bytes]]:
    """Signal every child's group at once, wait for them under one deadline, kill the rest.

    One after another, each stuck child would add its full grace period (the stack's three,
    15 s, before Azurite's own 10 s). Returns the children that had to be killed.
    """
    for process, sig in children:
        _signal_group(process, sig)
    deadline = time.monotonic() + timeout
    killed: list[subprocess.Popen[bytes]] = []
    for process, _sig in children:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            killed.append(process)
            _signal_group(process, signal.SIGKILL)
    for process in killed:
        # Unkillable (stuck in the kernel): nothing more to do than not to wait forever.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    return killed


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # it ended since the poll
        os.killpg(process.pid, sig)
