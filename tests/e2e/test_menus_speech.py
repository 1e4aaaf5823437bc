"""A menu spoken by text-to-speech, end to end: with COGNITIVE_SERVICES_ENDPOINT set the app
accepts text prompts, names the endpoint to ACS when it answers, and the emulator (which, like
ACS, refuses a text prompt on a call set up without one) plays them. A stack of its own, since
the session's stack runs without the setting (test_menus.py checks the refusal there)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import E2E_TIMER_SETTINGS, App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import put_rules
from tests.e2e.test_flow_runs import finished_flow, flow_rules
from tests.e2e.test_menus import at_menu, media_requests, press, trail
from tools.stack import Stack, start_stack

SPEECH = "https://speech-e2e.cognitiveservices.azure.com/"


@pytest.fixture(scope="module")
def speech_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(log_dir=tmp_path_factory.mktemp("speech-stack-logs"),
                          app_overrides={**E2E_TIMER_SETTINGS, "COGNITIVE_SERVICES_ENDPOINT": SPEECH})
    try:
        yield running
    finally:
        running.stop()


def spoken_menu() -> dict[str, Any]:
    return {"start": "welcome", "steps": [
        {"id": "welcome", "type": "play", "prompt": {"text": "Welcome to Contoso."}, "next": "main"},
        {"id": "main", "type": "menu",
         "prompt": {"ssml": "<speak version=\"1.0\" xml:lang=\"en-US\">Press 1 to hear the news, "
                            "2 to leave. Press 1 to hear the news, 2 to leave.</speak>"},
         "choices": {"1": "news", "2": "bye"}, "initialSilenceSeconds": 5, "retries": 0,
         "fallback": "bye"},
        {"id": "news", "type": "play", "prompt": {"text": "No news today."}, "next": "bye"},
        {"id": "bye", "type": "hangup"}]}


def test_a_spoken_menu_runs_on_a_call_answered_with_the_speech_endpoint(speech_stack: Stack) -> None:
    app, emulator = App(speech_stack), Emulator(speech_stack)
    caller, callee = pstn(), acs_user()
    put_rules(app, flow_rules(callee, spoken_menu()))
    placed = emulator.incoming_call(caller, callee)
    call = at_menu(app, placed["serverCallId"])

    described = emulator.control("GET", f"calls/{placed['serverCallId']}")
    assert described.status == 200, described.text
    [connection] = described.json()["connections"]
    assert connection["cognitiveServicesEndpoint"] == SPEECH
    press(emulator, placed["serverCallId"], "1")

    done = finished_flow(app, emulator, placed["serverCallId"])
    assert trail(done["flow"]) == [("welcome", 1, "played"), ("main", 1, "choice:news"),
                                   ("news", 1, "played"), ("bye", 1, None)]
    requests = media_requests(emulator, call["callConnectionId"])
    assert sorted(op for op, _ in requests) == ["CallMedia_Play", "CallMedia_Play", "CallMedia_Recognize"]
    eventually(lambda: app.call(call["callConnectionId"])["state"] == "disconnected" or None,
               what="the hang-up")
