"""The flow's JSON Schema (what the OpenAPI document says) and the parser agree.

On the shape: every step type the parser reads has a schema with exactly its fields. On
samples: valid flows pass both, invalid ones are refused by both, and what the schema cannot
say (the context refusals the fuzz tier lists) passes the schema and is refused by the parser.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import parse_flows
from callcontrol.domain.flows import parsing as flow_parsing
from callcontrol.domain.flows.schema import FLOW_SCHEMA, STEP_SCHEMAS
from callcontrol.domain.rules.model import RuleSet
from tests.unit.flows._support import ALICE, BOB, CALLER_ID, CAROL, HANGUP, ask, problems_of, ring, steps

VALIDATOR = Draft202012Validator(FLOW_SCHEMA)
COMMON = {"id", "type", "description"}
PARSERS: dict[str, tuple[str, ...]] = {
    str(step_type): known for step_type, (known, _) in flow_parsing._STEP_PARSERS.items()
}


def schema_errors(flow: object) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(flow)]


def test_every_step_type_the_parser_reads_has_a_schema() -> None:
    missing = sorted(set(PARSERS) - {str(t) for t in STEP_SCHEMAS})
    assert not missing, f"step type(s) {missing} parse but have no schema in flows/schema.py STEP_SCHEMAS"
    extra = sorted({str(t) for t in STEP_SCHEMAS} - set(PARSERS))
    assert not extra, f"flows/schema.py describes step type(s) {extra} the parser does not read"


@pytest.mark.parametrize("step_type", sorted(PARSERS))
def test_a_step_schema_has_exactly_the_parser_fields(step_type: str) -> None:
    schema = next(s for t, s in STEP_SCHEMAS.items() if str(t) == step_type)
    assert set(schema["properties"]) == COMMON | set(PARSERS[step_type]), (
        f"{step_type}: the schema's fields differ from parsing._STEP_PARSERS'")
    assert schema["properties"]["type"] == {"const": step_type}
    assert schema["additionalProperties"] is False


def test_the_steps_are_one_of_the_step_schemas_and_the_document_carries_the_flow_schema() -> None:
    assert FLOW_SCHEMA["properties"]["steps"]["items"]["oneOf"] == list(STEP_SCHEMAS.values())
    flows = RuleSet.model_json_schema(by_alias=True)["properties"]["flows"]
    assert flows["additionalProperties"] == FLOW_SCHEMA


def test_ring_targets_take_the_parser_identifier_members_and_extras() -> None:
    forms = STEP_SCHEMAS["ring"]["properties"]["targets"]["items"]["oneOf"]
    extras = set(flow_parsing._TARGET_EXTRAS)
    members = set(flow_parsing._IDENTIFIER_KEYS)
    for form in forms:
        assert extras <= set(form["properties"]) <= members | extras
    assert not any("microsoftTeamsAppId" in form["properties"] for form in forms)  # a bot cannot ring


DOCS_CONTACT_CENTRE = {"start": "sales-team", "steps": [
    {"id": "sales-team", "type": "ring", "mode": "simultaneous", "timeoutSeconds": 20,
     "targets": [{"communicationUserId": "8:acs:docs-flows-anna"},
                 {"communicationUserId": "8:acs:docs-flows-ben"}], "fallback": "hunt"},
    {"id": "hunt", "type": "ring", "mode": "sequential", "timeoutSeconds": 15,
     "targets": [{"communicationUserId": "8:acs:docs-flows-cleo"},
                 {"communicationUserId": "8:acs:docs-flows-dev"}], "fallback": "voicemail"},
    {"id": "voicemail", "type": "transfer",
     "target": {"communicationUserId": "8:acs:docs-flows-voicemail"}, "onFailed": "goodbye"},
    {"id": "goodbye", "type": "hangup"}]}
FULL_PHONE = {"kind": "phoneNumber", "rawId": "4:+14255550107", "phoneNumber": "+14255550107",
              "callerId": CALLER_ID, "timeoutSeconds": 12}
WAV = "https://media.example.com/welcome.wav"
MENU = {"id": "main", "type": "menu", "prompt": {"file": WAV}, "choices": {"1": "bye"}}
COLLECT = {"id": "acct", "type": "collect", "prompt": {"text": "Your account?"}, "maxDigits": 8,
           "next": "bye"}
VALID: list[dict[str, Any]] = [
    DOCS_CONTACT_CENTRE,
    steps(ring("ring", ALICE, CAROL, BOB, FULL_PHONE, {"microsoftTeamsUserId": "29:teams-user"},
               {"rawId": "8:orgid:abc"}, mode="sequential", timeoutSeconds=20, onBusy="ask",
               onNoAnswer="desk", onDeclined="bye", onFailed="bye", fallback="bye",
               description="the sales team"),
          ask("ask", choices=["ring", "desk"], timeoutSeconds=2.5, url="http://127.0.0.1:8080/route?x=1"),
          {"id": "desk", "type": "transfer", "target": {"phoneNumber": "+14255550199"},
           "callerId": "+18005550100", "onFailed": "bye"},
          HANGUP, max_steps=12, start="ring")["sales"],
    steps({"id": "first", "type": "goto", "next": "no"},
          {"id": "no", "type": "reject", "reason": "busy"})["sales"],
    steps({"id": "away", "type": "redirect", "target": {"rawId": "4:+14255550111"}})["sales"],
    steps(ask("ask", url="https://LOCALHOST/x"), HANGUP)["sales"],
    # docs/flows.md's menu, with a collect and every prompt kind
    {"start": "welcome", "steps": [
        {"id": "welcome", "type": "play", "prompt": {"file": WAV}, "next": "main", "onFailed": "main"},
        {"id": "main", "type": "menu", "prompt": {"text": "Press 1", "voice": "en-US-JennyNeural"},
         "reprompt": {"ssml": " <speak version='1.0'>Press 1 or 2</speak>"},
         "choices": {"1": "acct", "2#": "bye"}, "maxDigits": 2, "initialSilenceSeconds": 5,
         "interDigitSeconds": 3, "retries": 1, "noInput": "bye", "invalidInput": "bye", "fallback": "bye"},
        {**COLLECT, "prompt": {"text": "Account?", "language": "en-US"}, "minDigits": 4, "stopTones": "#",
         "retries": 0, "noInput": "bye"},
        HANGUP]},
]


@pytest.mark.parametrize("flow", VALID, ids=range(len(VALID)))
def test_valid_flows_pass_the_schema_and_the_parser(flow: dict[str, Any]) -> None:
    assert schema_errors(flow) == []
    assert "f" in parse_flows({"f": copy.deepcopy(flow)})


LONG = "x" * 501
INVALID: list[tuple[object, str]] = [
    (6, "flows.f"),
    ({"steps": [HANGUP], "colour": "red"}, "flows.f.colour"),
    ({"steps": []}, "flows.f.steps"),
    ({"steps": [HANGUP], "maxSteps": 101}, "flows.f.maxSteps"),
    ({"steps": [HANGUP], "description": LONG}, "flows.f.description"),
    ({"steps": [HANGUP], "start": "bad id"}, "flows.f.start"),
    ({"steps": [{"id": "x", "type": "dance"}]}, "flows.f.steps[0].type"),
    ({"steps": [{"id": "x", "type": "play"}]}, "flows.f.steps[0].prompt"),
    ({"steps": [{"id": "x", "type": "play", "prompt": {"file": WAV, "text": "hi"}}]},
     "flows.f.steps[0].prompt"),
    ({"steps": [{"id": "x", "type": "play", "prompt": {"file": WAV, "voice": "en-US-JennyNeural"}}]},
     "flows.f.steps[0].prompt.voice"),
    ({"steps": [{"id": "x", "type": "play", "prompt": {"ssml": "hello"}}]}, "flows.f.steps[0].prompt.ssml"),
    ({"steps": [{"id": "x", "type": "play", "prompt": {"text": "hi", "voice": "Jenny"}}]},
     "flows.f.steps[0].prompt.voice"),
    ({"steps": [{**MENU, "choices": {"1a": "bye"}}, HANGUP]}, "flows.f.steps[0].choices.1a"),
    ({"steps": [{**MENU, "maxDigits": 11}, HANGUP]}, "flows.f.steps[0].maxDigits"),
    ({"steps": [{**MENU, "retries": 6}, HANGUP]}, "flows.f.steps[0].retries"),
    ({"steps": [{**COLLECT, "stopTones": "1"}, HANGUP]}, "flows.f.steps[0].stopTones"),
    ({"steps": [{**COLLECT, "maxDigits": 21}, HANGUP]}, "flows.f.steps[0].maxDigits"),
    ({"steps": [{"id": "x", "type": "hangup", "next": "y"}]}, "flows.f.steps[0].next"),
    ({"steps": [ring("r", timeoutSeconds=0)]}, "flows.f.steps[0].timeoutSeconds"),
    ({"steps": [ring("r", timeoutSeconds=2.5)]}, "flows.f.steps[0].timeoutSeconds"),
    ({"steps": [ring("r", mode="random")]}, "flows.f.steps[0].mode"),
    ({"steps": [ring("r", *[BOB] * 11)]}, "flows.f.steps[0].targets"),
    ({"steps": [ring("r", {"microsoftTeamsAppId": "bot"})]}, "flows.f.steps[0].targets[0]"),
    ({"steps": [ring("r", {"phoneNumber": "+1425", "callerId": CALLER_ID})]},
     "flows.f.steps[0].targets[0].phoneNumber"),
    ({"steps": [ring("r", callerId="4255550100")]}, "flows.f.steps[0].callerId"),
    ({"steps": [ask("a", url="http://crm.example.com/"), HANGUP]}, "flows.f.steps[0].url"),
    ({"steps": [ask("a", url="https://user:pw@crm.example.com/"), HANGUP]}, "flows.f.steps[0].url"),
    ({"steps": [ask("a", url="https://crm.example.com/#top"), HANGUP]}, "flows.f.steps[0].url"),
    ({"steps": [ask("a", timeoutSeconds=11), HANGUP]}, "flows.f.steps[0].timeoutSeconds"),
    ({"steps": [{"id": "x", "type": "redirect", "target": ALICE, "callerId": CALLER_ID}]},
     "flows.f.steps[0].callerId"),
    ({"steps": [{"id": "x", "type": "reject", "reason": "later"}]}, "flows.f.steps[0].reason"),
    ({"steps": [{"id": "x", "type": "goto"}]}, "flows.f.steps[0].next"),
]


@pytest.mark.parametrize(("flow", "field"), INVALID, ids=[field for _, field in INVALID])
def test_invalid_flows_are_refused_by_both(flow: object, field: str) -> None:
    assert schema_errors(flow), "the schema accepts what the parser refuses"
    assert field in [problem.field for problem in problems_of({"f": flow})]


# What JSON Schema cannot say: the schema accepts these, the parser refuses them (the fuzz tier's
# CONTEXT_REFUSALS name each reason).
CONTEXT: list[tuple[dict[str, Any], str, str]] = [
    ({"steps": [{"id": "a", "type": "goto", "next": "nowhere"}]}, "flows.f.steps[0].next",
     "names no step of this flow"),
    ({"steps": [HANGUP, {"id": "lost", "type": "hangup"}]}, "flows.f.steps[1].id", "is unreachable"),
    ({"steps": [{"id": "a", "type": "goto", "next": "a"}]}, "flows.f.steps[0].next", "closes a loop"),
    ({"start": "x", "steps": [HANGUP]}, "flows.f.start", "names no step of this flow"),
    ({"steps": [HANGUP, HANGUP]}, "flows.f.steps[1].id", "step ids must be unique"),
    ({"steps": [ring("r", fallback="away"), {"id": "away", "type": "redirect", "target": BOB}]},
     "flows.f.steps[1].type", "only possible before the call is answered"),
    ({"steps": [{"id": "r", "type": "ring", "targets": [ALICE]}]}, "flows.f.steps[0].targets[0].callerId",
     "is required for a phone number"),
    ({"steps": [{**MENU, "choices": {"12": "bye"}}, HANGUP]}, "flows.f.steps[0].choices.12",
     "more than maxDigits"),
    ({"steps": [{**COLLECT, "maxDigits": 4, "minDigits": 5}, HANGUP]}, "flows.f.steps[0].minDigits",
     "must be from 1 to 4"),
    ({"steps": [{"id": "t", "type": "transfer", "target": ALICE}]}, "flows.f.steps[0].callerId",
     "is required to transfer to a phone number"),
    ({"steps": [{"id": "t", "type": "transfer", "callerId": CALLER_ID, "target": {
        "kind": "phoneNumber", "rawId": "4:+14255550102", "phoneNumber": "+14255550101"}}]},
     "flows.f.steps[0].target.rawId", "does not match"),
]


@pytest.mark.parametrize(("flow", "field", "reason"), CONTEXT, ids=[field for _, field, _ in CONTEXT])
def test_what_the_schema_cannot_say_only_the_parser_refuses(
    flow: dict[str, Any], field: str, reason: str
) -> None:
    assert schema_errors(flow) == []
    with pytest.raises(InvalidInput) as caught:
        parse_flows({"f": copy.deepcopy(flow)})
    assert any(p.field == field and reason in p.reason for p in caught.value.problems), caught.value.problems

