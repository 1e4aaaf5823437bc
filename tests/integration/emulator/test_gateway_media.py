"""The app's ACS gateway (adapters/acs_gateway.py) asking the emulator for media through the official
async SDK: a file, a text (voice, locale) and an SSML prompt play; a recognize from the caller with
a prompt and a stop key hears the keys pressed; a cancel stops a running one. The emulator holds
every request to the swagger and the test holds every callback to it."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.adapters.acs_gateway import connect_gateway
from callcontrol.domain.flows.prompts import Prompt, PromptKind
from callcontrol.domain.identifiers import phone
from tests.integration.emulator.media_support import (
    FileServer,
    media_call,
    media_events,
    press,
    result_of,
    wait_phase,
    wav,
)
from tests.integration.emulator.support import ACCESS_KEY, PSTN_A, AppSide, Control
from tests.integration.emulator.swagger import Swagger
from tests.support.loopback import serving

pytestmark = pytest.mark.needs_shared


@pytest.fixture(name="files")
def files_fixture() -> Any:
    with serving(FileServer()) as server:
        server.files["hello.wav"] = wav(0.2)
        yield server


async def test_file_text_and_ssml_prompts_play_with_their_contexts(
    client: Any, app_side: AppSide, control: Control, swagger: Swagger, emulator: Any, files: FileServer,
) -> None:
    _, cid = media_call(client, app_side, control)
    gateway = connect_gateway(emulator.base_url, access_key=ACCESS_KEY,
                              callback_url=app_side.url("/callbacks"), timeout_seconds=10)
    try:
        for index, prompt in enumerate([
            Prompt(PromptKind.FILE, files.url("hello.wav")),
            Prompt(PromptKind.TEXT, "Welcome", "en-US-JennyNeural", "en-US"),
            Prompt(PromptKind.SSML, "<speak version='1.0' xml:lang='en-US'>Hi</speak>"),
        ]):
            await gateway.play_media(cid, prompt, operation_context=f"flow:r:1:p:{index}:play")
            app_side.wait_for("PlayCompleted", cid, count=index + 1)
    finally:
        await gateway.close()
    completed = [e for e in media_events(app_side, cid, swagger) if e["type"] == "PlayCompleted"]
    assert [e["event"]["data"]["operationContext"] for e in completed] == [
        "flow:r:1:p:0:play", "flow:r:1:p:1:play", "flow:r:1:p:2:play"]
    assert files.gets == ["hello.wav"]


async def test_a_recognize_with_a_stop_key_hears_the_keys_and_a_cancel_stops_one(
    client: Any, app_side: AppSide, control: Control, swagger: Swagger, emulator: Any,
) -> None:
    _, cid = media_call(client, app_side, control)
    gateway = connect_gateway(emulator.base_url, access_key=ACCESS_KEY,
                              callback_url=app_side.url("/callbacks"), timeout_seconds=10)
    control.ok("PATCH", "/media", {"timeScale": 1.0})  # the caller needs the time to press
    try:
        await gateway.recognize_dtmf(
            cid, phone(PSTN_A), prompt=Prompt(PromptKind.TEXT, "Your account number, then hash"),
            max_tones=8, initial_silence_seconds=30, inter_tone_seconds=10,
            operation_context="flow:r:1:account:1:recognize", stop_tones="#")
        wait_phase(control, cid, "playing")
        assert press(control, cid, "12#") == [True, True, True]
        [done] = app_side.wait_for("RecognizeCompleted", cid)
        assert result_of(done) == (200, 8514)  # the stop key ended it
        assert done["event"]["data"]["dtmfResult"]["tones"] == ["one", "two"]
        await gateway.recognize_dtmf(
            cid, phone(PSTN_A), prompt=Prompt(PromptKind.TEXT, "Press a key"), max_tones=1,
            initial_silence_seconds=30, inter_tone_seconds=5, operation_context="flow:r:1:main:1:recognize")
        wait_phase(control, cid, "playing")
        await gateway.cancel_all_media(cid)
        [canceled] = app_side.wait_for("RecognizeCanceled", cid)
        assert canceled["event"]["data"]["operationContext"] == "flow:r:1:main:1:recognize"
    finally:
        await gateway.close()
    kinds = [e["type"] for e in media_events(app_side, cid, swagger)]
    assert kinds == ["RecognizeCompleted", "RecognizeCanceled"]
