"""CallMedia_Recognize (DTMF) through the official sync client, with keys pressed on the phone
network through the control API: every result code, swagger-valid requests and callbacks."""

from __future__ import annotations

import math

import pytest
from azure.communication.callautomation import (
    DtmfTone,
    FileSource,
    PhoneNumberIdentifier,
    RecognizeInputType,
    TextSource,
)
from azure.core.exceptions import ResourceNotFoundError

from tests.integration.emulator.media_support import (
    FileServer,
    files_fixture,  # noqa: F401  (a fixture)
    media_call,
    media_events,
    press,
    result_of,
    wait_phase,
    wav,
)
from tests.integration.emulator.support import (
    CALLER_ID,
    PSTN_A,
    PSTN_B,
    AppSide,
    Control,
    connect_call,
    signed_request,
)
from tests.integration.emulator.swagger import Swagger

CALLER = PhoneNumberIdentifier(PSTN_A)
# 300 emulated seconds: 3 s at the tests' time scale, ample time to press keys.
PATIENT = 300


def _recognize(call, **options) -> None:  # type: ignore[no-untyped-def]
    options.setdefault("initial_silence_timeout", PATIENT)
    options.setdefault("dtmf_max_tones_to_collect", 1)
    call.start_recognizing_media(RecognizeInputType.DTMF, CALLER, **options)


def test_max_tones_complete_with_the_tones_and_8531(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(
        call,
        play_prompt=TextSource(text="Enter your PIN."),
        dtmf_max_tones_to_collect=3,
        interrupt_prompt=False,
        operation_context="pin",
    )
    wait_phase(control, cid, "collecting")
    assert press(control, cid, "123") == [True, True, True]
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    data = completed["event"]["data"]
    assert result_of(completed) == (200, 8531)
    assert data["recognitionType"] == "dtmf" and data["dtmfResult"]["tones"] == ["one", "two", "three"]
    assert data["operationContext"] == "pin"
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["RecognizeCompleted"]
    request = control.requests("CallMedia_Recognize")[0]
    assert request["status"] == 202
    swagger.validate(request["body"], "RecognizeRequest")


def test_a_stop_tone_completes_with_8514_and_is_not_among_the_tones(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, dtmf_max_tones_to_collect=6, dtmf_stop_tones=[DtmfTone.POUND, DtmfTone.ASTERISK])
    wait_phase(control, cid, "collecting")
    press(control, cid, "42#")
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert result_of(completed) == (200, 8514)
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["four", "two"]
    media_events(app_side, cid, swagger)


def test_no_key_at_all_fails_with_the_initial_silence_timeout_8510(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, initial_silence_timeout=1, operation_context="menu")
    failed = app_side.wait_for("RecognizeFailed", cid)[0]
    assert result_of(failed) == (400, 8510)
    assert failed["event"]["data"]["operationContext"] == "menu"
    media_events(app_side, cid, swagger)


def test_silence_after_a_key_is_the_inter_tone_timeout_8532_completed_with_the_tones(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, dtmf_max_tones_to_collect=4, dtmf_inter_tone_timeout=1)
    wait_phase(control, cid, "collecting")
    press(control, cid, "7")
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert result_of(completed) == (400, 8532)
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["seven"]
    media_events(app_side, cid, swagger)


def test_the_inter_tone_timeout_can_be_reported_as_recognize_failed(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    assert (
        control.ok("PATCH", "/media", {"interToneTimeoutEvent": "failed"})["interToneTimeoutEvent"]
        == "failed"
    )
    call, cid = media_call(client, app_side, control)
    _recognize(call, dtmf_max_tones_to_collect=4, dtmf_inter_tone_timeout=1)
    wait_phase(control, cid, "collecting")
    press(control, cid, "7")
    assert result_of(app_side.wait_for("RecognizeFailed", cid)[0]) == (400, 8532)
    media_events(app_side, cid, swagger)


def test_keys_pressed_with_gaps_under_the_inter_tone_timeout_all_count(
    client, app_side: AppSide, control: Control
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, dtmf_max_tones_to_collect=3, dtmf_inter_tone_timeout=10)  # 100 ms between keys
    wait_phase(control, cid, "collecting")
    assert press(control, cid, "9*0", gapMs=30) == [True, True, True]
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["nine", "asterisk", "zero"]


def test_a_gap_longer_than_the_inter_tone_timeout_splits_the_input(
    client, app_side: AppSide, control: Control
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, dtmf_max_tones_to_collect=3, dtmf_inter_tone_timeout=1)  # 10 ms
    wait_phase(control, cid, "collecting")
    assert press(control, cid, "12", gapMs=200) == [True, False]
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert result_of(completed) == (400, 8532)
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["one"]


def test_a_key_interrupts_an_interruptible_prompt(client, app_side: AppSide, control: Control) -> None:
    call, cid = media_call(client, app_side, control)
    long_prompt = TextSource(text="x" * 5000)  # 300 s, 3 s scaled
    _recognize(call, play_prompt=long_prompt, interrupt_prompt=True)
    wait_phase(control, cid, "playing")
    assert press(control, cid, "5") == [True]
    completed = app_side.wait_for("RecognizeCompleted", cid, timeout=1)[0]
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["five"]


def test_keys_during_a_prompt_that_cannot_be_interrupted_are_not_heard(
    client, app_side: AppSide, control: Control
) -> None:
    control.ok("PATCH", "/media", {"textSecondsPerCharacter": 1})
    call, cid = media_call(client, app_side, control)
    _recognize(call, play_prompt=TextSource(text="x" * 20), interrupt_prompt=False)  # 200 ms
    wait_phase(control, cid, "playing")
    assert press(control, cid, "5") == [False]
    wait_phase(control, cid, "collecting")
    assert press(control, cid, "6") == [True]
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["six"]


def test_a_prompt_that_cannot_play_fails_with_8511_and_its_index(
    client, app_side: AppSide, control: Control, swagger: Swagger, files: FileServer
) -> None:
    files.files["menu.wav"] = wav(seconds=1)
    call, cid = media_call(client, app_side, control)
    _recognize(
        call, play_prompt=[FileSource(url=files.url("menu.wav")), FileSource(url=files.url("gone.wav"))]
    )
    failed = app_side.wait_for("RecognizeFailed", cid)[0]
    assert result_of(failed) == (500, 8511)
    assert failed["event"]["data"]["failedPlaySourceIndex"] == 1
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["RecognizeFailed"]


def test_keys_with_no_recognize_running_are_lost(client, app_side: AppSide, control: Control) -> None:
    call, cid = media_call(client, app_side, control)
    assert press(control, cid, "1") == [False]
    _recognize(call, initial_silence_timeout=1)
    assert result_of(app_side.wait_for("RecognizeFailed", cid)[0]) == (400, 8510)
    log = [entry for entry in control.ok("GET", "/network-log")["value"] if entry["kind"] == "pressedKeys"]
    assert log and log[0]["count"] == 1 and log[0]["heard"] == 0 and "tones" not in log[0]


def test_only_the_target_participants_keys_count(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    control.ok("PATCH", "/media", {"timeScale": 0.01})
    call, cid = connect_call(
        client,
        app_side,
        PhoneNumberIdentifier(PSTN_A),
        PhoneNumberIdentifier(PSTN_B),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    _recognize(call)
    wait_phase(control, cid, "collecting")
    assert press(control, cid, "3", participant={"phoneNumber": {"value": PSTN_B}}) == [False]
    assert press(control, cid, "4", participant={"phoneNumber": {"value": PSTN_A}}) == [True]
    completed = app_side.wait_for("RecognizeCompleted", cid)[0]
    assert completed["event"]["data"]["dtmfResult"]["tones"] == ["four"]
    status, reply = control.call("POST", f"/calls/{cid}/dtmf", {"tones": "1"})
    assert status == 400 and "participant" in reply["error"]["message"]


def test_a_recognize_waits_for_the_play_before_it(client, app_side: AppSide, control: Control) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Welcome."))
    _recognize(call, initial_silence_timeout=1)
    app_side.wait_for("RecognizeFailed", cid)
    types = [e["type"] for e in app_side.events(connection_id=cid) if e["type"].startswith(("Play", "Recog"))]
    assert types == ["PlayStarted", "PlayCompleted", "RecognizeFailed"]


def test_cancel_all_cancels_a_recognize_with_8508(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, operation_context="menu")
    wait_phase(control, cid, "collecting")
    call.cancel_all_media_operations()
    canceled = app_side.wait_for("RecognizeCanceled", cid)[0]
    assert result_of(canceled) == (400, 8508) and canceled["event"]["data"]["operationContext"] == "menu"
    assert press(control, cid, "1") == [False]
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["RecognizeCanceled"]


def test_a_caller_hanging_up_mid_recognize_gets_call_disconnected_only(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    _recognize(call, play_prompt=TextSource(text="x" * 5000))
    wait_phase(control, cid, "playing")
    control.ok("POST", "/remote-hangups", {"callConnectionId": cid})
    app_side.wait_for("CallDisconnected", cid)
    control.ok("GET", "/callbacks?wait=idle")
    assert media_events(app_side, cid, swagger) == []
    status, reply = control.call("POST", f"/calls/{cid}/dtmf", {"tones": "1"})
    assert status == 409, reply


def test_bad_recognize_requests_are_400_8523_naming_the_field(
    client, app_side: AppSide, control: Control, emulator
) -> None:
    _, cid = media_call(client, app_side, control)
    path = f"/calling/callConnections/{cid}:recognize?api-version=2026-03-12"
    target = '{"targetParticipant": {"rawId": "4:' + PSTN_A + '"}'
    cases = {
        '{"recognizeOptions": ' + target + "}}": "recognizeInputType",
        '{"recognizeInputType": "speech", "recognizeOptions": ' + target + "}}": "dtmf only",
        '{"recognizeInputType": "dtmf"}': "recognizeOptions",
        '{"recognizeInputType": "dtmf", "recognizeOptions": {}}': "targetParticipant",
        '{"recognizeInputType": "dtmf", "recognizeOptions": ' + target + "}}": "dtmfOptions",
        '{"recognizeInputType": "dtmf", "recognizeOptions": '
        + target
        + ', "dtmfOptions": {}}}': "maxTonesToCollect",
        '{"recognizeInputType": "dtmf", "recognizeOptions": '
        + target
        + ', "dtmfOptions": {"maxTonesToCollect": 1, "stopTones": ["hash"]}}}': "stopTones",
        '{"recognizeInputType": "dtmf", "recognizeOptions": '
        + target
        + ', "initialSilenceTimeoutInSeconds": 301, "dtmfOptions": {"maxTonesToCollect": 1}}}': "Silence",
        '{"recognizeInputType": "dtmf", "recognizeOptions": '
        + target
        + ', "dtmfOptions": {"maxTonesToCollect": 1, "interToneTimeoutInSeconds": 0}}}': "interTone",
        # A stop tone that is not a string at all (an object, a list) is refused the same way.
        '{"recognizeInputType": "dtmf", "recognizeOptions": '
        + target
        + ', "dtmfOptions": {"maxTonesToCollect": 1, "stopTones": [{"tone": "pound"}]}}}': "stopTones",
        '{"recognizeInputType": "dtmf", "recognizeOptions": '
        + target
        + ', "dtmfOptions": {"maxTonesToCollect": 1, "stopTones": [["pound"]]}}}': "stopTones",
    }
    for body, field in cases.items():
        status, _, reply = signed_request(emulator.base_url, "POST", path, body.encode())
        assert status == 400 and reply["error"]["code"] == "8523", (body, reply)
        assert field in reply["error"]["message"], (body, reply)


def test_recognizing_someone_not_in_the_call_is_404(client, app_side: AppSide, control: Control) -> None:
    call, _ = media_call(client, app_side, control)
    with pytest.raises(ResourceNotFoundError):
        call.start_recognizing_media(
            RecognizeInputType.DTMF, PhoneNumberIdentifier(PSTN_B), dtmf_max_tones_to_collect=1
        )


def test_the_dtmf_control_refuses_bad_keys_and_unknown_calls(
    client, app_side: AppSide, control: Control
) -> None:
    _, cid = media_call(client, app_side, control)
    for body in ({"tones": "1x"}, {"tones": ""}, {"tones": "1", "gapMs": -1}, {"tones": 1}):
        status, reply = control.call("POST", f"/calls/{cid}/dtmf", body)
        assert status == 400 and reply["error"]["code"] == "InvalidInput", (body, reply)
    status, _ = control.call("POST", "/calls/nope/dtmf", {"tones": "1"})
    assert status == 404
    status, reply = control.call("PATCH", "/media", {"timeScale": -1, "textSecondsPerCharacter": 9})
    assert status == 400 and "timeScale" in reply["error"]["message"]
    assert control.ok("GET", "/media")["textSecondsPerCharacter"] == 0.06  # all or nothing


@pytest.mark.parametrize("name", ["timeScale", "textSecondsPerCharacter", "fileFetchTimeoutSeconds",
                                  "mp3Seconds"])
@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**400])
def test_a_media_setting_that_is_not_finite_is_refused(control: Control, name: str, value: float) -> None:
    # Were taken: a NaN time scale made every prompt instant, an infinite one made it never end,
    # and GET /emulator/media answered NaN / Infinity, which no JSON parser reads; an int past a
    # float's range was a 500 (OverflowError).
    status, reply = control.call("PATCH", "/media", {name: value})
    assert status == 400 and name in reply["error"]["message"], reply
    assert math.isfinite(control.ok("GET", "/media")[name])


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/endpoints", {"endpoint": {"rawId": "8:acs:huge"}, "delaySeconds": 10**400}),
    ("PATCH", "/settings", {"eventgridRetryFactor": 10**400}),
    ("PUT", "/ask-replies/huge", {"answer": {"next": "a"}, "delaySeconds": 10**400}),
])
def test_a_number_past_a_floats_range_is_a_400_on_every_control_route(
    control: Control, method: str, path: str, body: dict[str, object]
) -> None:
    # math.isfinite raises OverflowError on such an int: it was a 500.
    status, reply = control.call(method, path, body)
    assert status == 400 and reply["error"]["code"] == "InvalidInput", (status, reply)
