"""A pass-through in front of Azurite for the app's Table Storage requests.

The fault stack's CallStateStorage names this tap's port, so every table request the app makes
goes through it, unchanged. A test can have it hold one request (`hold`): the request waits in
the tap, unforwarded, until the test releases it, and only then reaches Azurite. That is a
storage stall on one request, with the test choosing when the write lands: after the app gave
up on it, for instance, which a frozen Azurite (SIGSTOP) can only make likely, not certain.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.processes import free_port
from tools.stack import HOST

# Headers about this hop only: never passed on.
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        "content-length"}

Matcher = Callable[[str, str, bytes], bool]  # method, path, body


@dataclass
class Hold:
    matches: Matcher
    caught: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    landed: threading.Event = field(default_factory=threading.Event)  # forwarded, answered
    status: int = 0  # Azurite's answer to the held request once forwarded


class StorageTap:
    def __init__(self) -> None:
        self.port = free_port()
        self.target_port = 0  # Azurite's port, set once the stack runs
        self._hold: Hold | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._hold is not None:
                self._hold.release.set()
        self._server.shutdown()
        self._server.server_close()

    def connection_string(self, account: str, key: str) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
                f"TableEndpoint=http://{HOST}:{self.port}/{account};")

    def hold(self, matches: Matcher) -> Hold:
        """Keep the next request that `matches` in the tap until `release` is set."""
        made = Hold(matches)
        with self._lock:
            self._hold = made
        return made

    def _take(self, method: str, path: str, body: bytes) -> Hold | None:
        with self._lock:
            held = self._hold
            if held is None or held.caught.is_set() or not held.matches(method, path, body):
                return None
            held.caught.set()
            return held

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]],
                 body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(HOST, self.target_port, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pool expects

            def _pass(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP]
                held = tap._take(self.command, self.path, body)
                if held is not None:
                    held.release.wait()
                status, reason, answer_headers, answer = tap._forward(
                    self.command, self.path, headers, body)
                if held is not None:
                    held.status = status
                    held.landed.set()
                with contextlib.suppress(OSError):  # the app may have given up on it
                    self.send_response(status, reason)
                    for name, value in answer_headers:
                        if name.lower() not in _HOP and name.lower() not in ("server", "date"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = _pass

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        return Handler
