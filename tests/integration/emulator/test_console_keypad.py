"""The console's keypad route against the real emulator: a call made and a recognize started
through the official SDK, keys pressed through `POST /console/calls/{id}/keypad`; what the
console answers and what the recognize collected (the timeline is the browser test's:
tests/e2e/test_console_keypad.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from azure.communication.callautomation import FileSource, PhoneNumberIdentifier, RecognizeInputType

from console.server import CONSOLE_HEADER, Upstreams, make_app
from emulator import EmulatorThread
from tests.integration.emulator.media_support import (
    FileServer,
    files_fixture,  # noqa: F401  (a fixture)
    media_call,
    wait_phase,
    wav,
)
from tests.integration.emulator.support import PSTN_A, AppSide, Control
from tests.support.http import Reply, call_json
from tests.support.loopback import LoopbackServer, serving

CALLER_RAW = "4:" + PSTN_A


class ConsoleServer(LoopbackServer):
    def __init__(self, emulator_url: str) -> None:
        super().__init__()
        # No app behind it: the keypad needs only the emulator.
        self.upstreams = Upstreams(app_url="http://127.0.0.1:9", emulator_url=emulator_url, function_key="")

    async def build_app(self) -> web.Application:
        return make_app(self.upstreams)

    def press(self, server_call_id: str, body: Any) -> Reply:
        return call_json(f"{self.base_url}/console/calls/{quote(server_call_id, safe='')}/keypad", "POST",
                         body, {CONSOLE_HEADER: "1"})


@pytest.fixture
def console(emulator: EmulatorThread) -> Iterator[ConsoleServer]:
    with serving(ConsoleServer(emulator.base_url)) as server:
        yield server


def test_keys_pressed_on_the_console_reach_the_recognize_or_are_lost(
    client: Any, app_side: AppSide, control: Control, console: ConsoleServer, files: FileServer
) -> None:
    files.files["menu.wav"] = wav(0.5)
    call, cid = media_call(client, app_side, control)
    server_call_id = control.ok("GET", f"/calls/{cid}")["serverCallId"]
    call.start_recognizing_media(
        RecognizeInputType.DTMF, PhoneNumberIdentifier(PSTN_A), play_prompt=FileSource(files.url("menu.wav")),
        dtmf_max_tones_to_collect=2, initial_silence_timeout=300, operation_context="menu")
    wait_phase(control, cid, "collecting")

    first = console.press(server_call_id, {"keys": "4", "participant": CALLER_RAW})
    assert first.status == 200, first.text
    assert first.json()["verdict"] == "heard by the menu" and first.json()["heard"] == [True]
    second = console.press(server_call_id, {"keys": "2", "participant": CALLER_RAW})
    assert second.json()["tones"] == [{"tone": "two", "heard": True}]
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["four", "two"]
    # The recognize is over: nobody hears the next key.
    lost = console.press(server_call_id, {"keys": "9#", "participant": CALLER_RAW})
    assert lost.status == 200 and lost.json()["verdict"] == "no one was listening"
    assert lost.json()["heard"] == [False, False]


def test_a_bad_press_is_problem_json_naming_the_field_and_the_emulators_refusal_passes_through(
    client: Any, app_side: AppSide, control: Control, console: ConsoleServer
) -> None:
    _call, cid = media_call(client, app_side, control)
    server_call_id = control.ok("GET", f"/calls/{cid}")["serverCallId"]
    for body, field in (({"keys": "1x", "participant": CALLER_RAW}, "keys"), ({"keys": "1"}, "participant")):
        refused = console.press(server_call_id, body)
        assert refused.status == 400
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["field"] == field
    stranger = console.press(server_call_id, {"keys": "1", "participant": "4:+19995550000"})
    assert stranger.status == 404 and stranger.json()["error"]["code"] == "NotFound"
    unknown = console.press("no-such-call", {"keys": "1", "participant": CALLER_RAW})
    assert unknown.status == 404
    no_header = call_json(f"{console.base_url}/console/calls/{server_call_id}/keypad", "POST",
                          {"keys": "1", "participant": CALLER_RAW})
    assert no_header.status == 403
    # Nothing refused was pressed: the network log has no key press on the call.
    journal = control.ok("GET", f"/network-log?serverCallId={quote(server_call_id, safe='')}")["value"]
    assert [e for e in journal if e["kind"] == "pressedKeys"] == []
