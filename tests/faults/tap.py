"""A recording pass-through in front of the app's callback sink.

The fault stack's CALLBACK_BASE_URL points here, so every callback the emulator signs and sends
goes through the tap: it is forwarded to the app unchanged, and a copy (path with query,
headers, body, the app's status) is kept, so a test can replay a genuine token the way an
attacker who captured one would. A test can also have the tap intercept a delivery (`hold`):
kept, answered 200, never forwarded, so its token reaches the app unused, as when an attacker
sits in the path. Or it can gate deliveries (`gate`): each one that matches waits in the tap
until the test opens the gate, then goes on to the app, whose answer the emulator gets; so a
test chooses what the app is going through when a callback reaches it.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.processes import free_port
from tools.stack import HOST


@dataclass
class Gate:
    matches: Callable[[bytes], bool]
    opened: threading.Event = field(default_factory=threading.Event)
    waiting: list[bytes] = field(default_factory=list)  # bodies that reached the closed gate

    def open(self) -> None:
        self.opened.set()

    def caught(self, *parts: str) -> bool:
        """Whether a delivery whose body names every one of `parts` reached the gate."""
        return any(all(part.encode() in body for part in parts) for body in list(self.waiting))


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
        self._gate: Gate | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._gate is not None:
            self._gate.open()
        self._server.shutdown()
        self._server.server_close()

    def hold(self, matches: Callable[[bytes], bool]) -> None:
        """Intercept the next delivery whose body `matches` instead of forwarding it."""
        with self._lock:
            self._hold = matches

    def gate(self, matches: Callable[[bytes], bool]) -> Gate:
        """Keep every delivery whose body `matches` until the gate is opened, then forward it."""
        made = Gate(matches)
        with self._lock:
            self._gate = made
        return made

    def _wait_at_gate(self, body: bytes) -> None:
        with self._lock:
            gate = self._gate
            if gate is None or gate.opened.is_set() or not gate.matches(body):
                return
            gate.waiting.append(body)
        gate.opened.wait()

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
                tap._wait_at_gate(body)
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
