"""Media with the aio client (aiohttp transport, as the app uses it), and a PlayCompleted held
field by field to the one recorded from the live service."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier, RecognizeInputType, TextSource
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential

from emulator import EmulatorThread
from tests.integration.emulator.media_support import (
    SPEECH_ENDPOINT,
    TIME_SCALE,
    media_call,
    media_events,
    press,
    result_of,
)
from tests.integration.emulator.support import ACCESS_KEY, CALLER_ID, PSTN_A, AppSide, Control
from tests.integration.emulator.swagger import LIVE_ONLY_DATA_FIELDS, Swagger


async def _wait(app_side: AppSide, type_: str, cid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = app_side.events(type_, cid)
        if found:
            return found[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"{type_} not received")


@pytest.mark.asyncio
async def test_play_recognize_and_cancel_with_the_aio_client(
    emulator: EmulatorThread, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    control.ok("PATCH", "/media", {"timeScale": TIME_SCALE})
    async with CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY)) as client:
        props = await client.create_call(
            PhoneNumberIdentifier(PSTN_A),
            app_side.url("/callbacks"),
            source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
            cognitive_services_endpoint=SPEECH_ENDPOINT,
        )
        cid = props.call_connection_id
        await _wait(app_side, "ParticipantsUpdated", cid)
        call = client.get_call_connection(cid)
        await call.play_media(TextSource(text="Hello."), play_to=[PhoneNumberIdentifier(PSTN_A)])
        await _wait(app_side, "PlayCompleted", cid)
        await call.start_recognizing_media(
            RecognizeInputType.DTMF,
            PhoneNumberIdentifier(PSTN_A),
            dtmf_max_tones_to_collect=2,
            initial_silence_timeout=300,
            operation_context="aio-menu",
        )
        await asyncio.to_thread(_press_when_listening, control, cid, "58")
        completed = await _wait(app_side, "RecognizeCompleted", cid)
        assert completed["event"]["data"]["dtmfResult"]["tones"] == ["five", "eight"]
        await call.play_media(TextSource(text="Music."), loop=True)
        await _wait(app_side, "PlayStarted", cid)
        await call.cancel_all_media_operations()
        assert result_of(await _wait(app_side, "PlayCanceled", cid)) == (400, 8508)
    types = [e["type"] for e in media_events(app_side, cid, swagger)]
    assert types == ["PlayStarted", "PlayCompleted", "RecognizeCompleted", "PlayStarted", "PlayCanceled"]


def _press_when_listening(control: Control, cid: str, keys: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        media = control.ok("GET", f"/calls/{cid}")["connections"][0]["media"]
        if media and media[0]["phase"] == "collecting":
            assert press(control, cid, keys) == [True] * len(keys)
            return
        time.sleep(0.005)
    raise AssertionError("the recognize never listened")


def test_play_completed_has_the_fields_of_the_live_recording(
    client, app_side: AppSide, control: Control, acs_contract: Path
) -> None:
    live = json.loads((acs_contract / "events/callbacks/recorded-2023-09/PlayCompleted.json").read_text())
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Hi."))  # no operationContext, as in the recording
    ours = app_side.wait_for("PlayCompleted", cid)[0]["event"]
    assert list(ours) == list(live), "envelope fields and their order"
    assert set(ours["data"]) - set(live["data"]) == set(LIVE_ONLY_DATA_FIELDS)
    assert set(live["data"]) <= set(ours["data"])
    assert ours["data"]["resultInformation"] == live["data"]["resultInformation"]
    assert ours["source"] == ours["subject"] == f"calling/callConnections/{cid}"
