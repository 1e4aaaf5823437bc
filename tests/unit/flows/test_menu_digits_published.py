"""PUBLISH_DIGITS: the keys a caller pressed reach the call.flow.step event that ends the menu's
attempt only when the setting says so; by default the events say only the choice made."""

from __future__ import annotations

import pytest

from callcontrol.composition import Services
from callcontrol.composition.from_settings import SettingsProbe
from callcontrol.domain.errors import SettingError
from callcontrol.domain.events.call_events import EventType
from callcontrol.domain.events.callbacks import parse_callback_event
from callcontrol.settings import load_settings
from callcontrol.usecases.callbacks import IngestCallbacks
from callcontrol.usecases.outbox import OutboxRelay
from callcontrol.usecases.readiness import NotReady
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.events.support import RecordingPublisher
from tests.unit.flows.test_menu_wiring import IVR, WAV
from tests.unit.flows.wiring_support import CONNECTION, flow_rig
from tests.unit.test_readiness import COMPLETE


@pytest.mark.parametrize("publish", [False, True])
async def test_the_keys_pressed_are_published_only_by_setting(publish: bool) -> None:
    publisher = RecordingPublisher()
    publisher.failing = True  # nothing leaves: every event stays pending, to be read here
    rig = await flow_rig(IVR, outbox=OutboxRelay(lambda: publisher, deadline_seconds=0.5),
                         publish_digits=publish)
    recognize = await rig.listening()
    await rig.callback("RecognizeCompleted", operationContext=recognize, recognitionType="dtmf",
                       dtmfResult={"tones": ["two"]},
                       resultInformation={"code": 200, "subCode": 8531})

    events = await rig.store.pending_events(CONNECTION, fresh=True)
    steps = [e.data["change"] for e in events if e.type == EventType.FLOW_STEP.value]
    ended = [(s["step"], s["outcome"], s.get("digits")) for s in steps if s["outcome"] is not None]
    assert ended == [("welcome", "played", None), ("main", "choice:support", "2" if publish else None)]
    carrying = [e.data["change"]["type"] for e in events
                if "digits" in e.data["change"] or "digits" in e.data["cause"]]
    assert carrying == ([EventType.FLOW_STEP.value] if publish else []), carrying


@pytest.mark.parametrize("publish", [False, True])
async def test_a_collect_steps_keys_too(publish: bool) -> None:
    publisher = RecordingPublisher()
    publisher.failing = True
    account = {"id": "account", "type": "collect", "prompt": {"file": WAV}, "maxDigits": 4,
               "next": "bye"}
    rig = await flow_rig({"start": "account", "steps": [account, {"id": "bye", "type": "hangup"}]},
                         outbox=OutboxRelay(lambda: publisher, deadline_seconds=0.5),
                         publish_digits=publish)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [recognize] = rig.sent("recognize")
    await rig.callback("RecognizeCompleted", operationContext=recognize, recognitionType="dtmf",
                       dtmfResult={"tones": ["four", "three", "two", "one"]},
                       resultInformation={"code": 200, "subCode": 8531})

    events = await rig.store.pending_events(CONNECTION, fresh=True)
    ended = [(e.data["change"]["step"], e.data["change"]["outcome"], e.data["change"].get("digits"))
             for e in events
             if e.type == EventType.FLOW_STEP.value and e.data["change"]["outcome"] is not None]
    assert ended[0] == ("account", "collected", "4321" if publish else None), ended
    assert all(digits is None for _, _, digits in ended[1:]), ended


async def test_the_setting_is_false_unless_set_true_and_a_bad_value_is_named() -> None:
    assert load_settings({}).publish_digits is False
    assert load_settings({"PUBLISH_DIGITS": " True "}).publish_digits is True
    assert load_settings({"PUBLISH_DIGITS": "false"}).publish_digits is False
    with pytest.raises(SettingError, match="PUBLISH_DIGITS must be true or false, got 'yes'"):
        _ = load_settings({"PUBLISH_DIGITS": "yes"}).publish_digits
    with pytest.raises(NotReady, match="PUBLISH_DIGITS"):
        await SettingsProbe(load_settings({**COMPLETE, "PUBLISH_DIGITS": "1"})).check()


async def test_the_setting_is_read_only_when_keys_were_pressed() -> None:
    # It was read when the callbacks use case was built: a malformed PUBLISH_DIGITS failed every
    # callback, where now it can fail only one that carries keys.
    services = Services(load_settings({"PUBLISH_DIGITS": "yes"}), backend=MemoryTableBackend())
    event = parse_callback_event({"id": "e-1", "type": "Microsoft.Communication.CallConnected",
                                  "data": {"callConnectionId": CONNECTION}})
    result = await services.callbacks.ingest(IngestCallbacks((event,)))
    assert result.applied == 1
