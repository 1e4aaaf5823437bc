"""PUT /api/rules with an ask step through function_app.app (over the table twin): refused with
problem+json naming each ask step while FLOW_ASK_SECRET is unset; accepted once it is set. And
the ask URL's scheme: https, or http on loopback only. A RULES_FILE seed is held to the same rule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcontrol.adapters.store.rules import Seed
from callcontrol.composition import Services, use_services
from callcontrol.composition.from_settings import rules_file_seed
from callcontrol.domain.errors import SettingError
from callcontrol.settings import load_settings
from tests.support.app import http_request, invoke, json_body
from tests.support.ask_receiver import SECRET
from tests.support.memory_tables import MemoryTableBackend

ASK = {"id": "crm", "type": "ask", "url": "https://crm.example.com/route", "fallback": "bye"}
BYE = {"id": "bye", "type": "hangup"}


def rule_set(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"rules": [], "defaultAction": {"type": "flow", "flow": "desk"},
            "flows": {"desk": {"steps": list(steps)}}}


@pytest.fixture
def secret() -> list[str | None]:
    return [None]  # what FLOW_ASK_SECRET is for the test's app


@pytest.fixture(autouse=True)
def wired(secret: list[str | None]) -> Iterator[None]:
    backend = MemoryTableBackend()

    def build() -> Services:
        values = {"RULES_CACHE_SECONDS": "5", **({"FLOW_ASK_SECRET": secret[0]} if secret[0] else {})}
        return Services(load_settings(values), backend=backend)

    with use_services(build):
        yield


async def put(body: object) -> tuple[int, dict[str, Any], str]:
    response = await invoke("put_rules", http_request("PUT", "rules", body=body))
    return response.status_code, json_body(response), response.mimetype


async def test_an_ask_step_is_refused_by_field_while_the_secret_is_unset() -> None:
    status, body, media = await put(rule_set(ASK, BYE))
    assert (status, media) == (400, "application/problem+json")
    [problem] = body["errors"]
    assert problem["field"] == "flows.desk.steps[0]" and "FLOW_ASK_SECRET" in problem["reason"]
    status, _, _ = await put(rule_set(BYE))  # a flow without an ask is not affected
    assert status == 200


async def test_an_ask_step_is_accepted_once_the_secret_is_set(secret: list[str | None]) -> None:
    secret[0] = SECRET
    status, body, _ = await put(rule_set(ASK, BYE))
    assert status == 200, body
    assert body["flows"]["desk"]["steps"][0]["url"] == ASK["url"]


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://127.0.0.1:8089/emulator/ask/crm", True),
        ("http://localhost:8089/route", True),
        ("http://[::1]:8089/route", True),
        ("http://crm.example.com/route", False),
        ("http://10.0.0.5/route", False),
        ("ftp://crm.example.com/route", False),
    ],
)
async def test_the_ask_url_must_be_https_except_on_loopback(
    secret: list[str | None], url: str, accepted: bool
) -> None:
    secret[0] = SECRET
    status, body, _ = await put(rule_set({**ASK, "url": url}, BYE))
    if accepted:
        assert status == 200, body
    else:
        assert status == 400 and [e["field"] for e in body["errors"]] == ["flows.desk.steps[0].url"]


def seed_of(tmp_path: Path, *steps: dict[str, Any], **settings: str | None) -> Seed:
    """A RULES_FILE seed of a rule set with these steps, under these settings (None: unset)."""
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rule_set(*steps)), encoding="utf-8")
    values = {name: value for name, value in settings.items() if value is not None}
    return rules_file_seed(load_settings({"RULES_FILE": str(path), **values}))


@pytest.mark.parametrize("signing", [None, SECRET])
def test_a_rules_file_with_an_ask_step_needs_the_secret_too(tmp_path: Path, signing: str | None) -> None:
    seed = seed_of(tmp_path, ASK, BYE, FLOW_ASK_SECRET=signing)
    if signing:
        assert (seed() or pytest.fail("no rule set")).flows is not None
    else:
        with pytest.raises(SettingError, match=r"RULES_FILE.*flows\.desk\.steps\[0\].*FLOW_ASK_SECRET"):
            seed()


@pytest.mark.parametrize("speech", [None, "https://speech.cognitiveservices.azure.com/"])
def test_a_rules_file_with_a_spoken_prompt_needs_speech_as_put_does(
    tmp_path: Path, speech: str | None
) -> None:
    spoken = {"id": "hello", "type": "play", "prompt": {"text": "Hello"}, "next": "bye"}
    seed = seed_of(tmp_path, spoken, BYE, COGNITIVE_SERVICES_ENDPOINT=speech)
    if speech:
        assert (seed() or pytest.fail("no rule set")).flows is not None
    else:
        with pytest.raises(SettingError,
                           match=r"RULES_FILE.*flows\.desk\.steps\[0\]\.prompt\.text.*COGNITIVE_SERVICES_ENDPOINT"):
            seed()


def test_a_rules_file_with_a_text_prompt_that_says_nothing_is_refused_as_put_does(tmp_path: Path) -> None:
    silent = {"id": "hello", "type": "play", "prompt": {"text": " \n\t "}, "next": "bye"}
    seed = seed_of(tmp_path, silent, BYE, COGNITIVE_SERVICES_ENDPOINT="https://speech.example.com/")
    with pytest.raises(SettingError, match=r"RULES_FILE.*flows\.desk\.steps\[0\]\.prompt\.text.*white space"):
        seed()


async def test_a_malformed_speech_setting_fails_only_a_put_that_needs_it() -> None:
    # It was read when the rules use case was built: every /api/rules route answered 500.
    backend = MemoryTableBackend()
    settings = load_settings({"RULES_CACHE_SECONDS": "5", "COGNITIVE_SERVICES_ENDPOINT": "not a url"})
    with use_services(lambda: Services(settings, backend=backend)):
        status, _, _ = await put(rule_set(BYE))  # no spoken prompt: the setting is not read
        assert status == 200
        response = await invoke("get_rules", http_request("GET", "rules"))
        assert response.status_code == 200
