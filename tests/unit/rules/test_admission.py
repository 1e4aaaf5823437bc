"""What a rule set may not be stored with, though a stored one still reads (domain/rules/admission.py).

Each case was stored with a 200 by an earlier release. PUT /api/rules refuses it now, naming the
field; the parser, which reads every stored version again, still takes it, or the set in force
would fail every IncomingCall after an upgrade.
"""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.adapters.store.rules import RuleStore
from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.rules import parse_rule_set
from callcontrol.domain.rules.admission import admission_problems
from callcontrol.usecases.rules import ReplaceRuleSet, Rules
from tests.support.memory_tables import MemoryTableBackend

HANGUP = {"id": "bye", "type": "hangup"}


def flows(*steps: dict[str, Any], **flow: Any) -> dict[str, Any]:
    return {"rules": [{"id": "r", "action": {"type": "flow", "flow": "sales"}}],
            "defaultAction": {"type": "answer"},
            "flows": {"sales": {"steps": [*steps, HANGUP], **flow}}}


def play(prompt: dict[str, Any], then: str = "bye") -> dict[str, Any]:
    return {"id": "hi", "type": "play", "prompt": prompt, "next": then}


def ask(url: str) -> dict[str, Any]:
    return {"id": "ask", "type": "ask", "url": url, "choices": ["bye"], "fallback": "bye"}


BAD_URLS = [
    "https://crm example.com/route",  # a space in the host
    "https://crm.example.com/a b",
    "https://crm.example.com/route\r\nX-Injected: 1",  # urlsplit drops CR and LF: it looked fine
    "https://crm.example.com/\x00",
    "https://crm.example.com/\t",
    "https://\ud800.example.com/",  # a lone surrogate: the ask could never be sent
    "https://cr\u00e9dit.example.com/",  # an IDN host: the document asks for its ASCII form
]

CASES = [
    *[pytest.param(flows(play({"file": url}, "ask"), ask(url)),
                   {"flows.sales.steps[0].prompt.file", "flows.sales.steps[1].url"}, id=f"url-{n}")
      for n, url in enumerate(BAD_URLS)],
    pytest.param(flows(description="Sales \ud800"), {"flows.sales.description"}, id="flow-description"),
    pytest.param(flows({**play({"file": "https://media.example.com/hi.wav"}), "description": "\udfff"}),
                 {"flows.sales.steps[0].description"}, id="step-description"),
    pytest.param(flows(play({"text": "Hello \ud83d"})), {"flows.sales.steps[0].prompt.text"}, id="text"),
    pytest.param(flows(play({"ssml": "<speak>\udc00</speak>"})), {"flows.sales.steps[0].prompt.ssml"},
                 id="ssml"),
    pytest.param(flows(play({"text": " \n\t "})), {"flows.sales.steps[0].prompt.text"}, id="silent-text"),
]


@pytest.mark.parametrize(("document", "refused"), CASES)
def test_a_set_is_refused_by_field_yet_reads(document: dict[str, Any], refused: set[str]) -> None:
    rules = parse_rule_set(document)  # reads: a stored version is parsed so
    problems = admission_problems(rules)
    assert {p.field for p in problems} == refused, problems
    assert len(problems) == len(refused)  # one reason a field


@pytest.mark.parametrize(("document", "refused"), CASES)
async def test_put_refuses_it_and_stores_nothing(document: dict[str, Any], refused: set[str]) -> None:
    store = RuleStore(MemoryTableBackend())
    rules = Rules(store, store, speech=lambda: True, ask_signing=lambda: True)
    with pytest.raises(InvalidInput) as caught:
        await rules.replace(ReplaceRuleSet(parse_rule_set(document), None))
    assert {p.field for p in caught.value.problems} == refused
    assert (await store.current()).version == 0


@pytest.mark.parametrize(("document", "refused"), CASES)
async def test_a_set_an_earlier_release_stored_still_reads(document: dict[str, Any],
                                                          refused: set[str]) -> None:
    backend = MemoryTableBackend()
    stored = await RuleStore(backend).replace(parse_rule_set(document), None)  # no admission there
    assert (await RuleStore(backend).current()).rules == stored.rules  # a fresh read parses it


def test_a_sound_set_has_no_problem() -> None:
    rules = parse_rule_set(flows(play({"file": "https://media.example.com/hi.wav"}, "ask"),
                                 ask("https://crm.example.com/route?q=a%20b"), description="Sales"))
    assert admission_problems(rules) == []
