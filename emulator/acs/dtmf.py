"""DTMF tones and how a recognize collects them (pure: no clock, no I/O).

Keys as a phone has them ("0"-"9", "*", "#", "A"-"D") and as the swagger's `Tone` names them
("zero" ... "nine", "asterisk", "pound", "a" ... "d").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.acs import mediacodes
from emulator.acs.mediasettings import InterToneTimeoutEvent

TONE_OF_KEY = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "*": "asterisk",
    "#": "pound",
    "A": "a",
    "B": "b",
    "C": "c",
    "D": "d",
}
TONES = frozenset(TONE_OF_KEY.values())


def tones_of_keys(keys: str) -> list[str] | None:
    """The tones of a key string such as "12#" (letters in either case); None if any key is not
    a DTMF key."""
    tones = [TONE_OF_KEY.get(key.upper()) for key in keys]
    return None if any(tone is None for tone in tones) else [tone for tone in tones if tone]


@dataclass(frozen=True)
class Outcome:
    """How a recognize ended: its callback, resultInformation and the tones it reports."""

    event_type: str
    result: dict[str, Any]
    tones: list[str] | None = None
    # A prompt that could not play: which source (RecognizeFailed's failedPlaySourceIndex).
    failed_index: int | None = None

    def fields(self) -> dict[str, Any]:
        if self.failed_index is not None:
            return {"failedPlaySourceIndex": self.failed_index}
        if self.tones is None:
            return {}
        return {"recognitionType": "dtmf", "dtmfResult": {"tones": self.tones}}


@dataclass
class DtmfCollector:
    max_tones: int
    stop_tones: frozenset[str]
    inter_tone_event: InterToneTimeoutEvent
    tones: list[str] = field(default_factory=list)

    def feed(self, tone: str) -> Outcome | None:
        """One more tone; the outcome when it ends the recognize. A stop tone ends it and is not
        among the tones reported."""
        if tone in self.stop_tones:
            return Outcome("RecognizeCompleted", mediacodes.STOP_TONE_DETECTED, list(self.tones))
        self.tones.append(tone)
        if len(self.tones) >= self.max_tones:
            return Outcome("RecognizeCompleted", mediacodes.MAX_TONES_RECEIVED, list(self.tones))
        return None

    def timed_out(self) -> Outcome:
        """Silence: before any tone the initial silence timeout, after one the inter-tone one."""
        if not self.tones:
            return Outcome("RecognizeFailed", mediacodes.INITIAL_SILENCE_TIMEOUT)
        if self.inter_tone_event is InterToneTimeoutEvent.FAILED:
            return Outcome("RecognizeFailed", mediacodes.INTER_TONE_TIMEOUT)
        return Outcome("RecognizeCompleted", mediacodes.INTER_TONE_TIMEOUT, list(self.tones))
