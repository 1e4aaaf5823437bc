"""The console's keypad (issue 22), in a real browser, keys pressed on the page as the caller:
to a menu flow of the app (a rule set with a play and a menu step: the key picks the choice),
and to a recognize started by hand through the official SDK against the stack's emulator. The
page says what each press did, the emulator's recognize completes with those tones, and the
timeline shows the prompts, the keys and how the recognize ended.

Skips with the reason where Playwright or Chromium is missing. Takes console-keypad.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    FileSource,
    PhoneNumberIdentifier,
    RecognizeInputType,
)
from azure.core.credentials import AzureKeyCredential

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.console_support import (
    SCREENSHOTS,
    browser_fixture,  # noqa: F401  (a fixture)
    console_url_fixture,  # noqa: F401  (a fixture)
    page_fixture,  # noqa: F401  (a fixture)
    skip_without_browser,
    steps,
)
from tests.e2e.inbound_support import (
    RuleSetter,
    inbound_calls,
    use_rules_fixture,  # noqa: F401  (a fixture)
)
from tests.e2e.test_flow_runs import flow_rules
from tests.integration.emulator.media_support import (
    FileServer,
    files_fixture,  # noqa: F401  (a fixture)
    wav,
)
from tools.stack import Stack

sync_api = skip_without_browser()
# 1 emulated second lasts 100 ms: the prompt is short; the recognize's initial silence (300
# emulated seconds) and inter-tone (60, ACS's most) timeouts leave 30 s and 6 s to press.
TIME_SCALE = 0.1


@pytest.fixture
def fast_media(emulator: Emulator) -> Iterator[None]:
    before = emulator.control("GET", "media").json()["timeScale"]
    emulator.control("PATCH", "media", {"timeScale": TIME_SCALE})
    try:
        yield
    finally:
        emulator.control("PATCH", "media", {"timeScale": before})


def the_call(emulator: Emulator, caller_raw: str) -> dict[str, Any] | None:
    """The caller's network call once the app's leg on it is connected."""
    for call in emulator.control("GET", "calls").json()["value"]:
        callers = {p["identifier"]["rawId"] for p in call["participants"]}
        if caller_raw in callers and any(c["state"] == "connected" for c in call["connections"]):
            return dict(call)
    return None


def recognize_completed(emulator: Emulator, connection_id: str) -> dict[str, Any] | None:
    for callback in emulator.control("GET", "callbacks").json()["value"]:
        ours = callback.get("callConnectionId") == connection_id
        if ours and callback["type"].endswith("RecognizeCompleted"):
            return dict(callback["event"]["data"])
    return None


def labels_in_order(page: Any, expected: list[str]) -> None:
    labels = steps(page)
    positions = [next((i for i, label in enumerate(labels) if label.startswith(word)), -1)
                 for word in expected]
    assert -1 not in positions and positions == sorted(positions), labels


def test_a_key_pressed_on_the_keypad_picks_the_app_menus_choice(
    page: Any, app: App, emulator: Emulator, use_rules: RuleSetter, files: FileServer
) -> None:
    expect = sync_api.expect
    caller, number, sales = pstn(), acs_user(), acs_user()
    files.files.update({"hello.wav": wav(0.3), "menu.wav": wav(1.0)})
    use_rules(flow_rules(number, {"start": "welcome", "steps": [
        {"id": "welcome", "type": "play", "prompt": {"file": files.url("hello.wav")}, "next": "main"},
        {"id": "main", "type": "menu", "prompt": {"file": files.url("menu.wav")},
         "choices": {"1": "sales", "2": "bye"}, "initialSilenceSeconds": 60, "retries": 0,
         "fallback": "bye"},
        {"id": "sales", "type": "ring", "targets": [sales], "timeoutSeconds": 60, "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    page.get_by_test_id("unscripted").select_option("ring")  # sales rings until answered here
    expect(page.get_by_test_id("flash")).to_contain_text("HTTP 200")
    placed = emulator.incoming_call(caller, number)
    scid = placed["serverCallId"]
    panel = page.get_by_test_id("control-keypad")
    expect(panel.get_by_test_id("keypad-as")).to_have_text(f"as {caller['phoneNumber']}")
    expect(panel.get_by_test_id("keypad-listening")).to_contain_text("a recognize is listening")
    expect(page.get_by_test_id("control-flow").get_by_test_id("flow-step")).to_have_text("main")

    panel.get_by_test_id("keypad-key-1").click()
    expect(panel.get_by_test_id("keypad-result")).to_have_text("1: heard by the menu")
    flow_panel = page.get_by_test_id("control-flow")
    expect(flow_panel.get_by_test_id("flow-step")).to_have_text("sales")  # the choice
    expect(flow_panel.get_by_test_id("flow-path")).to_contain_text("main · choice:sales")
    connection_id = next(c["callConnectionId"] for c in inbound_calls(app, scid) if c.get("flow"))
    completed = eventually(lambda: recognize_completed(emulator, connection_id), what="RecognizeCompleted")
    assert completed["dtmfResult"]["tones"] == ["one"]
    # While sales rings, nothing listens: the key is lost, and the page says so.
    panel.get_by_test_id("keypad-key-5").click()
    expect(panel.get_by_test_id("keypad-result")).to_have_text("5: no one was listening")

    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("presses 5")
    expect(timeline).to_contain_text("prompt file hello.wav")
    expect(timeline).to_contain_text("tones 1")
    # The callback log writes PlayCompleted once the app answered it, after the Recognize the
    # app sent meanwhile: only its presence is checked.
    labels_in_order(page, ["Play → 202", "Recognize → 202", "presses 1", "RecognizeCompleted",
                           "main: choice:sales", "presses 5"])
    assert any(label.startswith("PlayCompleted") for label in steps(page)), steps(page)
    # The app kept only how many keys: its history withholds them.
    history = app.request("GET", f"calls/{connection_id}/events").json()["value"]
    recognized = [e for e in history if e["type"].endswith("RecognizeCompleted")]
    assert recognized and all(e["data"]["dtmfResult"]["tones"] == "withheld" for e in recognized)


def test_keys_pressed_on_the_keypad_reach_a_recognize_started_through_the_sdk(
    page: Any, stack: Stack, emulator: Emulator, files: FileServer, fast_media: None
) -> None:
    expect = sync_api.expect
    caller, number = pstn(), acs_user()
    caller_raw = f"4:{caller['phoneNumber']}"
    emulator.incoming_call(caller, number)  # the shipped rules: the app answers
    call = eventually(lambda: the_call(emulator, caller_raw), what="the app's connected leg")
    connection_id = call["connections"][0]["callConnectionId"]
    panel = page.get_by_test_id("control-keypad")
    expect(panel.get_by_test_id("keypad-as")).to_have_text(f"as {caller['phoneNumber']}")
    expect(panel.get_by_test_id("keypad-listening")).to_contain_text("nothing is listening")

    # The app's side of a menu, played by hand: a file prompt, then two keys from the caller.
    files.files["menu.wav"] = wav(0.5)
    client = CallAutomationClient(stack.emulator_url, AzureKeyCredential(stack.access_key))
    client.get_call_connection(connection_id).start_recognizing_media(
        RecognizeInputType.DTMF, PhoneNumberIdentifier(caller["phoneNumber"]),
        play_prompt=FileSource(files.url("menu.wav")), dtmf_max_tones_to_collect=2,
        initial_silence_timeout=300, dtmf_inter_tone_timeout=60, operation_context="menu")
    expect(panel.get_by_test_id("keypad-listening")).to_contain_text("a recognize is listening")

    panel.get_by_test_id("keypad-key-4").click()
    expect(panel.get_by_test_id("keypad-result")).to_have_text("4: heard by the menu")
    panel.get_by_test_id("keypad-key-#").click()
    expect(panel.get_by_test_id("keypad-result")).to_have_text("#: heard by the menu")
    completed = eventually(lambda: recognize_completed(emulator, connection_id), what="RecognizeCompleted")
    assert completed["dtmfResult"]["tones"] == ["four", "pound"]
    assert completed["operationContext"] == "menu"
    # The recognize is over: the next key is lost, and the page says so.
    expect(panel.get_by_test_id("keypad-listening")).to_contain_text("nothing is listening")
    panel.get_by_test_id("keypad-key-9").click()
    expect(panel.get_by_test_id("keypad-result")).to_have_text("9: no one was listening")

    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("presses 9")
    expect(timeline).to_contain_text("tones 4 #")  # RecognizeCompleted's detail
    labels_in_order(page, ["AnswerCall", "Recognize → 202", "presses 4", "presses #", "RecognizeCompleted",
                           "presses 9"])
    media = page.locator('[data-testid=step]', has_text="Recognize → 202")
    expect(media).to_have_attribute("fill", "#00838f")  # a prompt, not a plain request
    prompt = page.locator("text.detail", has_text="prompt file menu.wav")
    expect(prompt).to_have_count(1)
    lost = page.locator("text.detail", has_text="no one was listening")
    expect(lost).to_have_count(1)
    # The keypad's panel and the timeline under it, as one picture.
    top = page.get_by_test_id("call-panel").bounding_box()
    bottom = page.locator(".timeline-card").bounding_box()
    assert top and bottom
    height = bottom["y"] + bottom["height"] - top["y"] + 16
    clip = {"x": 0, "y": top["y"] - 8, "width": 1500, "height": height}
    page.screenshot(path=str(SCREENSHOTS / "console-keypad.png"), full_page=True, clip=clip)
