"""What the ask receiver answers on one path, as scripted through the control API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from emulator.common.errors import bad_input
from emulator.common.numbers import finite

_REPLY_KEYS = frozenset({"answer", "raw", "status", "delaySeconds", "contentType"})


@dataclass(frozen=True)
class Reply:
    """One answer: a JSON `answer` or `raw` text (garbage on purpose), with a status, after a
    delay (longer than the ask's timeout forces the app's fallback)."""

    status: int = 200
    answer: Any = None
    raw: str | None = None
    delay_seconds: float = 0.0
    content_type: str | None = None

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw.encode("utf-8")
        return b"" if self.answer is None else json.dumps(self.answer).encode("utf-8")

    def media_type(self) -> str:
        if self.content_type is not None:
            return self.content_type
        return "text/plain; charset=utf-8" if self.raw is not None else "application/json; charset=utf-8"

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"status": self.status, "delaySeconds": self.delay_seconds}
        if self.raw is not None:
            wire["raw"] = self.raw
        elif self.answer is not None:
            wire["answer"] = self.answer
        if self.content_type is not None:
            wire["contentType"] = self.content_type
        return wire


# Answered on a path nobody scripted: an error the app's ask must survive (its fallback).
UNSCRIPTED = Reply(
    status=404,
    answer={"error": {"code": "NoReplyScripted", "message": "PUT /emulator/ask-replies/<path> first"}},
)


@dataclass
class Script:
    """The replies of one path: each request takes the next; the last one stays."""

    replies: list[Reply]
    used: int = 0

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.used, len(self.replies) - 1)]
        self.used += 1
        return reply

    def to_wire(self) -> dict[str, Any]:
        return {"sequence": [reply.to_wire() for reply in self.replies], "used": self.used}


def parse_script(body: Any) -> Script:
    """`{reply}` or `{"sequence": [{reply}, ...]}`; a reply is `{"answer"?: JSON, "raw"?: "text",
    "status"?: 100-599, "delaySeconds"?: n, "contentType"?: "..."}`."""
    if isinstance(body, dict) and "sequence" in body:
        sequence = body["sequence"]
        if set(body) != {"sequence"} or not isinstance(sequence, list) or not sequence:
            raise bad_input('give one reply or {"sequence": [reply, ...]} (non-empty) alone')
        return Script([parse_reply(item, f"sequence[{i}]") for i, item in enumerate(sequence)])
    return Script([parse_reply(body, "body")])


def parse_reply(body: Any, where: str) -> Reply:
    if not isinstance(body, dict):
        raise bad_input(f"{where} must be a JSON object")
    unknown = set(body) - _REPLY_KEYS
    if unknown:
        raise bad_input(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    if "answer" in body and "raw" in body:
        raise bad_input(f"{where} holds answer or raw, not both")
    status = body.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise bad_input(f"{where}.status must be an HTTP status (100-599)")
    delay = body.get("delaySeconds", 0)
    if (number := finite(delay)) is None or number < 0:
        raise bad_input(f"{where}.delaySeconds must be a number >= 0")
    raw = body.get("raw")
    content_type = body.get("contentType")
    for name, value in (("raw", raw), ("contentType", content_type)):
        if value is not None and not isinstance(value, str):
            raise bad_input(f"{where}.{name} must be a string")
    return Reply(status, body.get("answer"), raw, number, content_type)
