"""What a caller hears (a prompt) and what a menu hears back (tones); the steps are in model.py.

A prompt is an audio file ACS fetches over HTTPS, a text ACS speaks (Azure AI services, with a
voice or a language), or SSML. Text and SSML need the ACS resource connected to Azure AI services
and the app's COGNITIVE_SERVICES_ENDPOINT (given on answer): a rule set with such a prompt is
refused when the setting is absent (`speech_prompt_problems`).

A menu gathers DTMF tones with ACS Recognize (its prompt played first, interruptible by a key):
the tones pressed are matched against `choices` (digits → step). No key within the initial
silence timeout is *no input*; keys that match no choice (or an entry cut by the inter-digit
timeout, when ACS reports it as a RecognizeFailed rather than with the keys) are *invalid
input*. Either is retried `retries` times with the `reprompt` (the prompt again when there is
none), then takes `noInput` / `invalidInput`, else `fallback`, else the run ends. Bounds follow
ACS's: maxTonesToCollect 1-10 here, initial silence 1-300 s, inter-tone 1-60 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

DEFAULT_MAX_DIGITS: Final = 1
MAX_DIGITS_LIMIT: Final = 10
DEFAULT_INITIAL_SILENCE_SECONDS: Final = 5
MAX_INITIAL_SILENCE_SECONDS: Final = 300
DEFAULT_INTER_DIGIT_SECONDS: Final = 3
MAX_INTER_DIGIT_SECONDS: Final = 60
MAX_COLLECT_DIGITS: Final = 20
STOP_KEYS: Final = frozenset("*#")
DEFAULT_RETRIES: Final = 2
MAX_RETRIES: Final = 5
MAX_TEXT_LENGTH: Final = 1000
MAX_SSML_LENGTH: Final = 5000
DIGITS: Final = frozenset("0123456789*#")
KEY_TONES: Final = {"*": "asterisk", "#": "pound"}  # a stop key as ACS's Tone name
# ACS's Tone names (the callback schema's `Tone` enum) as the characters a choice is written in;
# a-d have no key on a phone and never match a choice.
TONES: Final = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "asterisk": "*", "pound": "#",
    "a": "A", "b": "B", "c": "C", "d": "D",
}


class PromptKind(StrEnum):
    FILE = "file"
    TEXT = "text"
    SSML = "ssml"


@dataclass(frozen=True)
class Prompt:
    kind: PromptKind
    value: str  # the file's URL, the text or the SSML document
    voice: str | None = None  # text only: an Azure neural voice name (en-US-JennyNeural)
    language: str | None = None  # text only: a locale (en-US)

    @property
    def needs_speech(self) -> bool:
        """Text and SSML are spoken by Azure AI services (ACS needs cognitiveServicesEndpoint)."""
        return self.kind is not PromptKind.FILE

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {self.kind.value: self.value}
        if self.voice is not None:
            body["voice"] = self.voice
        if self.language is not None:
            body["language"] = self.language
        return body


class MenuFailure(StrEnum):
    """How a menu attempt ended without a choice (what the path shows, digits never)."""

    NO_INPUT = "noInput"
    INVALID = "invalid"
    FAILED = "failed"  # the prompt could not be played, or the recognize was cancelled


@dataclass(frozen=True)
class MenuChoice:
    digits: str  # 1 to maxDigits of 0-9 * #
    next: str


def tones_as_digits(tones: list[object] | tuple[object, ...]) -> str:
    """ACS's tone names as the characters a choice is written in (an unknown name: '?')."""
    return "".join(TONES.get(str(tone).lower(), "?") for tone in tones)
