"""Parsing play and menu steps: what is accepted, and every refusal named by its field."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.flows.model import MenuStep, PlayStep
from callcontrol.domain.flows.prompts import MenuFailure, Prompt, PromptKind
from tests.unit.flows._support import HANGUP, flow_of, problems_of, steps
from tests.unit.flows.menu_support import SORRY, WAV, menu, play, targets

REST = (targets("sales"), targets("support"), targets("operator"), HANGUP)


def test_a_menu_parses_with_its_defaults_and_routes() -> None:
    flow = flow_of(steps(play(next="main"), menu(), *REST))
    welcome, main = flow.steps[0], flow.steps[1]
    assert isinstance(welcome, PlayStep) and welcome.next == "main" and welcome.prompt.kind is PromptKind.FILE
    assert isinstance(main, MenuStep)
    timing = (main.max_digits, main.initial_silence_seconds, main.inter_digit_seconds, main.retries)
    assert timing == (1, 5, 3, 2)
    assert main.choice("1") is not None and main.choice("1").next == "sales"  # type: ignore[union-attr]
    assert main.choice("3") is None
    assert main.prompt_for(1) == Prompt(PromptKind.FILE, WAV)
    assert main.prompt_for(2) == Prompt(PromptKind.FILE, SORRY)
    assert main.next_for(MenuFailure.NO_INPUT) == "operator" and main.next_for(MenuFailure.FAILED) == "bye"


def test_text_and_ssml_prompts_keep_their_voice_and_language() -> None:
    flow = flow_of(steps(
        play("hi", prompt={"text": "Welcome", "voice": "en-US-JennyNeural", "language": "en-US"}, next="x"),
        play("x", prompt={"ssml": "<speak version='1.0'>Hi</speak>"}), start="hi"))
    hi, x = flow.steps[0], flow.steps[1]
    assert isinstance(hi, PlayStep)
    assert hi.prompt == Prompt(PromptKind.TEXT, "Welcome", "en-US-JennyNeural", "en-US")
    assert isinstance(x, PlayStep) and x.prompt.kind is PromptKind.SSML and x.next is None


def test_a_choice_can_lead_back_to_the_menu_a_loop_bounded_by_max_steps() -> None:
    flow = flow_of(steps(menu(choices={"9": "main", "1": "sales"}), targets("sales"), targets("operator"),
                         HANGUP))
    assert isinstance(flow.steps[0], MenuStep)


def test_loopback_http_file_prompts_are_allowed_for_local_use() -> None:
    flow = flow_of(steps(play(prompt={"file": "http://127.0.0.1:8089/media/hi.wav"})))
    assert isinstance(flow.steps[0], PlayStep)


@pytest.mark.parametrize(
    ("step", "field", "reason"),
    [
        (menu(choices={"1a": "sales"}), "choices.1a", "digits 0-9, * and #"),
        (menu(choices={"": "sales"}), "choices.", "digits 0-9, * and #"),
        (menu(choices={"12": "sales"}), "choices.12", "more than maxDigits (1)"),
        (menu(choices={"1": "nowhere"}), "choices.1", "names no step of this flow: 'nowhere'"),
        (menu(choices={"1": "bad id"}), "choices.1", "must name a step"),
        (menu(choices={}), "choices", "is required"),
        (menu(choices=["sales"]), "choices", "is required"),
        (menu(noInput="nowhere"), "noInput", "names no step"),
        (menu(invalidInput="nowhere"), "invalidInput", "names no step"),
        (menu(maxDigits=11), "maxDigits", "from 1 to 10"),
        (menu(maxDigits=1.5), "maxDigits", "a whole number"),
        (menu(initialSilenceSeconds=0), "initialSilenceSeconds", "from 1 to 300"),
        (menu(interDigitSeconds=61), "interDigitSeconds", "from 1 to 60"),
        (menu(retries=6), "retries", "from 0 to 5"),
        (menu(prompt=None), "prompt", "is required"),
        (menu(prompt={"file": WAV, "text": "x"}), "prompt", "exactly one of file, text or ssml"),
        (menu(prompt={}), "prompt", "exactly one of file, text or ssml"),
        (menu(reprompt={"file": "http://media.example.com/a.wav"}), "reprompt.file", "must use https://"),
        (menu(prompt={"file": "ftp://media.example.com/a.wav"}), "prompt.file", "absolute https:// URL"),
        (menu(prompt={"file": "https://u:p@media.example.com/a.wav"}), "prompt.file", "ACS fetches it"),
        (menu(prompt={"file": WAV, "colour": "red"}), "prompt.colour", "is not a known field"),
        (play(prompt={"file": WAV, "voice": "en-US-JennyNeural"}), "prompt.voice", "text prompt only"),
        (play(prompt={"text": "hi", "voice": "Jenny"}), "prompt.voice", "Azure voice name"),
        (play(prompt={"text": "hi", "language": "english!"}), "prompt.language", "a locale"),
        (play(prompt={"text": "x" * 1001}), "prompt.text", "at most 1000"),
        (play(prompt={"ssml": "hello"}), "prompt.ssml", "SSML document"),
        (play(prompt={"text": ""}), "prompt.text", "non-empty string"),
        (play(next="nowhere"), "next", "names no step"),
        (play(onFailed="nowhere"), "onFailed", "names no step"),
        (play(loop=True), "loop", "is not a known field"),
    ],
)
def test_each_problem_names_its_field(step: dict[str, Any], field: str, reason: str) -> None:
    problems = problems_of(steps(step, *REST))
    where = f"flows.sales.steps[0].{field}"
    assert any(p.field == where and reason in p.reason for p in problems), problems


def test_a_reject_after_a_menu_is_refused_the_menu_answered_the_call() -> None:
    problems = problems_of(steps(menu(fallback="closed"), {"id": "closed", "type": "reject"},
                                 targets("sales"), targets("support"), targets("operator"), HANGUP))
    assert [(p.field, "'main' answers it" in p.reason) for p in problems] == [
        ("flows.sales.steps[1].type", True)]


def test_an_unreachable_step_behind_a_menu_is_reported() -> None:
    problems = problems_of(steps(menu(), *REST, play("lonely")))
    assert [p.field for p in problems] == ["flows.sales.steps[5].id"]
