"""Helpers for the media conformance tests: a file server for prompts, a WAV of a given length,
a connected call with the media time scale turned down, and the swagger check of callbacks."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from azure.communication.callautomation import PhoneNumberIdentifier

from tests.integration.emulator.support import CALLER_ID, PSTN_A, AppSide, Control, connect_call
from tests.integration.emulator.swagger import Swagger
from tests.support.loopback import LoopbackServer, serving

# 1 emulated second lasts 10 ms: prompts and recognize timeouts stay short.
TIME_SCALE = 0.01


def wav(seconds: float, rate: int = 16000) -> bytes:
    """A mono 16-bit PCM WAV of silence lasting `seconds`."""
    data = b"\0\0" * int(rate * seconds)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


class FileServer(LoopbackServer):
    """Serves /files/<name> from a dict; unknown names are 404; counts the GETs."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.gets: list[str] = []

    async def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/files/{name}", self._get)
        return app

    async def _get(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.gets.append(name)
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    def url(self, name: str) -> str:
        return f"{self.base_url}/files/{name}"


# The Azure AI resource a call names for text and SSML prompts (callIntelligenceOptions).
SPEECH_ENDPOINT = "https://speech-test.cognitiveservices.azure.com/"


def media_call(
    client: Any, app_side: AppSide, control: Control, *, speech: bool = True
) -> tuple[Any, str]:
    """A connected 1:1 call to PSTN_A, with prompts and timeouts scaled down; `speech`: created
    with an AI resource, so text prompts can be spoken."""
    control.ok("PATCH", "/media", {"timeScale": TIME_SCALE})
    extra = {"cognitive_services_endpoint": SPEECH_ENDPOINT} if speech else {}
    return connect_call(
        client,
        app_side,
        PhoneNumberIdentifier(PSTN_A),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
        **extra,
    )


def media_events(app_side: AppSide, cid: str, swagger: Swagger) -> list[dict[str, Any]]:
    """The call's Play*/Recognize* callbacks, each checked against the swagger first."""
    found = [r for r in app_side.events(connection_id=cid) if r["type"].startswith(("Play", "Recognize"))]
    for record in found:
        swagger.validate_callback(record["event"])
        assert record["token_error"] is None, record["token_error"]
    return found


def result_of(record: dict[str, Any]) -> tuple[int, int]:
    info = record["event"]["data"]["resultInformation"]
    return info["code"], info["subCode"]


def wait_phase(control: Control, cid: str, phase: str, timeout: float = 5) -> None:
    """Until the connection's running media operation is in `phase` (GET /emulator/calls/{id})."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        media = control.ok("GET", f"/calls/{cid}")["connections"][0]["media"]
        if media and media[0]["phase"] == phase:
            return
        time.sleep(0.005)
    raise AssertionError(f"the media operation never reached {phase}")


def press(control: Control, cid: str, keys: str, **extra: Any) -> list[bool]:
    reply = control.ok("POST", f"/calls/{cid}/dtmf", {"tones": keys, **extra})
    return [tone["heard"] for tone in reply["tones"]]


@pytest.fixture(name="files")
def files_fixture() -> Iterator[FileServer]:
    """A loopback HTTP server for prompt files (import it where a test takes `files`)."""
    with serving(FileServer()) as server:
        yield server
