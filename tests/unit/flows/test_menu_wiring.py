"""A menu wired: offer → answer → play → recognize → the choice's step, each request once; the
keys pressed stay out of the call's history."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callcontrol.domain.errors import AcsErrorInfo, AcsRejected, CallGone, Conflict
from callcontrol.domain.flows import FlowOutcome
from callcontrol.domain.models import OperationKind, OperationStatus
from tests.unit.flows.wiring_support import ALICE, BOB, flow_rig

WAV = "https://media.example.com/menu.wav"
IVR: dict[str, Any] = {"start": "welcome", "steps": [
    {"id": "welcome", "type": "play", "prompt": {"file": WAV}, "next": "main"},
    {"id": "main", "type": "menu", "prompt": {"file": WAV}, "choices": {"1": "sales", "2": "support"},
     "retries": 1, "noInput": "support", "fallback": "bye"},
    {"id": "sales", "type": "ring", "targets": [ALICE], "fallback": "bye"},
    {"id": "support", "type": "ring", "targets": [BOB], "fallback": "bye"},
    {"id": "bye", "type": "hangup"}]}
SILENCE = {"code": 400, "subCode": 8510, "message": "Action failed, initial silence timeout reached."}


async def test_press_1_rings_sales_once_despite_a_redelivered_recognize_completed() -> None:
    rig = await flow_rig(IVR)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [play] = rig.sent("play")
    await rig.callback("PlayCompleted", operationContext=play,
                       resultInformation={"code": 200, "subCode": 0, "message": "ok"})
    [recognize] = rig.sent("recognize")
    pressed = {"operationContext": recognize, "recognitionType": "dtmf",
               "dtmfResult": {"tones": ["one"]}, "resultInformation": {"code": 200, "subCode": 8531}}
    await rig.callback("RecognizeCompleted", "e-pressed", **pressed)
    await rig.callback("RecognizeCompleted", "e-pressed", **pressed)  # the same event again
    await rig.callback("RecognizeCompleted", "e-pressed-again", **pressed)  # ACS sends it anew
    assert rig.acs.actions() == ["answer", "play", "recognize", "add"]
    record = await rig.record()
    run = record.flow_run
    assert run is not None
    assert [(p.step, p.attempt, p.outcome) for p in run.path] == [
        ("welcome", 1, "played"), ("main", 1, "choice:sales"), ("sales", 1, None)]
    kinds = {op.kind: op.status for op in record.operations}
    assert kinds[OperationKind.PLAY] is OperationStatus.SUCCEEDED
    assert kinds[OperationKind.RECOGNIZE] is OperationStatus.SUCCEEDED
    history = await rig.store.events(record.call_connection_id)
    stored = [e for e in history if e.type.endswith("RecognizeCompleted")]
    assert stored and all(e.data["dtmfResult"] == {"tones": "withheld", "toneCount": 1} for e in stored)


@pytest.mark.parametrize("odd", [
    {"dtmfResult": {"tones": "4111111111111111"}},  # tones as a string, not ACS's array
    {"dtmfResult": {"tones": {"0": "four", "1": "one"}}},
    {"dtmfResult": ["four", "one", "one", "one"]},
    {"dtmfResult": "4111"},
    {"collectTonesResult": {"tones": 4111}},
    {"dtmfResult": {"tones": ["four", "one"], "digits": "41"}},  # a member beside the tones
])
async def test_keys_in_an_odd_shape_stay_out_of_the_history(odd: dict[str, Any]) -> None:
    # Were kept verbatim: only a dict whose tones were a list was withheld.
    rig = await flow_rig(IVR)
    recognize = await rig.listening()
    await rig.callback("RecognizeCompleted", operationContext=recognize, **odd)
    history = await rig.store.events((await rig.record()).call_connection_id)
    [stored] = [e for e in history if e.type.endswith("RecognizeCompleted")]
    kept = json.dumps([stored.data.get("dtmfResult"), stored.data.get("collectTonesResult")])
    assert not any(key in kept for key in ("41", "four", "\"one\"")), kept


async def test_an_invalid_key_reprompts_then_no_input_takes_the_no_input_step() -> None:
    rig = await flow_rig(IVR)
    first = await rig.listening()
    await rig.callback("RecognizeCompleted", operationContext=first, dtmfResult={"tones": ["nine"]})
    [_, second] = rig.sent("recognize")
    assert second is not None and second.endswith(":main:2:recognize")
    await rig.callback("RecognizeFailed", operationContext=second, resultInformation=SILENCE)
    assert rig.acs.actions() == ["answer", "play", "recognize", "recognize", "add"]
    run = (await rig.record()).flow_run
    assert run is not None and [(p.step, p.attempt, p.outcome) for p in run.path] == [
        ("welcome", 1, "played"), ("main", 1, "invalid"), ("main", 2, "noInput"), ("support", 1, None)]


async def test_a_caller_who_hangs_up_during_the_prompt_ends_the_run() -> None:
    rig = await flow_rig(IVR)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    await rig.callback("ParticipantsUpdated", sequenceNumber=2, participants=[])
    [play] = rig.sent("play")
    await rig.callback("PlayCanceled", operationContext=play)  # ACS stops the prompt: too late
    assert rig.acs.actions() == ["answer", "play", "terminate"]
    run = (await rig.record()).flow_run
    assert run is not None and run.outcome is not None and run.outcome.value == "callerLeft"


async def test_a_recognize_acs_refuses_is_read_as_failed_at_once() -> None:
    rig = await flow_rig(IVR)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [play] = rig.sent("play")
    rig.acs.failures.append(AcsRejected("400 from ACS", AcsErrorInfo(400, "8523")))
    await rig.callback("PlayCompleted", operationContext=play)
    assert rig.acs.actions() == ["answer", "play", "recognize", "terminate"]  # fallback: bye
    run = (await rig.record()).flow_run
    assert run is not None and run.path[1].outcome == "failed"


@pytest.mark.parametrize("refusal", [
    CallGone("ACS: Call not found"),  # 8522: the connection is gone
    Conflict("ACS refused recognize: the call is not established (ending, code 8501)"),  # going
])
async def test_a_recognize_refused_because_the_caller_hung_up_ends_the_run_as_the_caller_leaving(
    refusal: Exception,
) -> None:
    # The caller hangs up while the menu's Recognize is on its way: ACS answers 8522 or 8501
    # before CallDisconnected arrives (seen in tests/e2e/test_menus.py, intermittently). The run
    # must end as the caller leaving (docs/flows.md: callerLeft, or callEnded), not take the
    # menu's fallback ("bye" here; a ring or an ask elsewhere) as if the menu had failed.
    rig = await flow_rig(IVR)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [play] = rig.sent("play")

    async def gone(call_connection_id: str) -> Any:
        raise CallGone("ACS: Call not found (get call)")

    rig.acs.get_call_properties = gone  # type: ignore[method-assign]
    rig.acs.failures.append(refusal)
    await rig.callback("PlayCompleted", operationContext=play)
    run = (await rig.record()).flow_run
    assert run is not None and run.outcome is FlowOutcome.CALLER_LEFT, run
    assert [(p.step, p.outcome) for p in run.path] == [("welcome", "played"), ("main", "callerLeft")]
    # Ending it is one hang-up for everyone (refused harmlessly if the call is gone), no fallback.
    assert rig.acs.actions() == ["answer", "play", "recognize", "terminate"]
