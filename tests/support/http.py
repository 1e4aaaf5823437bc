"""One real HTTP request at a time, for tests; error statuses come back as replies."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message  # case-insensitive lookup, like the wire
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(
    url: str, method: str = "GET", body: bytes | None = None,
    headers: Mapping[str, str] | None = None, timeout: float = 30,
) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def call_json(url: str, method: str = "GET", payload: object = None,
              headers: Mapping[str, str] | None = None, timeout: float = 30) -> Reply:
    body = None if payload is None else json.dumps(payload).encode()
    return call(url, method, body, {"Content-Type": "application/json", **(headers or {})},
                timeout=timeout)
