"""A recording pass-through in front of the app's callback sink.

The fault stack's CALLBACK_BASE_URL points here, so every callback the emulator signs and sends
goes through the tap: it is forwarded to the app unchanged, and a copy (path with query,
headers, body, the app's status) is kept, so a test can replay a genuine token the way an
attacker who captured one would. A test can also have the tap intercept a delivery (`hold`):
kept, answered 200, never forwarded, so its token reaches the app unused, as when an attacker
sits in the path.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.processes import free_port
from tools.stack import HOST


@dataclass(frozen=True)
class Tapped:
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    status: int  # the app's answer; 0 for a delivery the tap held back


class CallbackTap:
    def __init__(self) -> None:
        self.port = free_port()
        self.target = ""  # the app's base URL, set once the stack runs
        self.seen: list[Tapped] = []
        self.held: list[Tapped] = []
        self._hold: Callable[[bytes], bool] | None = None  # the next body it matches is held
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hold(self, matches: Callable[[bytes], bool]) -> None:
        """Intercept the next delivery whose body `matches` instead of forwarding it."""
        with self._lock:
            self._hold = matches

    def _take_hold(self, body: bytes) -> bool:
        with self._lock:
            if self._hold is None or not self._hold(body):
                return False
            self._hold = None
            return True

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.target}{path}", data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type")}
                if tap._take_hold(body):
                    status, answer = 200, b"{}"
                    with tap._lock:
                        tap.held.append(Tapped(self.path, headers, body, 0))
                else:
                    status, answer = tap.forward("POST", self.path, headers, body)
                    with tap._lock:
                        tap.seen.append(Tapped(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        return Handler

    def for_call(self, call_id: str, event_type: str) -> Tapped | None:
        """The first delivery of an event of this type (suffix) for this call."""
        with self._lock:
            seen = list(self.seen)
        for tapped in seen:
            if call_id.encode() in tapped.body and event_type.encode() in tapped.body:
                return tapped
        return None
