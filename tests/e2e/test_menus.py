"""Menus end to end (issue 22): a rule starts a flow that plays a prompt and listens for keys;
the caller presses them through the emulator's control API (POST /emulator/calls/{id}/dtmf).

Prompts are WAV files a loopback server serves (the emulator fetches them as ACS would): a short
greeting, a long menu prompt (the caller presses during it; the first key cuts it) and a short
reprompt. Each test uses fresh parties and its own rule set.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    RuleSetter,
    inbound_calls,
    use_rules_fixture,  # noqa: F401  (a fixture)
)
from tests.e2e.test_flow_asks import ask_url, asks, receiver_path, script
from tests.e2e.test_flow_runs import disorder_fixture, finished_flow, flow_requests, flow_rules  # noqa: F401
from tests.integration.emulator.media_support import FileServer, wav
from tests.support.loopback import serving
from tools.stack import Stack

MEDIA_OPERATIONS = ("CallMedia_Play", "CallMedia_Recognize", "CallMedia_CancelAllMediaOperations")


@pytest.fixture(name="prompts", scope="module")
def prompts_fixture() -> Iterator[FileServer]:
    with serving(FileServer()) as server:
        server.files.update({"hello.wav": wav(0.3), "menu.wav": wav(30), "sorry.wav": wav(0.3)})
        yield server


def ivr(prompts: FileServer, sales: dict[str, str], **menu: Any) -> dict[str, Any]:
    return {"start": "welcome", "steps": [
        {"id": "welcome", "type": "play", "prompt": {"file": prompts.url("hello.wav")}, "next": "main"},
        {"id": "main", "type": "menu", "prompt": {"file": prompts.url("menu.wav")},
         "reprompt": {"file": prompts.url("sorry.wav")}, "choices": {"1": "sales", "2": "bye"},
         "initialSilenceSeconds": 1, "retries": 1, "fallback": "bye", **menu},
        {"id": "sales", "type": "ring", "targets": [sales], "timeoutSeconds": 10, "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}


def at_menu(app: App, server_call_id: str, attempt: int = 1) -> dict[str, Any]:
    def listening() -> dict[str, Any] | None:
        calls = [c for c in inbound_calls(app, server_call_id) if c.get("flow")]
        flow = calls[0]["flow"] if calls else None
        if flow and flow["waiting"] == "menu" and flow["path"][-1]["attempt"] == attempt:
            return calls[0]
        return None

    return eventually(listening, what=f"the menu's attempt {attempt}")


def press(emulator: Emulator, server_call_id: str, keys: str) -> None:
    """Press until the recognize hears it (keys before it starts listening are lost, as on ACS)."""
    def heard() -> bool | None:
        reply = emulator.control("POST", f"calls/{server_call_id}/dtmf", {"tones": keys})
        assert reply.status == 200, reply.text
        return all(tone["heard"] for tone in reply.json()["tones"]) or None

    eventually(heard, timeout=10, what=f"the menu to hear {keys!r}")


def media_requests(emulator: Emulator, call_id: str) -> Counter[tuple[str, str]]:
    return Counter({key: n for key, n in flow_requests(emulator, call_id).items()
                    if key[0] in MEDIA_OPERATIONS})


def trail(flow: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    return [(p["step"], p["attempt"], p["outcome"]) for p in flow["path"]]


def test_press_1_rings_sales_each_request_once_though_every_callback_comes_twice(
    app: App, emulator: Emulator, use_rules: RuleSetter, prompts: FileServer, disorder: None,
) -> None:
    caller, callee, agent = pstn(), acs_user(), acs_user()
    assert emulator.control("PUT", "endpoints", {"endpoint": agent, "behavior": "answer"}).status == 200
    use_rules(flow_rules(callee, ivr(prompts, agent)))
    placed = emulator.incoming_call(caller, callee)
    at_menu(app, placed["serverCallId"])
    press(emulator, placed["serverCallId"], "1")

    call = finished_flow(app, emulator, placed["serverCallId"])
    assert call["flow"]["outcome"] == "connected", call["flow"]
    assert trail(call["flow"]) == [("welcome", 1, "played"), ("main", 1, "choice:sales"),
                                   ("sales", 1, "answered")]
    time.sleep(1.0)  # every duplicated or held-back callback has arrived
    requests = media_requests(emulator, call["callConnectionId"])
    assert sorted(op for op, _ in requests) == ["CallMedia_Play", "CallMedia_Recognize"], requests
    assert set(requests.values()) == {1}, requests
    kinds = {op["kind"]: op["status"] for op in call["operations"]}
    assert kinds["play"] == "succeeded" and kinds["recognize"] == "succeeded", call["operations"]
    history = app.events(call["callConnectionId"])
    pressed = [e for e in history if e["type"].endswith("RecognizeCompleted")]
    assert pressed and all(e["data"]["dtmfResult"]["tones"] == "withheld" for e in pressed), pressed


def test_an_invalid_key_reprompts_then_no_input_takes_the_fallback(
    app: App, emulator: Emulator, use_rules: RuleSetter, prompts: FileServer,
) -> None:
    caller, callee, agent = pstn(), acs_user(), acs_user()
    use_rules(flow_rules(callee, ivr(prompts, agent)))
    placed = emulator.incoming_call(caller, callee)
    at_menu(app, placed["serverCallId"])
    press(emulator, placed["serverCallId"], "9")
    at_menu(app, placed["serverCallId"], attempt=2)  # the reprompt; then 1 s of silence

    call = finished_flow(app, emulator, placed["serverCallId"])
    assert call["flow"]["outcome"] == "hungUp", call["flow"]
    assert trail(call["flow"]) == [("welcome", 1, "played"), ("main", 1, "invalid"),
                                   ("main", 2, "noInput"), ("bye", 1, None)]
    recognizes = [ctx for op, ctx in media_requests(emulator, call["callConnectionId"])
                  if op == "CallMedia_Recognize"]
    assert sorted(ctx.rsplit(":", 2)[1] for ctx in recognizes) == ["1", "2"], recognizes


def test_a_caller_who_hangs_up_during_the_prompt_ends_the_run(
    app: App, emulator: Emulator, use_rules: RuleSetter, prompts: FileServer,
) -> None:
    caller, callee, agent = pstn(), acs_user(), acs_user()
    use_rules(flow_rules(callee, ivr(prompts, agent)))
    placed = emulator.incoming_call(caller, callee)
    call = at_menu(app, placed["serverCallId"])
    reply = emulator.control("POST", "remote-hangups", {"callConnectionId": call["callConnectionId"]})
    assert reply.status == 204, reply.text

    done = finished_flow(app, emulator, placed["serverCallId"])
    assert done["flow"]["outcome"] in ("callerLeft", "callEnded"), done["flow"]
    assert trail(done["flow"])[-1][:2] == ("main", 1)  # never the menu's fallback
    # The run may end before CallDisconnected is applied (ACS refused the menu's request as the
    # call went: read as the caller leaving); the call is disconnected once ACS says so.
    eventually(lambda: next((c for c in inbound_calls(app, placed["serverCallId"])
                             if c.get("flow") and c["state"] == "disconnected"), None),
               what="the call to disconnect")


def test_a_text_prompt_is_refused_without_the_speech_setting(app: App) -> None:
    current = app.request("GET", "rules")
    assert current.status == 200, current.text
    reply = app.request("PUT", "rules", {
        "rules": [], "defaultAction": {"type": "flow", "flow": "hi"},
        "flows": {"hi": {"steps": [{"id": "hi", "type": "play", "prompt": {"text": "Hello"}}]}},
    }, headers={"If-Match": current.headers["ETag"]})
    assert reply.status == 400, reply.text
    body = reply.json()
    assert reply.headers.get("Content-Type", "").startswith("application/problem+json")
    assert [e["field"] for e in body["errors"]] == ["flows.hi.steps[0].prompt.text"]
    assert "COGNITIVE_SERVICES_ENDPOINT" in body["errors"][0]["reason"]


def test_a_prompt_acs_cannot_fetch_takes_on_failed(
    app: App, emulator: Emulator, use_rules: RuleSetter, prompts: FileServer,
) -> None:
    caller, callee = pstn(), acs_user()
    use_rules(flow_rules(callee, {"start": "welcome", "steps": [
        {"id": "welcome", "type": "play", "prompt": {"file": prompts.url("missing.wav")},
         "next": "main", "onFailed": "sorry"},
        {"id": "main", "type": "hangup"},
        {"id": "sorry", "type": "play", "prompt": {"file": prompts.url("sorry.wav")}}]}))
    placed = emulator.incoming_call(caller, callee)
    finished_flow(app, emulator, placed["serverCallId"])
    # The run finishes when its hang-up is sent; the call is disconnected once ACS says so.
    call = eventually(lambda: next((c for c in inbound_calls(app, placed["serverCallId"])
                                    if c.get("flow") and c["state"] == "disconnected"), None),
                      what="the call to disconnect")
    assert trail(call["flow"]) == [("welcome", 1, "failed"), ("sorry", 1, "played")], call["flow"]
    assert call["flow"]["outcome"] == "hungUp"
    plays = {op["operationContext"]: op["status"] for op in call["operations"] if op["kind"] == "play"}
    assert sorted(plays.values()) == ["failed", "succeeded"], call["operations"]


def test_the_keys_a_collect_step_gathers_reach_the_ask_and_nothing_else(
    app: App, emulator: Emulator, stack: Stack, use_rules: RuleSetter, prompts: FileServer,
) -> None:
    caller, callee, path = pstn(), acs_user(), receiver_path()
    script(emulator, path, {"answer": {"next": "bye"}})
    use_rules(flow_rules(callee, {"start": "account", "steps": [
        {"id": "account", "type": "collect", "prompt": {"file": prompts.url("menu.wav")},
         "maxDigits": 4, "minDigits": 4, "next": "crm", "noInput": "bye"},
        {"id": "crm", "type": "ask", "url": ask_url(stack, path), "timeoutSeconds": 5,
         "choices": ["bye"], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    placed = emulator.incoming_call(caller, callee)
    at_menu(app, placed["serverCallId"])
    press(emulator, placed["serverCallId"], "4321")

    call = finished_flow(app, emulator, placed["serverCallId"])
    assert trail(call["flow"]) == [("account", 1, "collected"), ("crm", 1, "next:bye"), ("bye", 1, None)]
    [seen] = asks(emulator, path)
    assert seen["verified"] is True and seen["body"]["collected"] == {"account": "4321"}
    assert "4321" not in json.dumps(call), call  # the call's view
    history = app.events(call["callConnectionId"])
    pressed = [e["data"]["dtmfResult"] for e in history if e["type"].endswith("RecognizeCompleted")]
    assert pressed == [{"tones": "withheld", "toneCount": 4}], pressed
    assert "4321" not in json.dumps(history)
