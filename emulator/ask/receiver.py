"""The ask receiver's state: the shared secret, the scripted replies per path, the request log."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.ask.replies import UNSCRIPTED, Reply, Script
from emulator.ask.signature import REQUEST_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, refusal
from emulator.common.timestamps import timestamp


@dataclass
class AskSettings:
    secret: str | None
    tolerance_seconds: float


@dataclass
class AskReceiver:
    configured: AskSettings
    log_max_entries: int = 5000
    settings: AskSettings = field(init=False)
    scripts: dict[str, Script] = field(default_factory=dict)
    log: deque[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.settings = AskSettings(self.configured.secret, self.configured.tolerance_seconds)
        self.log = deque(maxlen=self.log_max_entries)

    def receive(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Check the request, pick the reply, and log both (before any scripted delay runs, so
        a request the app gives up on is still on record)."""
        secret = self.settings.secret.encode("utf-8") if self.settings.secret else None
        why = refusal(secret, headers, body, time.time(), self.settings.tolerance_seconds)
        if why is not None:
            reply = Reply(status=401, answer={"error": {"code": "Unauthorized", "message": why}})
        else:
            script = self.scripts.get(path)
            reply = script.next_reply() if script is not None else UNSCRIPTED
        self.log.append(_record(path, headers, body, why, reply))
        return reply

    def requests(self, path: str | None) -> list[dict[str, Any]]:
        return [entry for entry in self.log if path is None or entry["path"] == path]

    def describe(self) -> dict[str, Any]:
        return {
            "secretSet": bool(self.settings.secret),
            "toleranceSeconds": self.settings.tolerance_seconds,
            "paths": sorted(self.scripts),
        }

    def reset(self) -> None:
        self.settings = AskSettings(self.configured.secret, self.configured.tolerance_seconds)
        self.scripts.clear()
        self.log.clear()


def _record(
    path: str, headers: Mapping[str, str], body: bytes, why: str | None, reply: Reply
) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    return {
        "time": timestamp(),
        "path": path,
        "requestId": headers.get(REQUEST_ID_HEADER),
        "timestamp": headers.get(TIMESTAMP_HEADER),
        "signature": headers.get(SIGNATURE_HEADER),
        "contentType": headers.get("Content-Type"),
        "verified": why is None,
        "refusal": why,
        "body": parsed,
        "rawBody": None if parsed is not None else text,
        "reply": reply.to_wire(),
    }
