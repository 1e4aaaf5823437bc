"""CallMedia_Play and CallMedia_CancelAllMediaOperations through the official sync client:
swagger-valid requests (the emulator refuses others) and callbacks, ACS's result codes."""

from __future__ import annotations

import pytest
from azure.communication.callautomation import (
    FileSource,
    PhoneNumberIdentifier,
    RecognizeInputType,
    SsmlSource,
    TextSource,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.integration.emulator.media_support import (
    FileServer,
    files_fixture,  # noqa: F401  (a fixture)
    media_call,
    media_events,
    result_of,
    wav,
)
from tests.integration.emulator.support import PSTN_A, PSTN_B, AppSide, Control, signed_request
from tests.integration.emulator.swagger import Swagger


def test_a_text_prompt_starts_then_completes_with_its_context(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Welcome to Contoso."), operation_context="hello")
    app_side.wait_for("PlayCompleted", cid)
    events = media_events(app_side, cid, swagger)
    assert [e["type"] for e in events] == ["PlayStarted", "PlayCompleted"]
    assert all(e["event"]["data"]["operationContext"] == "hello" for e in events)
    assert result_of(events[-1]) == (200, 0)
    play = control.requests("CallMedia_Play")[0]
    assert play["status"] == 202
    swagger.validate(play["body"], "PlayRequest")


def test_a_file_prompt_is_fetched_and_lasts_what_its_header_says(
    client, app_side: AppSide, control: Control, swagger: Swagger, files: FileServer
) -> None:
    files.files["welcome.wav"] = wav(seconds=20)  # 200 ms at the tests' time scale
    call, cid = media_call(client, app_side, control)
    call.play_media(FileSource(url=files.url("welcome.wav")))
    started = app_side.wait_for("PlayStarted", cid)[0]
    completed = app_side.wait_for("PlayCompleted", cid)[0]
    assert files.gets == ["welcome.wav"]
    assert completed["received"] - started["received"] >= 0.15
    media_events(app_side, cid, swagger)


def test_several_sources_play_in_order_and_ssml_is_accepted(
    client, app_side: AppSide, control: Control, swagger: Swagger, files: FileServer
) -> None:
    files.files["a.wav"] = wav(seconds=1)
    call, cid = media_call(client, app_side, control)
    call.play_media(
        [FileSource(url=files.url("a.wav")), SsmlSource(ssml_text="<speak>Goodbye</speak>")],
        play_to=[PhoneNumberIdentifier(PSTN_A)],
    )
    app_side.wait_for("PlayCompleted", cid)
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["PlayStarted", "PlayCompleted"]
    body = control.requests("CallMedia_Play")[0]["body"]
    assert [s["kind"] for s in body["playSources"]] == ["file", "ssml"]
    assert body["playTo"][0]["rawId"] == f"4:{PSTN_A}"


def test_a_file_that_cannot_be_downloaded_fails_with_8536_and_its_index(
    client, app_side: AppSide, control: Control, swagger: Swagger, files: FileServer
) -> None:
    files.files["ok.wav"] = wav(seconds=1)
    call, cid = media_call(client, app_side, control)
    call.play_media([FileSource(url=files.url("ok.wav")), FileSource(url=files.url("missing.wav"))])
    failed = app_side.wait_for("PlayFailed", cid)[0]
    assert result_of(failed) == (400, 8536)
    assert failed["event"]["data"]["failedPlaySourceIndex"] == 1
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["PlayStarted", "PlayFailed"]


def test_an_unreachable_file_fails_without_starting(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(FileSource(url="http://127.0.0.1:9/nothing.wav"))  # port 9 refuses
    failed = app_side.wait_for("PlayFailed", cid)[0]
    assert result_of(failed) == (400, 8536) and failed["event"]["data"]["failedPlaySourceIndex"] == 0
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["PlayFailed"]


def test_a_file_that_is_not_audio_fails_with_8535(
    client, app_side: AppSide, control: Control, swagger: Swagger, files: FileServer
) -> None:
    files.files["page.wav"] = b"<html>not audio</html>"
    call, cid = media_call(client, app_side, control)
    call.play_media(FileSource(url=files.url("page.wav")))
    assert result_of(app_side.wait_for("PlayFailed", cid)[0]) == (400, 8535)
    media_events(app_side, cid, swagger)


def test_a_looping_play_runs_until_cancelled_and_queued_plays_are_cancelled_too(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Please hold."), loop=True, operation_context="music")
    call.play_media(TextSource(text="Never heard."), operation_context="queued")
    app_side.wait_for("PlayStarted", cid)
    described = control.ok("GET", f"/calls/{cid}")["connections"][0]["media"]
    assert [(m["kind"], m["phase"]) for m in described] == [("play", "playing"), ("play", "queued")]
    call.cancel_all_media_operations()
    canceled = app_side.wait_for("PlayCanceled", cid, count=2)
    assert [c["event"]["data"]["operationContext"] for c in canceled] == ["music", "queued"]
    assert all(result_of(c) == (400, 8508) for c in canceled)
    assert "PlayCompleted" not in [e["type"] for e in media_events(app_side, cid, swagger)]
    assert control.requests("CallMedia_CancelAllMediaOperations")[0]["status"] == 202


def test_interrupt_call_media_operation_barges_in(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Long music."), loop=True, operation_context="music")
    app_side.wait_for("PlayStarted", cid)
    call.play_media(
        TextSource(text="Urgent."), operation_context="urgent", interrupt_call_media_operation=True
    )
    completed = app_side.wait_for("PlayCompleted", cid)[0]
    assert completed["event"]["data"]["operationContext"] == "urgent"
    types = [
        (e["type"], e["event"]["data"]["operationContext"]) for e in media_events(app_side, cid, swagger)
    ]
    assert types == [
        ("PlayStarted", "music"),
        ("PlayCanceled", "music"),
        ("PlayStarted", "urgent"),
        ("PlayCompleted", "urgent"),
    ]


def test_the_operation_callback_uri_overrides_the_calls(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Hi."), operation_callback_url=app_side.url("/callbacks/play"))
    completed = app_side.wait_for("PlayCompleted", cid)[0]
    assert completed["path"] == "/callbacks/play"


def test_a_caller_hanging_up_mid_prompt_ends_it_with_call_disconnected_only(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    call, cid = media_call(client, app_side, control)
    call.play_media(TextSource(text="Please hold."), loop=True)
    app_side.wait_for("PlayStarted", cid)
    control.ok("POST", "/remote-hangups", {"callConnectionId": cid})
    app_side.wait_for("CallDisconnected", cid)
    control.ok("GET", "/callbacks?wait=idle")
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["PlayStarted"]
    assert app_side.events(connection_id=cid)[-1]["type"] == "CallDisconnected"


def test_bad_play_requests_are_400_8523_naming_the_field(
    client, app_side: AppSide, control: Control, emulator
) -> None:
    _, cid = media_call(client, app_side, control)
    path = f"/calling/callConnections/{cid}:play?api-version=2026-03-12"
    cases = {
        b"{}": "playSources",
        b'{"playSources": []}': "playSources",
        b'{"playSources": [{"kind": "tune"}]}': "playSources[0].kind",
        b'{"playSources": [{"kind": "file", "file": {}}]}': "playSources[0].file.uri",
        b'{"playSources": [{"kind": "text", "text": {"text": "hi"}}], "volume": 3}': "volume",
        b'{"playSources": [{"kind": "text", "text": {"text": "hi"}}], "playOptions": {"loop": 1}}': "loop",
    }
    for body, field in cases.items():
        status, _, reply = signed_request(emulator.base_url, "POST", path, body)
        assert status == 400 and reply["error"]["code"] == "8523", (body, reply)
        assert field in reply["error"]["message"], (body, reply)


def test_text_and_ssml_need_the_ai_resource_named_at_call_setup_files_do_not(
    client, app_side: AppSide, control: Control, swagger: Swagger, files: FileServer
) -> None:
    """A call created without callIntelligenceOptions cannot speak: ACS refuses the request,
    before any event; a file prompt still plays, and so does a recognize with one."""
    call, cid = media_call(client, app_side, control, speech=False)
    for source in (TextSource(text="Welcome."), SsmlSource(ssml_text="<speak>Hi</speak>")):
        with pytest.raises(HttpResponseError) as refused:
            call.play_media(source, operation_context="spoken")
        assert refused.value.status_code == 400
        assert "Cognitive Service Configuration not set" in str(refused.value.message)
    with pytest.raises(HttpResponseError):
        call.start_recognizing_media(
            RecognizeInputType.DTMF, PhoneNumberIdentifier(PSTN_A),
            play_prompt=TextSource(text="Press 1."), dtmf_max_tones_to_collect=1)
    files.files["short.wav"] = wav(seconds=1)
    call.play_media(FileSource(url=files.url("short.wav")), operation_context="filed")
    app_side.wait_for("PlayCompleted", cid)
    assert [e["type"] for e in media_events(app_side, cid, swagger)] == ["PlayStarted", "PlayCompleted"]


def test_playing_to_someone_not_in_the_call_is_404_and_to_an_ended_call_too(
    client, app_side: AppSide, control: Control
) -> None:
    call, _ = media_call(client, app_side, control)
    with pytest.raises(ResourceNotFoundError):
        call.play_media(TextSource(text="Hi."), play_to=[PhoneNumberIdentifier(PSTN_B)])
    call.hang_up(is_for_everyone=True)
    with pytest.raises(ResourceNotFoundError):
        call.play_media(TextSource(text="Hi."))
    with pytest.raises(ResourceNotFoundError):
        call.cancel_all_media_operations()
