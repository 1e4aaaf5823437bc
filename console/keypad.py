"""The keypad: the tester presses keys as a remote party of a call, through the emulator's
`POST /emulator/calls/{id}/dtmf`. Pure: what a press asks for, the body the emulator takes,
what its reply means in words, and the console's own record of the presses.

The keys are the tester's own input, kept here (in the console's memory, bounded) so the
timeline can show them; the emulator's network log records only how many keys, never which,
and the app never sees them except as a recognize's result.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

KEYS = frozenset("0123456789*#")
MAX_KEYS = 32
# The console keeps the latest presses for the timeline; older ones fall off.
MAX_PRESSES = 1000


class KeypadInputError(ValueError):
    """A press the console refuses: which field, and why."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class Press:
    keys: str
    participant: str  # the raw id of the remote party pressing


def parse_press(body: Any) -> Press:
    if not isinstance(body, dict):
        raise KeypadInputError("body", "must be a JSON object")
    keys = body.get("keys")
    if not isinstance(keys, str) or not keys:
        raise KeypadInputError("keys", "must be a non-empty string of keys 0-9, * and #")
    if len(keys) > MAX_KEYS:
        raise KeypadInputError("keys", f"at most {MAX_KEYS} keys at once")
    if not set(keys) <= KEYS:
        raise KeypadInputError("keys", "only 0-9, * and # are on the keypad")
    participant = body.get("participant")
    if not isinstance(participant, str) or not participant.strip():
        raise KeypadInputError("participant", "must be the raw id of the remote party pressing")
    return Press(keys, participant.strip())


def dtmf_body(press: Press) -> dict[str, Any]:
    """What the emulator's dtmf endpoint takes for this press."""
    return {"tones": press.keys, "participant": {"rawId": press.participant}}


def heard_flags(reply: Any) -> list[bool] | None:
    """Which keys a running recognize heard, from the emulator's reply; None if it is not one."""
    tones = reply.get("tones") if isinstance(reply, dict) else None
    if not isinstance(tones, list) or not all(isinstance(t, dict) for t in tones):
        return None
    return [t.get("heard") is True for t in tones]


def verdict(heard: list[bool]) -> str:
    """What the press did, in the words the page and the timeline show."""
    count = sum(heard)
    if heard and count == len(heard):
        return "heard by the menu"
    if not count:
        return "no one was listening"
    return f"{count} of {len(heard)} heard by the menu"


@dataclass(frozen=True)
class PressRecord:
    time: float
    server_call_id: str
    participant: str
    keys: str
    heard: tuple[bool, ...]

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "serverCallId": self.server_call_id, "participant": self.participant,
                "keys": self.keys, "heard": list(self.heard), "verdict": verdict(list(self.heard))}


@dataclass
class PressLog:
    records: deque[PressRecord] = field(default_factory=lambda: deque(maxlen=MAX_PRESSES))

    def add(
        self, server_call_id: str, press: Press, heard: list[bool], at: float | None = None
    ) -> PressRecord:
        record = PressRecord(at if at is not None else time.time(), server_call_id, press.participant,
                             # Only the keys the emulator reports pressed (a hang-up cuts a press short).
                             press.keys[: len(heard)], tuple(heard))
        self.records.append(record)
        return record

    def of_call(self, server_call_id: str) -> list[PressRecord]:
        return [r for r in self.records if r.server_call_id == server_call_id]
