"""A callback sink in front of two app instances: each delivery the emulator makes goes to the
next instance in turn, forwarded unchanged (token, body) on a thread of its own while the
emulator is answered at once. With the emulator's duplicate fault the two copies of an event
(each with its own token) reach the two instances at the same time; the apps' answers are kept
so a test can check that none failed."""

from __future__ import annotations

import itertools
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.processes import free_port
from tools.stack import HOST


class Splitter:
    def __init__(self, *targets: str) -> None:
        self.targets = list(targets)  # base URLs; set before the first delivery
        self.answers: list[tuple[str, int]] = []  # (instance, status), 0 when unreachable
        self._turn = itertools.count()
        self._forwards: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._server = ThreadingHTTPServer((HOST, self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Splitter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.drain()
        self._server.shutdown()
        self._server.server_close()

    def drain(self) -> None:
        """Wait for every forward under way."""
        with self._lock:
            pending = list(self._forwards)
        for thread in pending:
            thread.join(timeout=30)

    def _forward(self, path: str, headers: dict[str, str], body: bytes) -> None:
        target = self.targets[next(self._turn) % len(self.targets)]
        request = urllib.request.Request(f"{target}{path}", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                status = reply.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        with self._lock:
            self.answers.append((target, status))

    def _handler(self) -> Any:
        splitter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type")}
                thread = threading.Thread(target=splitter._forward, args=(self.path, headers, body),
                                          daemon=True)
                with splitter._lock:
                    splitter._forwards.append(thread)
                thread.start()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
