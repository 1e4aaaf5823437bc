"""The local stack's launcher refuses a taken port instead of talking to a stale process."""

from __future__ import annotations

import socket

import pytest

from tools.processes import ensure_free, free_port


def test_a_taken_port_is_refused_with_a_clear_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with pytest.raises(RuntimeError, match="already in use"):
            ensure_free(taken)


def test_a_free_port_passes() -> None:
    ensure_free(free_port())
