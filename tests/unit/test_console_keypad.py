"""The console's keypad and media on the timeline: what a press asks for, what the emulator's
reply means, the console's record of presses, and the steps prompts and keys become."""

from __future__ import annotations

from typing import Any

import pytest

from console.flow_entries import flow_entries
from console.keypad import (
    MAX_PRESSES,
    KeypadInputError,
    Press,
    PressLog,
    dtmf_body,
    heard_flags,
    parse_press,
    verdict,
)
from console.timeline import ACS, APP, Logs, build

CALLER = {"rawId": "4:+14255550100"}
APP_USER = {"rawId": "8:acs:res_00000000-0000-0000-0000-0000000000aa"}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ([], "body", "must be a JSON object"),
        ({"participant": "4:+1"}, "keys", "must be a non-empty string"),
        ({"keys": "", "participant": "4:+1"}, "keys", "must be a non-empty string"),
        ({"keys": 5, "participant": "4:+1"}, "keys", "must be a non-empty string"),
        ({"keys": "1A", "participant": "4:+1"}, "keys", "only 0-9, * and #"),
        ({"keys": "1" * 33, "participant": "4:+1"}, "keys", "at most 32"),
        ({"keys": "1"}, "participant", "raw id of the remote party"),
        ({"keys": "1", "participant": "  "}, "participant", "raw id of the remote party"),
    ],
)
def test_a_bad_press_names_the_field_and_the_reason(body: Any, field: str, reason: str) -> None:
    with pytest.raises(KeypadInputError) as refused:
        parse_press(body)
    assert refused.value.field == field
    assert reason in refused.value.reason


def test_a_press_becomes_the_emulators_dtmf_body() -> None:
    press = parse_press({"keys": "12*#", "participant": " 4:+14255550100 "})
    assert press == Press("12*#", "4:+14255550100")
    assert dtmf_body(press) == {"tones": "12*#", "participant": {"rawId": "4:+14255550100"}}


def test_the_reply_says_what_each_key_did() -> None:
    reply = {"tones": [{"tone": "one", "heard": True}, {"tone": "pound", "heard": False}]}
    assert heard_flags(reply) == [True, False]
    assert heard_flags({"error": {}}) is None
    assert heard_flags({"tones": ["one"]}) is None
    assert verdict([True, True]) == "heard by the menu"
    assert verdict([False]) == "no one was listening"
    assert verdict([True, False, False]) == "1 of 3 heard by the menu"
    assert verdict([]) == "no one was listening"  # the call ended before the first key


def test_the_press_log_keeps_each_calls_presses_and_only_the_latest() -> None:
    log = PressLog()
    log.add("S1", Press("12", "4:+1"), [True], at=1.0)  # the call ended after one key
    log.add("S2", Press("9", "4:+2"), [False], at=2.0)
    assert [(r.keys, r.heard) for r in log.of_call("S1")] == [("1", (True,))]
    assert log.of_call("S2")[0].to_json()["verdict"] == "no one was listening"
    for n in range(MAX_PRESSES):
        log.add("S3", Press("5", "4:+3"), [True], at=3.0 + n)
    assert log.of_call("S1") == [] and len(log.of_call("S3")) == MAX_PRESSES


def call() -> dict[str, Any]:
    return {"serverCallId": "S1", "correlationId": "C1",
            "connections": [{"callConnectionId": "K1", "appIdentity": APP_USER}], "offers": []}


def pressed(at: float, count: int, heard: int) -> dict[str, Any]:
    return {"time": at, "kind": "pressedKeys", "serverCallId": "S1", "party": CALLER, "count": count,
            "heard": heard}


def by_label(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {step["label"]: step for step in steps}


def test_prompts_their_ends_and_the_keys_pressed_read_in_order() -> None:
    presses = PressLog()
    presses.add("S1", Press("4#", "4:+14255550100"), [True, True], at=21.1)
    logs = Logs(
        call(),
        journal=[
            {"time": 10.0, "kind": "dialed", "serverCallId": "S1", "party": CALLER, "other": APP_USER},
            pressed(21.0, 2, 2),
            pressed(30.0, 1, 0),  # pressed through the emulator's API: how many, never which
        ],
        requests=[{
            "time": 20.0, "operation": "CallMedia_Recognize", "status": 202,
            "path": "/calling/callConnections/K1:recognize",
            "body": {"recognizeInputType": "dtmf", "operationContext": "menu",
                     "playPrompts": [{"kind": "file", "file": {"uri": "http://127.0.0.1:1/files/menu.wav"}},
                                     {"kind": "text", "text": {"text": "Press 4"}}],
                     "recognizeOptions": {"targetParticipant": CALLER,
                                          "dtmfOptions": {"maxTonesToCollect": 3, "stopTones": ["pound"]}}},
        }],
        callbacks=[
            {"time": 21.2, "type": "Microsoft.Communication.RecognizeCompleted", "status": 200,
             "callConnectionId": "K1", "event": {"data": {
                 "serverCallId": "S1", "operationContext": "menu", "recognitionType": "dtmf",
                 "dtmfResult": {"tones": ["four"]},
                 "resultInformation": {"code": 200, "subCode": 8514, "message": "Stop tone detected."}}}},
            {"time": 31.0, "type": "Microsoft.Communication.PlayFailed", "status": 200,
             "callConnectionId": "K1", "event": {"data": {
                 "serverCallId": "S1", "failedPlaySourceIndex": 0,
                 "resultInformation": {"code": 400, "subCode": 8536, "message": "not downloaded"}}}},
        ],
        presses=presses.of_call("S1"),
    )
    steps = build(logs)["steps"]
    assert [s["label"] for s in steps] == [
        "dials user …0000aa",
        "Recognize → 202", "presses 4 #", "RecognizeCompleted → 200", "presses 1 key", "PlayFailed → 200",
    ]
    found = by_label(steps)
    recognize = found["Recognize → 202"]
    assert (recognize["from"], recognize["to"], recognize["kind"]) == (APP, ACS, "media")
    assert recognize["detail"] == (
        "prompt file menu.wav, text “Press 4”; dtmf: up to 3 tone(s); stop #; context menu")
    keys = found["presses 4 #"]
    assert (keys["from"], keys["to"], keys["kind"], keys["detail"]) == (
        "4:+14255550100", ACS, "tones", "heard by the menu")
    assert found["presses 1 key"]["detail"] == "no one was listening"
    completed = found["RecognizeCompleted → 200"]
    assert (completed["kind"], completed["failed"]) == ("media", False)
    assert completed["detail"] == "tones 4; 200/8514 Stop tone detected.; context menu"
    failed = found["PlayFailed → 200"]
    assert failed["failed"] and failed["detail"].startswith("source 0 failed; 400/8536")


def test_a_console_press_needs_the_same_party_and_count_to_name_the_keys() -> None:
    presses = PressLog()
    presses.add("S1", Press("77", "4:+14255550100"), [False, False], at=50.0)  # the log was reset
    presses.add("S1", Press("1", "4:+19999999999"), [True], at=21.0)  # another party
    logs = Logs(call(), journal=[pressed(21.0, 1, 1)], presses=presses.of_call("S1"))
    labels = [(s["from"], s["label"], s["detail"]) for s in build(logs)["steps"]]
    assert labels == [
        ("4:+14255550100", "presses 1 key", "heard by the menu"),
        ("4:+19999999999", "presses 1", "heard by the menu"),
        ("4:+14255550100", "presses 7 7", "no one was listening"),
    ]


def test_a_callback_is_drawn_when_acs_sent_it_unless_a_fault_made_the_delivery_the_point() -> None:
    def completed(logged: float, sent: str, fault: str | None) -> dict[str, Any]:
        return {"time": logged, "type": "Microsoft.Communication.RecognizeCompleted", "status": 200,
                "callConnectionId": "K1", "fault": fault,
                "event": {"time": sent, "data": {"serverCallId": "S1", "dtmfResult": {"tones": ["one"]}}}}

    logs = Logs(call(), callbacks=[completed(40.0, "1970-01-01T00:00:30+00:00", None),
                                   completed(41.0, "1970-01-01T00:00:30+00:00", "reorder")],
                flow_events=[])
    assert [s["time"] for s in build(logs)["steps"]] == [30.0, 41.0]


def test_prompt_steps_say_what_they_play_and_where_each_key_goes() -> None:
    rule_set = {"rules": [], "defaultAction": {"type": "flow", "flow": "ivr"}, "flows": {"ivr": {"steps": [
        {"id": "hi", "type": "play", "prompt": {"text": "Hello"}, "next": "main"},
        {"id": "main", "type": "menu", "prompt": {"file": "https://media.example/menu.wav"},
         "choices": {"1": "sales", "#": "hi"}, "noInput": "bye", "invalidInput": "hi"},
        {"id": "pin", "type": "collect", "prompt": {"ssml": "<speak/>"}, "maxDigits": 4},
    ]}}}
    steps = flow_entries(rule_set)[0]["steps"]
    assert [s["summary"] for s in steps] == [
        "play text", "menu: file menu.wav; 1 → sales, # → hi", "collect up to 4 keys after ssml"]
    assert steps[1]["next"] == {"noInput": "bye", "invalidInput": "hi"}
