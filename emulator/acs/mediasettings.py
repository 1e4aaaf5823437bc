"""Tunables of the emulated media (prompts, recognize); the control API changes them live."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InterToneTimeoutEvent(StrEnum):
    """What an inter-tone timeout after some tones reports: the current recognize how-to lists
    RecognizeCompleted 400/8532 (with the tones), an older revision RecognizeFailed 400/8532."""

    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class MediaSettings:
    # Every prompt's length and every recognize timeout is multiplied by this (tests: 0.01).
    time_scale: float = 1.0
    # A text prompt (or the text of an SSML one) lasts this long per character, before scaling.
    text_seconds_per_character: float = 0.06
    # How long the emulator waits for a file prompt's URL to answer before it counts as
    # "could not be downloaded".
    file_fetch_timeout_seconds: float = 5.0
    # An MP3's length is not decoded: it lasts this long (before scaling).
    mp3_seconds: float = 1.0
    inter_tone_timeout_event: InterToneTimeoutEvent = InterToneTimeoutEvent.COMPLETED

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)
