"""The concurrency bench's delay line: bytes arrive whole, in order, and no sooner than asked."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from bench.delay_line import DelayLine
from tools.stack import HOST

DELAY = 0.15


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer((HOST, 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def exchange(port: int, chunks: list[bytes]) -> tuple[bytes, float]:
    expected = sum(len(c) for c in chunks)
    with socket.create_connection((HOST, port), timeout=10) as conn:
        started = time.monotonic()
        for chunk in chunks:
            conn.sendall(chunk)
        received = b""
        while len(received) < expected:
            received += conn.recv(65536)
        return received, time.monotonic() - started


def test_bytes_arrive_in_order_and_whole_after_the_delay(echo_port: int) -> None:
    line = DelayLine(echo_port, DELAY)
    try:
        chunks = [b"GET /a HTTP/1.1\r\n", b"x" * 100_000, b"\r\nend"]
        received, took = exchange(line.port, chunks)
        assert received == b"".join(chunks)
        assert took >= DELAY
    finally:
        line.stop()


def test_without_delay_it_is_a_plain_relay(echo_port: int) -> None:
    line = DelayLine(echo_port, 0.0)
    try:
        received, _ = exchange(line.port, [b"ping"])
        assert received == b"ping"
    finally:
        line.stop()
