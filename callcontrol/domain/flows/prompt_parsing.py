"""The `play` and `menu` steps from JSON, every problem by its path (parsing.py registers them).

    {"id": "welcome", "type": "play", "prompt": {"file": "https://…/welcome.wav"}, "next": "main"}
    {"id": "main", "type": "menu",
     "prompt": {"text": "Press 1 for sales, 2 for support", "voice": "en-US-JennyNeural"},
     "reprompt": {"ssml": "<speak …>…</speak>"},
     "choices": {"1": "sales", "2": "support"}, "maxDigits": 1,
     "initialSilenceSeconds": 5, "interDigitSeconds": 3, "retries": 2,
     "noInput": "operator", "invalidInput": "operator", "fallback": "bye"}

A prompt holds exactly one of `file` (an https:// URL ACS fetches; plain http only to a loopback
host, for local use), `text` (with an optional `voice` or `language`) or `ssml`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from callcontrol.domain.flows import fields as f
from callcontrol.domain.flows.fields import Problems, child
from callcontrol.domain.flows.model import CollectStep, MenuStep, PlayStep
from callcontrol.domain.flows.prompts import (
    DEFAULT_INITIAL_SILENCE_SECONDS,
    DEFAULT_INTER_DIGIT_SECONDS,
    DEFAULT_MAX_DIGITS,
    DEFAULT_RETRIES,
    DIGITS,
    MAX_COLLECT_DIGITS,
    MAX_DIGITS_LIMIT,
    MAX_INITIAL_SILENCE_SECONDS,
    MAX_INTER_DIGIT_SECONDS,
    MAX_RETRIES,
    MAX_SSML_LENGTH,
    MAX_TEXT_LENGTH,
    STOP_KEYS,
    MenuChoice,
    Prompt,
    PromptKind,
)
from callcontrol.domain.flows.targets import ask_url_problem

PLAY_FIELDS: Final = ("prompt", "next", "onFailed")
MENU_FIELDS: Final = ("prompt", "reprompt", "choices", "maxDigits", "initialSilenceSeconds",
                      "interDigitSeconds", "retries", "noInput", "invalidInput", "fallback")
COLLECT_FIELDS: Final = ("prompt", "reprompt", "next", "maxDigits", "minDigits", "stopTones",
                         "initialSilenceSeconds", "interDigitSeconds", "retries", "noInput",
                         "invalidInput", "fallback")
_PROMPT_FIELDS: Final = ("file", "text", "ssml", "voice", "language")
VOICE: Final = re.compile(r"[A-Za-z]{2,3}-[A-Za-z0-9]{2,8}-[A-Za-z0-9]{1,64}")
LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
MAX_CHOICES: Final = 32


def play(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> PlayStep | None:
    prompt = prompt_at(body, "prompt", where, problems)
    next_step = f.name(body, "next", where, problems, required=False)
    on_failed = f.name(body, "onFailed", where, problems, required=False)
    if prompt is None:
        return None
    return PlayStep(id=step_id, prompt=prompt, next=next_step, on_failed=on_failed)


def menu(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> MenuStep | None:
    prompt = prompt_at(body, "prompt", where, problems)
    reprompt = prompt_at(body, "reprompt", where, problems, required=False) if "reprompt" in body else None
    max_digits = _whole(body, "maxDigits", where, problems, 1, MAX_DIGITS_LIMIT, DEFAULT_MAX_DIGITS)
    silence = _whole(body, "initialSilenceSeconds", where, problems, 1, MAX_INITIAL_SILENCE_SECONDS,
                     DEFAULT_INITIAL_SILENCE_SECONDS)
    inter = _whole(body, "interDigitSeconds", where, problems, 1, MAX_INTER_DIGIT_SECONDS,
                   DEFAULT_INTER_DIGIT_SECONDS)
    retries = _whole(body, "retries", where, problems, 0, MAX_RETRIES, DEFAULT_RETRIES)
    choices = _choices(body.get("choices"), child(where, "choices"), max_digits, problems)
    no_input = f.name(body, "noInput", where, problems, required=False)
    invalid = f.name(body, "invalidInput", where, problems, required=False)
    fallback = f.name(body, "fallback", where, problems, required=False)
    if prompt is None or choices is None:
        return None
    return MenuStep(id=step_id, prompt=prompt, choices=choices, max_digits=max_digits,
                    initial_silence_seconds=silence, inter_digit_seconds=inter, retries=retries,
                    reprompt=reprompt, no_input=no_input, invalid_input=invalid, fallback=fallback)


def collect(step_id: str, body: Mapping[str, Any], where: str, problems: Problems) -> CollectStep | None:
    prompt = prompt_at(body, "prompt", where, problems)
    reprompt = prompt_at(body, "reprompt", where, problems, required=False) if "reprompt" in body else None
    next_step = f.name(body, "next", where, problems)
    if "maxDigits" not in body:
        problems.add(child(where, "maxDigits"),
                     f"is required: how many keys to gather (1 to {MAX_COLLECT_DIGITS})")
    max_digits = _whole(body, "maxDigits", where, problems, 1, MAX_COLLECT_DIGITS, 1)
    min_digits = _whole(body, "minDigits", where, problems, 1, max_digits, 1)
    stop = f.text(body, "stopTones", where, problems, required=False)
    if stop is not None and not set(stop) <= STOP_KEYS:
        problems.add(child(where, "stopTones"), "must be keys among * and #, e.g. \"#\"")
    silence = _whole(body, "initialSilenceSeconds", where, problems, 1, MAX_INITIAL_SILENCE_SECONDS,
                     DEFAULT_INITIAL_SILENCE_SECONDS)
    inter = _whole(body, "interDigitSeconds", where, problems, 1, MAX_INTER_DIGIT_SECONDS,
                   DEFAULT_INTER_DIGIT_SECONDS)
    retries = _whole(body, "retries", where, problems, 0, MAX_RETRIES, DEFAULT_RETRIES)
    no_input = f.name(body, "noInput", where, problems, required=False)
    invalid = f.name(body, "invalidInput", where, problems, required=False)
    fallback = f.name(body, "fallback", where, problems, required=False)
    if prompt is None or next_step is None:
        return None
    return CollectStep(id=step_id, prompt=prompt, next=next_step, max_digits=max_digits,
                       min_digits=min_digits, stop_tones="".join(dict.fromkeys(stop or "")),
                       initial_silence_seconds=silence, inter_digit_seconds=inter, retries=retries,
                       reprompt=reprompt, no_input=no_input, invalid_input=invalid, fallback=fallback)


def prompt_at(body: Mapping[str, Any], key: str, where: str, problems: Problems, *,
              required: bool = True) -> Prompt | None:
    at = child(where, key)
    raw = body.get(key)
    if raw is None:
        if required:
            problems.add(at, "is required: an object with one of file, text or ssml")
        return None
    prompt_body = f.obj(raw, at, problems, _PROMPT_FIELDS)
    if prompt_body is None:
        return None
    given = [kind for kind in PromptKind if kind.value in prompt_body]
    if len(given) != 1:
        problems.add(at, "must hold exactly one of file, text or ssml")
        return None
    kind = given[0]
    value = f.text(prompt_body, kind.value, at, problems)
    voice = language = None
    if kind is PromptKind.TEXT:
        voice = _matching(prompt_body, "voice", at, problems, VOICE,
                          "an Azure voice name like en-US-JennyNeural")
        language = _matching(prompt_body, "language", at, problems, LANGUAGE, "a locale like en-US")
    for extra in ("voice", "language"):
        if extra in prompt_body and kind is not PromptKind.TEXT:
            problems.add(child(at, extra), "applies to a text prompt only (SSML names its own voice)")
    if value is None:
        return None
    reason = _value_problem(kind, value)
    if reason is not None:
        problems.add(child(at, kind.value), reason)
        return None
    return Prompt(kind, value, voice, language)


def _value_problem(kind: PromptKind, value: str) -> str | None:
    if kind is PromptKind.FILE:
        reason = ask_url_problem(value)
        return None if reason is None else reason.replace("requests are signed instead", "ACS fetches it")
    if kind is PromptKind.TEXT:
        return f"must be at most {MAX_TEXT_LENGTH} characters long" if len(value) > MAX_TEXT_LENGTH else None
    if len(value) > MAX_SSML_LENGTH:
        return f"must be at most {MAX_SSML_LENGTH} characters long"
    return None if value.lstrip().startswith("<speak") else "must be an SSML document (<speak …>…</speak>)"


def _matching(body: Mapping[str, Any], key: str, where: str, problems: Problems,
              pattern: re.Pattern[str], shown: str) -> str | None:
    value = f.text(body, key, where, problems, required=False)
    if value is not None and not pattern.fullmatch(value):
        problems.add(child(where, key), f"must be {shown}")
        return None
    return value


def _whole(body: Mapping[str, Any], key: str, where: str, problems: Problems,
           low: int, high: int, default: int) -> int:
    value = f.number(body, key, where, problems, low=low, high=high, integer=True)
    return int(value) if value is not None else default


def _choices(raw: object, where: str, max_digits: int, problems: Problems) -> tuple[MenuChoice, ...] | None:
    if not isinstance(raw, dict) or not raw:
        problems.add(where, "is required: an object of digits → step id, e.g. {\"1\": \"sales\"}")
        return None
    if len(raw) > MAX_CHOICES:
        problems.add(where, f"must hold at most {MAX_CHOICES} choices")
        return None
    choices: list[MenuChoice] = []
    for digits, target in raw.items():
        at = child(where, str(digits))
        if not digits or not set(digits) <= DIGITS:
            problems.add(at, "must be keys of a phone: digits 0-9, * and #")
            continue
        if len(digits) > max_digits:
            problems.add(at, f"has {len(digits)} keys, more than maxDigits ({max_digits})")
            continue
        if not isinstance(target, str) or not f.NAME.fullmatch(target):
            problems.add(at, f"must name a step: a step id {f.NAME_RULE}")
            continue
        choices.append(MenuChoice(digits, target))
    return tuple(choices) if len(choices) == len(raw) else None
