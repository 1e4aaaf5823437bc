"""Media on a call's timeline: the prompts the app asks ACS to play or recognize with, how
they ended (the Play*/Recognize* callbacks), and the keys a remote party pressed.

Presses come from the emulator's network log (`pressedKeys`: who, how many, how many heard,
never which keys) and, for presses made on the console's keypad, from the console's own
record, which has the keys the tester typed. Pure: no I/O here.
"""

from __future__ import annotations

from typing import Any

from console.keypad import PressRecord, verdict
from console.steps import ACS, Step

KIND = "media"
TONES_KIND = "tones"
MEDIA_OPERATION_PREFIX = "CallMedia_"
MEDIA_EVENT_PREFIXES = ("Play", "Recognize", "ContinuousDtmf", "SendDtmf")
# A console press and the network log's entry for it are written a moment apart.
_MATCH_SECONDS = 5.0

# The swagger's Tone names as a keypad shows them.
KEY_OF_TONE = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "asterisk": "*", "pound": "#",
    "a": "A", "b": "B", "c": "C", "d": "D",
}


def is_media_operation(operation: str) -> bool:
    return operation.startswith(MEDIA_OPERATION_PREFIX)


def is_media_event(name: str) -> bool:
    return name.startswith(MEDIA_EVENT_PREFIXES)


def request_detail(body: dict[str, Any]) -> str:
    """A play or recognize request in a line: its prompts and, for a recognize, what it waits for."""
    parts = []
    sources = body.get("playSources") or body.get("playPrompts") or []
    if isinstance(body.get("playPrompt"), dict):
        sources = [body["playPrompt"]]
    prompts = [_source_text(s) for s in sources if isinstance(s, dict)]
    if prompts:
        parts.append("prompt " + ", ".join(prompts))
    options = body.get("recognizeOptions")
    if isinstance(options, dict):
        dtmf = options.get("dtmfOptions") or {}
        most = dtmf.get("maxTonesToCollect", "?")
        parts.append(f"{body.get('recognizeInputType', 'dtmf')}: up to {most} tone(s)")
        stops = [KEY_OF_TONE.get(str(t), str(t)) for t in dtmf.get("stopTones") or []]
        if stops:
            parts.append("stop " + " ".join(stops))
    if isinstance(body.get("playOptions"), dict) and body["playOptions"].get("loop"):
        parts.append("loop")
    if body.get("operationContext"):
        parts.append(f"context {body['operationContext']}")
    return "; ".join(parts)


def _source_text(source: dict[str, Any]) -> str:
    kind = str(source.get("kind", ""))
    found = source.get(kind)
    inner: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "file":
        return "file " + str(inner.get("uri", "")).rsplit("/", 1)[-1]
    if kind == "text":
        return f"text “{inner.get('text', '')}”"
    if kind == "ssml":
        return "ssml"
    return kind or "?"


def callback_detail(data: dict[str, Any], result_text: str) -> str:
    """A media callback's line: the tones a recognize collected (as keys), then its result."""
    tones = (data.get("dtmfResult") or {}).get("tones")
    parts = []
    if isinstance(tones, list):
        parts.append("tones " + (" ".join(KEY_OF_TONE.get(str(t), str(t)) for t in tones) or "(none)"))
    if "failedPlaySourceIndex" in data:
        parts.append(f"source {data['failedPlaySourceIndex']} failed")
    if result_text:
        parts.append(result_text)
    if data.get("operationContext"):
        parts.append(f"context {data['operationContext']}")
    return "; ".join(parts)


def keypress_steps(
    journal: list[dict[str, Any]], presses: list[PressRecord], server_call_id: str, party_of: Any
) -> list[Step]:
    """One arrow per press, party → ACS. The network log says who pressed and what was heard;
    a console press it matches (same party, same number of keys, written moments apart) adds
    the keys. `party_of` reads a log entry's party as a raw id."""
    unmatched = [p for p in presses if p.server_call_id == server_call_id]
    steps = []
    for entry in journal:
        if entry.get("serverCallId") != server_call_id or entry.get("kind") != "pressedKeys":
            continue
        party, at = party_of(entry.get("party")), float(entry["time"])
        count, heard = int(entry.get("count") or 0), int(entry.get("heard") or 0)
        match = next((p for p in unmatched if p.participant == party and len(p.keys) == count
                      and abs(p.time - at) <= _MATCH_SECONDS), None)
        if match is not None:
            unmatched.remove(match)
            label, detail = f"presses {' '.join(match.keys)}", verdict(list(match.heard))
        else:
            label = f"presses {count} key{'s' if count != 1 else ''}"
            detail = verdict([True] * heard + [False] * (count - heard))
        steps.append(Step(at, party, ACS, label, TONES_KIND, detail))
    # A console press the log does not have (it was reset meanwhile): still the tester's input.
    for press in unmatched:
        steps.append(Step(press.time, press.participant, ACS, f"presses {' '.join(press.keys)}",
                          TONES_KIND, verdict(list(press.heard))))
    return steps
