"""The pure parts of the emulated media: keys → tones, how a recognize collects them, how long
a prompt file lasts."""

from __future__ import annotations

import struct

from emulator.acs import mediacodes
from emulator.acs.dtmf import DtmfCollector, tones_of_keys
from emulator.acs.mediasettings import InterToneTimeoutEvent
from emulator.acs.prompts import audio_seconds


def _collector(max_tones: int = 3, stop: frozenset[str] = frozenset({"pound"})) -> DtmfCollector:
    return DtmfCollector(max_tones, stop, InterToneTimeoutEvent.COMPLETED)


def test_keys_map_to_the_swagger_tone_names() -> None:
    assert tones_of_keys("0129*#aD") == ["zero", "one", "two", "nine", "asterisk", "pound", "a", "d"]
    assert tones_of_keys("1x") is None
    assert tones_of_keys("") == []


def test_max_tones_end_the_collection() -> None:
    collector = _collector(max_tones=2)
    assert collector.feed("one") is None
    outcome = collector.feed("two")
    assert outcome is not None and outcome.result == mediacodes.MAX_TONES_RECEIVED
    assert outcome.fields() == {"recognitionType": "dtmf", "dtmfResult": {"tones": ["one", "two"]}}


def test_a_stop_tone_ends_it_without_being_reported() -> None:
    collector = _collector()
    collector.feed("four")
    outcome = collector.feed("pound")
    assert outcome is not None and outcome.event_type == "RecognizeCompleted"
    assert outcome.result["subCode"] == 8514 and outcome.tones == ["four"]


def test_silence_before_any_tone_fails_and_after_one_completes_or_fails_as_set() -> None:
    silent = _collector().timed_out()
    assert (silent.event_type, silent.result["subCode"], silent.fields()) == ("RecognizeFailed", 8510, {})
    collector = _collector()
    collector.feed("seven")
    completed = collector.timed_out()
    assert (completed.event_type, completed.result["code"], completed.tones) == (
        "RecognizeCompleted",
        400,
        ["seven"],
    )
    strict = DtmfCollector(3, frozenset(), InterToneTimeoutEvent.FAILED)
    strict.feed("seven")
    failed = strict.timed_out()
    assert (failed.event_type, failed.result["subCode"], failed.fields()) == ("RecognizeFailed", 8532, {})


def _wav(data_bytes: int, byte_rate: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, byte_rate // 2, byte_rate, 2, 16)
    return (
        b"RIFF\0\0\0\0WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_bytes)
    )


def test_a_wav_lasts_what_its_header_says_and_other_bytes_are_no_audio() -> None:
    assert audio_seconds(_wav(64000, 32000), mp3_seconds=1) == 2.0
    assert audio_seconds(b"ID3\x04" + b"\0" * 10, mp3_seconds=1.5) == 1.5
    assert audio_seconds(b"\xff\xfb\x90\x00", mp3_seconds=1.5) == 1.5
    assert audio_seconds(b"<html>", mp3_seconds=1) is None
    assert audio_seconds(b"RIFF\0\0\0\0WAVE", mp3_seconds=1) is None  # no chunks
