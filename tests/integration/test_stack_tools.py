"""The local stack's launcher refuses a taken port instead of talking to a stale process."""

from __future__ import annotations

import socket

import pytest

from tools.processes import ensure_free, free_port


@pytest.mark.parametrize("listener_reuses_address", [False, True])
def test_a_taken_port_is_refused_with_a_clear_reason(listener_reuses_address: bool) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if listener_reuses_address:  # aiohttp and Node servers set it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with pytest.raises(RuntimeError, match="already in use"):
            ensure_free(taken)


def test_a_free_port_passes() -> None:
    ensure_free(free_port())


def _port_left_in_time_wait() -> int:
    """A port whose server side closed a connection first: only a TIME_WAIT socket remains on it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as our servers bind
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server closes first: its end of the connection enters TIME_WAIT
    client.recv(1)  # the client sees the close ...
    client.close()  # ... and answers it, so the server's side completes into TIME_WAIT
    listener.close()
    return port


def test_a_port_in_time_wait_after_ctrl_c_counts_as_free() -> None:
    port = _port_left_in_time_wait()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        # The failure as `make run` met it: a plain bind is refused although nothing listens.
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    ensure_free(port)
    # And a server can really listen there again (what the restarted stack does).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
