"""Play sources: their request shape (file, text, SSML) and how long each one plays.

A file is really fetched (GET, a short timeout): an answer other than 2xx, or no answer, is
ACS's "file could not be downloaded"; a body that is neither WAV nor MP3 is "file format is
invalid". A WAV lasts what its header says; text and SSML last by their length (MediaSettings).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

import aiohttp

from emulator.acs import mediacodes
from emulator.acs.mediasettings import MediaSettings
from emulator.acs.validation import callback_uri, optional_string
from emulator.common.errors import invalid_argument

KINDS = ("file", "text", "ssml")
_SOURCE_FIELDS = {"kind", "playSourceCacheId", "file", "text", "ssml"}
_KIND_FIELDS = {
    "file": {"uri"},
    "text": {"text", "sourceLocale", "voiceKind", "voiceName", "customVoiceEndpointId"},
    "ssml": {"ssmlText", "customVoiceEndpointId"},
}
_REQUIRED = {"file": "uri", "text": "text", "ssml": "ssmlText"}
_VOICE_KINDS = ("male", "female")
_TAG = re.compile(r"<[^>]*>")
# A file larger than this is not read to the end: only its header matters here.
_MAX_READ = 1024 * 1024


@dataclass(frozen=True)
class PlaySource:
    kind: str
    # The file's URI, the text, or the SSML document.
    content: str


@dataclass(frozen=True)
class Prompt:
    """A source resolved: how long it plays, or the resultInformation of why it cannot."""

    seconds: float = 0.0
    failure: dict[str, Any] | None = None


def reject_unknown(body: dict[str, Any], known: set[str], where: str) -> None:
    """The swagger's `additionalProperties: false`, naming the first stray field."""
    for name in body:
        if name not in known:
            prefix = f"{where}." if where else ""
            raise invalid_argument(f"The field {prefix}{name} is not allowed here.")


def parse_source(value: Any, field: str) -> PlaySource:
    if not isinstance(value, dict):
        raise invalid_argument(f"The field {field} must be an object.")
    reject_unknown(value, _SOURCE_FIELDS, field)
    kind = value.get("kind")
    if kind not in KINDS:
        raise invalid_argument(f"The field {field}.kind must be one of: {', '.join(KINDS)}.")
    optional_string(value, "playSourceCacheId")
    detail = value.get(kind)
    if not isinstance(detail, dict):
        raise invalid_argument(f"The field {field}.{kind} is required for kind {kind}.")
    reject_unknown(detail, _KIND_FIELDS[kind], f"{field}.{kind}")
    for other in KINDS:
        if other != kind and value.get(other) is not None:
            raise invalid_argument(f"The field {field}.{other} does not match kind {kind}.")
    for name in _KIND_FIELDS[kind]:
        optional_string(detail, name)
    if kind == "text" and detail.get("voiceKind") not in (None, *_VOICE_KINDS):
        raise invalid_argument(f"The field {field}.text.voiceKind must be male or female.")
    required = _REQUIRED[kind]
    content = detail.get(required)
    if not isinstance(content, str) or not content.strip():
        raise invalid_argument(f"The field {field}.{kind}.{required} must be a non-empty string.")
    if kind == "file":
        uri = callback_uri(detail, "uri")
        assert uri is not None
        return PlaySource(kind, uri)
    return PlaySource(kind, content)


def require_speech(sources: list[PlaySource], cognitive_services_endpoint: str | None) -> None:
    """Text and SSML prompts are spoken by the Azure AI resource named on answer or create
    (callIntelligenceOptions); without one ACS refuses the request itself, before any event
    (the wording ACS returns, as reported in Azure/azure-sdk-for-js#27966)."""
    if cognitive_services_endpoint is None and any(s.kind != "file" for s in sources):
        raise invalid_argument(
            "Request not allowed when Cognitive Service Configuration not set during call setup")


def parse_sources(value: Any, field: str) -> list[PlaySource]:
    if not isinstance(value, list) or not value:
        raise invalid_argument(f"The field {field} must be a non-empty array of play sources.")
    return [parse_source(item, f"{field}[{index}]") for index, item in enumerate(value)]


class PromptPlayer:
    """Resolves play sources to their length; owns the HTTP session file prompts are fetched with."""

    def __init__(self, settings: MediaSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    def attach(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def resolve(self, source: PlaySource) -> Prompt:
        if source.kind == "file":
            return await self._fetch(source.content)
        text = _TAG.sub("", source.content) if source.kind == "ssml" else source.content
        return Prompt(len(text.strip()) * self.settings.text_seconds_per_character)

    async def _fetch(self, uri: str) -> Prompt:
        assert self._session is not None, "prompt player not attached to a client session"
        timeout = aiohttp.ClientTimeout(total=self.settings.file_fetch_timeout_seconds)
        try:
            async with self._session.get(uri, timeout=timeout) as response:
                if not 200 <= response.status < 300:
                    return Prompt(failure=mediacodes.DOWNLOAD_FAILED)
                head = await response.content.read(_MAX_READ)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return Prompt(failure=mediacodes.DOWNLOAD_FAILED)
        seconds = audio_seconds(head, self.settings.mp3_seconds)
        if seconds is None:
            return Prompt(failure=mediacodes.INVALID_FILE_FORMAT)
        return Prompt(seconds)


def audio_seconds(data: bytes, mp3_seconds: float) -> float | None:
    """The length of a WAV (from its header), a fixed length for an MP3, None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_seconds(data)
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return mp3_seconds
    return None


def _wav_seconds(data: bytes) -> float | None:
    offset = 12
    byte_rate = 0
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(data):
            byte_rate = struct.unpack_from("<I", data, body + 8)[0]
        elif chunk == b"data":
            return size / byte_rate if byte_rate else None
        offset = body + size + (size & 1)
    return None
