"""Flows and menus, fuzzed in process: rule sets with odd flows, dry-run scripts, and the media
callbacks (PlayCompleted/Failed/Canceled, RecognizeCompleted/Failed/Canceled) a live menu meets.

Rule sets: steps of every type with ids and references that may be missing, repeated, unicode,
surrogates or numbers; cycles through goto; numbers as floats, bools, strings, NaN-free huge and
negative values; menus with empty or odd choices (keys outside 0-9 * #); prompts with odd URLs,
text and SSML. Asserted: the parser raises nothing but InvalidInput, each problem names a field
under `flows.`; a set it accepts reads back from its stored form unchanged (a stored set that
would not parse again would break every later read); a dry run of it with a random script ends,
refusing a script only with InvalidInput, and its result is JSON.

Media callbacks: a menu on a call (in-memory store, fake ACS), then a random run of media events
carrying the current context, a stale one, another run's or none, odd `dtmfResult` shapes and odd
`resultInformation`. Asserted: nothing raises; no request is sent twice; the call's history
keeps no key pressed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.flows.script import parse_script
from callcontrol.domain.flows.simulation import simulate
from callcontrol.domain.flows.state import CallFacts
from callcontrol.domain.rules import flow_of, parse_rule_set
from tests.fuzz.conftest import FUZZ_EXAMPLES
from tests.unit.flows.wiring_support import FlowRig, flow_rig

T = TypeVar("T")
IDS = ("a", "b", "c", "d", "e", "f")
ODD_TEXT = st.one_of(st.text(max_size=8), st.sampled_from(
    ["\ud800", "\udfff", "a\n", "a:b", "x" * 33, "", " ", "\x00", "\u0663", "\uff11", "\U0001f600" * 40]))
NUMBERS = st.one_of(st.integers(-5, 400), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.booleans(), st.sampled_from(["5", 5.0, 0.5, -0.0, 10**400, 2**63, 1e308]), st.none())
valid_ref = st.sampled_from(IDS)
refs = st.one_of(valid_ref, valid_ref, valid_ref, ODD_TEXT, NUMBERS)
KEYS = st.one_of(st.sampled_from(["1", "2", "#", "*", "0", "12", "1234567890", "12345678901", "A",
                                  "a", "\u0663", "\uff11", "", "1\n", " 1", "**"]), st.text(max_size=3))
URLS = st.sampled_from([
    "https://media.example.com/a.wav", "http://127.0.0.1:8089/a.wav", "http://[::1]/a", "https://",
    "ftp://media.example.com/a", "https://u@media.example.com/", "https://media.example.com/#f",
    "https://media.example.com/\u00e9", "https://media.example.com:99999/", "https://\ud800/",
    "https://media example.com/", "https://media.example.com/a\r\nb", "http://localhost./a"])
prompts = st.one_of(
    st.fixed_dictionaries({"file": URLS}),
    st.fixed_dictionaries({"text": ODD_TEXT}, optional={
        "voice": st.one_of(ODD_TEXT, st.just("en-US-JennyNeural")),
        "language": st.sampled_from(["en-US", "en", "e", "en-US-x-y", "EN-us-Foo", "en\n"])}),
    st.fixed_dictionaries({"ssml": st.sampled_from(
        ["<speak>hi</speak>", " <speak/>", "\ufeff<speak/>", "\x1c<speak>", "<speakers>", "", "x" * 5000])}),
    st.dictionaries(st.sampled_from(["file", "text", "ssml", "voice", "x"]), ODD_TEXT, max_size=3),
    NUMBERS)
targets = st.one_of(
    st.fixed_dictionaries({"communicationUserId": st.sampled_from(
        ["8:acs:a", "8:acs:", "8:acs:\ud800", "x"])}),
    st.fixed_dictionaries({"phoneNumber": st.sampled_from(["+14255550100", "123"])},
                          optional={"callerId": st.sampled_from(["+18005550100", "x"]),
                                    "timeoutSeconds": NUMBERS}),
    st.fixed_dictionaries({"rawId": st.sampled_from(["8:acs:a", "4:+14255550100", "4:anonymous", "28:x"]),
                           "kind": st.sampled_from(["communicationUser", "phoneNumber", "x"])}),
    NUMBERS)
def step_strategy(refs: st.SearchStrategy[Any], numbers: st.SearchStrategy[Any],
                  prompts: st.SearchStrategy[Any], targets: st.SearchStrategy[Any],
                  keys: st.SearchStrategy[str], urls: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Steps of every type, each field drawn from the strategies given (odd or sound ones)."""
    listening = {"reprompt": prompts, "initialSilenceSeconds": numbers, "interDigitSeconds": numbers,
                 "retries": numbers, "noInput": refs, "invalidInput": refs, "fallback": refs}
    return st.one_of(
        st.fixed_dictionaries({"id": refs, "type": st.just("ring"), "targets": st.lists(targets, max_size=3)},
                              optional={"mode": st.sampled_from(["simultaneous", "sequential", "x"]),
                                        "timeoutSeconds": numbers, "callerId": st.just("+18005550100"),
                                        "onNoAnswer": refs, "onBusy": refs, "fallback": refs}),
        st.fixed_dictionaries({"id": refs, "type": st.just("transfer"), "target": targets},
                              optional={"onFailed": refs, "callerId": st.just("+18005550100")}),
        st.fixed_dictionaries({"id": refs, "type": st.just("redirect"), "target": targets}),
        st.fixed_dictionaries({"id": refs, "type": st.just("reject")},
                              optional={"reason": st.sampled_from(["none", "busy", "forbidden", "x", None])}),
        st.fixed_dictionaries({"id": refs, "type": st.just("hangup")}),
        st.fixed_dictionaries({"id": refs, "type": st.just("goto"), "next": refs}),
        st.fixed_dictionaries({"id": refs, "type": st.just("play"), "prompt": prompts},
                              optional={"next": refs, "onFailed": refs}),
        st.fixed_dictionaries({"id": refs, "type": st.just("menu"), "prompt": prompts,
                               "choices": st.one_of(st.dictionaries(keys, refs, max_size=4), numbers)},
                              optional={"maxDigits": numbers, **listening}),
        st.fixed_dictionaries({"id": refs, "type": st.just("collect"), "prompt": prompts, "next": refs},
                              optional={"maxDigits": numbers, "minDigits": numbers,
                                        "stopTones": st.sampled_from(["#", "*", "#*#", "1", "", " #"]),
                                        **listening}),
        st.fixed_dictionaries({"id": refs, "type": st.just("ask"), "url": urls, "fallback": refs},
                              optional={"timeoutSeconds": numbers, "choices": st.lists(refs, max_size=3)}),
    )


odd_steps = step_strategy(refs, NUMBERS, prompts, targets, KEYS, URLS)
# Mostly well-formed fields, so that the graph checks, the stored form and the dry run are reached.
sound_steps = step_strategy(
    valid_ref, st.integers(1, 5), st.just({"file": "https://media.example.com/a.wav"}),
    st.sampled_from([{"communicationUserId": "8:acs:a"}, {"communicationUserId": "8:acs:b"}]),
    st.text(st.sampled_from("0123456789*#"), min_size=1, max_size=2),
    st.just("https://crm.example.com/route"))


# The transition of each step type that leads on (the sound flows chain their steps by it).
PRIMARY = {"ring": "fallback", "transfer": "onFailed", "goto": "next", "play": "next", "menu": "fallback",
           "collect": "next", "ask": "fallback"}
REFERENCES = ("next", "fallback", "onNoAnswer", "onBusy", "onFailed", "noInput", "invalidInput")


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    """An odd flow (odd fields anywhere), or a sound one: well-formed fields, unique ids, each
    reference to one of them, so that the graph checks, the stored form and the dry run are
    reached (a graph check may still refuse it)."""
    if draw(st.booleans()):
        drawn = draw(st.lists(odd_steps, min_size=1, max_size=8))
        odd: dict[str, Any] = {"steps": drawn}
        for key, values in (("start", refs), ("maxSteps", NUMBERS), ("description", ODD_TEXT)):
            if draw(st.booleans()):
                odd[key] = draw(values)
        return odd
    drawn = draw(st.lists(sound_steps, min_size=1, max_size=10))
    ids = list(SOUND_IDS[:len(drawn)])
    for index, (step, step_id) in enumerate(zip(drawn, ids, strict=True)):
        step["id"] = step_id
        for key in REFERENCES:
            if key in step:
                step[key] = draw(st.sampled_from(ids))
        _made_sound(step, ids, draw)
        primary = PRIMARY.get(step["type"])
        if primary is not None and index + 1 < len(ids):  # a path on to the next step, mostly
            step[primary] = ids[index + 1]
    sound: dict[str, Any] = {"steps": drawn, "maxSteps": draw(st.integers(1, 100))}
    if draw(st.booleans()):
        sound["start"] = draw(st.sampled_from(ids))
    return sound


def _made_sound(step: dict[str, Any], ids: list[str], draw: st.DrawFn) -> None:
    """The few fields a sound step may still hold wrong, set right."""
    for key, wrong in (("mode", "x"), ("reason", "x"), ("reason", None)):
        if key in step and step[key] == wrong:
            del step[key]
    if step["type"] == "ring":
        step["targets"] = step["targets"] or [{"communicationUserId": "8:acs:a"}]
    if step["type"] == "menu":
        choices = step["choices"] if isinstance(step["choices"], dict) else {}
        step["choices"] = {keys: draw(st.sampled_from(ids)) for keys in choices} or {"1": ids[0]}
        step["maxDigits"] = 2
    if step["type"] == "collect":
        step["maxDigits"], step["minDigits"] = 4, draw(st.integers(1, 4))
        step["stopTones"] = "#"
    if step["type"] == "ask":
        step["choices"] = [draw(st.sampled_from(ids)) for _ in step.get("choices", [])]


outcomes = st.one_of(
    st.sampled_from(["answered", "noAnswer", "busy", "declined", "failed", "played", "accepted", "timeout",
                     "error", "invalid", "noInput", "1", "2", "#", "12", "0", "1234", ""]),
    st.fixed_dictionaries({"digits": KEYS}),
    st.fixed_dictionaries({"outcome": st.sampled_from(["answered", "busy", "x"])},
                          optional={"target": st.one_of(st.integers(0, 3), NUMBERS)}),
    st.fixed_dictionaries({"next": refs}),
    st.fixed_dictionaries({"action": st.fixed_dictionaries(
        {"type": st.sampled_from(["answer", "reject", "redirect", "x"])})}),
    NUMBERS)
SOUND_IDS = tuple(f"s{index}" for index in range(10))  # the ids of a sound flow's steps
scripts = st.one_of(st.dictionaries(st.one_of(st.sampled_from(SOUND_IDS), valid_ref, ODD_TEXT),
                                    st.lists(outcomes, max_size=6), max_size=6), NUMBERS)


def _parsed(parse: Callable[..., T], *args: Any) -> tuple[T | None, list[FieldProblem]]:
    """What `parse` made of `args`, or None and the problems of its InvalidInput."""
    try:
        return parse(*args), []
    except InvalidInput as refused:
        return None, refused.problems


def _as_stored(value: object) -> Any:
    """What JSON makes of `value`, as a request body or a stored row would (strict: no NaN)."""
    return json.loads(json.dumps(value, allow_nan=False))


def test_odd_flows_are_refused_by_field_and_accepted_ones_store_and_dry_run() -> None:
    @settings(max_examples=FUZZ_EXAMPLES * 8, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(flow=flows(), script=scripts)
    def fuzz(flow: dict[str, Any], script: object) -> None:
        document = _as_stored({"rules": [], "defaultAction": {"type": "flow", "flow": "f"},
                               "flows": {"f": flow}})
        rules, problems = _parsed(parse_rule_set, document)
        if rules is None:
            assert problems and all(p.field.startswith("flows.f") and p.reason for p in problems), problems
            event("rule set refused")
            return
        stored = _as_stored(rules.to_json())
        assert parse_rule_set(stored).to_json() == stored  # the stored form reads back as it was
        found = flow_of(rules, "f")
        assert found is not None
        parsed, problems = _parsed(parse_script, _as_stored(script), found)
        if parsed is None:
            assert all(p.field.startswith("script") for p in problems), problems
            event("script refused")
        result = simulate(found, CallFacts(), parsed or {})
        event(f"dry run: {result.outcome}")
        assert result.steps_taken <= found.max_steps
        _as_stored(result.to_json())

    fuzz()


WAV = "https://media.example.com/menu.wav"
MENU_FLOW: dict[str, Any] = {"start": "welcome", "steps": [
    {"id": "welcome", "type": "play", "prompt": {"file": WAV}, "next": "main", "onFailed": "main"},
    {"id": "main", "type": "menu", "prompt": {"file": WAV}, "maxDigits": 2, "retries": 1,
     "choices": {"1": "account", "2": "bye", "*9": "bye"},
     "noInput": "account", "invalidInput": "welcome", "fallback": "bye"},
    {"id": "account", "type": "collect", "prompt": {"file": WAV}, "maxDigits": 6, "minDigits": 4,
     "stopTones": "#", "retries": 1, "next": "bye", "invalidInput": "main", "fallback": "bye"},
    {"id": "bye", "type": "hangup"}]}
# The same flow entered at each of its media steps: every step stays reachable from each.
MEDIA_FLOWS = tuple({**MENU_FLOW, "start": start} for start in ("welcome", "main", "account"))
TONE_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
              "pound", "asterisk", "a", "b", "c", "d")
tones = st.one_of(
    st.lists(st.one_of(st.sampled_from(TONE_NAMES), st.sampled_from(["ONE", "Pound", "", "1", "#"]),
                       NUMBERS, st.lists(st.sampled_from(TONE_NAMES), max_size=2)), max_size=12),
    st.text(max_size=8), NUMBERS,
    st.dictionaries(st.sampled_from(["0", "tones"]), st.sampled_from(TONE_NAMES)))
dtmf_results = st.one_of(st.fixed_dictionaries({"tones": tones}),
                         st.fixed_dictionaries({"tones": tones}, optional={"digits": st.text(max_size=6)}),
                         st.lists(st.sampled_from(TONE_NAMES), max_size=4), st.text(max_size=8), NUMBERS)
codes = st.one_of(st.sampled_from([200, 400, 404, 500, 8510, 8511, 8531, 8532, 0]), NUMBERS,
                  st.text(max_size=4))
result_infos = st.one_of(st.fixed_dictionaries({"code": codes, "subCode": codes},
                                               optional={"message": st.text(max_size=20)}),
                         NUMBERS, st.text(max_size=8), st.lists(NUMBERS, max_size=2))
MEDIA_KINDS = ("PlayCompleted", "PlayFailed", "PlayCanceled", "PlayStarted", "RecognizeCompleted",
               "RecognizeFailed", "RecognizeCanceled", "CallDisconnected")


@st.composite
def media_events(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """(kind, which context: current/stale/foreign/odd/none, extra data)."""
    kind = draw(st.sampled_from(MEDIA_KINDS))
    which = draw(st.sampled_from(["current", "current", "current", "stale", "foreign", "odd", "none"]))
    data: dict[str, Any] = {}
    if kind.startswith("Recognize") and draw(st.booleans()):
        data[draw(st.sampled_from(["dtmfResult", "dtmfResult", "collectTonesResult"]))] = draw(dtmf_results)
    if draw(st.booleans()):
        data["resultInformation"] = draw(result_infos)
    if draw(st.booleans()):
        data["recognitionType"] = draw(st.one_of(st.sampled_from(["dtmf", "speech", "choices"]), NUMBERS))
    return kind, which, data


def _context(rig: FlowRig, which: str, odd: str) -> str | None:
    media = [s.operation_context for s in rig.acs.sent if s.action in ("play", "recognize")]
    known = [context for context in media if context]
    if which == "current" and known:
        return known[-1]
    if which == "stale" and len(known) > 1:
        return known[0]
    if which == "foreign" and known:
        run_id = known[-1].split(":")[1]
        return known[-1].replace(run_id, run_id[::-1] + "x", 1)
    return odd if which == "odd" else None


def _keys_in_history(data: dict[str, Any]) -> list[object]:
    """What a stored event keeps under the digit fields: only "withheld" and a count may be."""
    kept: list[object] = []
    for key in ("dtmfResult", "collectTonesResult"):
        value = data.get(key)
        if value is None or value == "withheld":
            continue
        counted = isinstance(value, dict) and set(value) <= {"tones", "toneCount"}
        if counted and value.get("tones") == "withheld":
            continue
        kept.append(value)
    return kept


@pytest.fixture(scope="module")
def loop() -> Any:
    made = asyncio.new_event_loop()
    yield made
    made.close()


def test_media_callbacks_in_any_order_and_shape_move_a_menu_safely(loop: asyncio.AbstractEventLoop) -> None:
    async def run(flow: dict[str, Any], events: list[tuple[str, str, dict[str, Any]]], odd: str) -> None:
        rig = await flow_rig(flow)
        await rig.offer()
        [answer] = rig.sent("answer")
        await rig.callback("CallConnected", operationContext=answer)
        for kind, which, data in events:
            context = _context(rig, which, odd)
            await rig.callback(kind, **({"operationContext": context} if context is not None else {}), **data)
        contexts = [s.operation_context for s in rig.acs.sent if s.operation_context]
        assert len(contexts) == len(set(contexts)), f"a request was sent twice: {contexts}"
        record = await rig.record()
        for stored in await rig.store.events(record.call_connection_id):
            assert not _keys_in_history(stored.data), stored.data
        if record.flow_run is not None:
            _as_stored([entry.outcome for entry in record.flow_run.path])
            event(f"run {record.flow_run.status.value} at {record.flow_run.step}")

    @settings(max_examples=FUZZ_EXAMPLES * 4, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(flow=st.sampled_from(MEDIA_FLOWS), events=st.lists(media_events(), min_size=1, max_size=12),
           odd=ODD_TEXT)
    def fuzz(flow: dict[str, Any], events: list[tuple[str, str, dict[str, Any]]], odd: str) -> None:
        loop.run_until_complete(run(flow, events, odd))

    fuzz()
