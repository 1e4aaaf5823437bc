"""Every route of the OpenAPI document, fuzzed over real HTTP: schemathesis generates valid and
invalid requests (bodies, path and query values, headers) from the document, and each is sent
to the running stack (devhost + Azurite + the ACS emulator).

Asserted for every request: never a 5xx, and every error is problem+json carrying its status.
The operations are read from the same document the app serves; one test checks that the served
document is that one.

A request the document calls valid (schemathesis's positive mode) that the app answers 400 is
*schema-valid-refused*: the document is looser than the validation. Each is counted and must be
one of the context cases docs/security.md lists (what JSON Schema cannot say: a caller id the
settings lack, a rule set's cross-rule checks, an identifier's members that must agree).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

import function_app  # noqa: F401 - importing the app declares its routes
from handlers.openapi import openapi_document
from tests.fuzz.conftest import FUZZ_EXAMPLES
from tools.stack import Stack

PROBLEM = "application/problem+json"
_FLOW = r"flows\.[A-Za-z0-9][A-Za-z0-9_-]{0,31}"  # a flow's field path (fields.NAME)
_STEPS = rf"{_FLOW}\.steps\[\d+\]"
# Schema-valid requests the app may refuse for reasons of context, not shape (docs/security.md,
# "The fuzz tier"): (operation label pattern, the problem's field, a reason pattern).
CONTEXT_REFUSALS: tuple[tuple[str, str, str], ...] = (
    # A PSTN target needs a caller id: the request's, or the DEFAULT_CALLER_ID setting's.
    (r"POST /api/calls(?:/\{callConnectionId\}/(?:participants|transfer))?", "sourceCallerIdNumber",
     "required for a PSTN target"),
    # One party written in two forms ({"phoneNumber"} and {"rawId": "4:…"}): uniqueItems cannot see it.
    (r"POST /api/calls", r"targets\[\d+\]", "names the same party as"),
    # The fuzzer repeats a key with another body: the key store remembers the first.
    (r"(?:POST|DELETE) /api/.*", "Idempotency-Key", "reused with a different"),
    # Two parameters' relation; a continuation token only the API can make.
    (r"GET /api/calls", "until", "later than since"),
    (r"GET /api/calls", "continuationToken", "not a token this API issued"),
    # A rule's flow must be one the same document declares (a cross-reference).
    (r"PUT /api/rules", r"(?:rules\[\d+\]\.action|defaultAction)\.flow", "names no flow of this rule set"),
    # A dry-run script means something only when the deciding rule starts a flow.
    (r"POST /api/rules/evaluate", "script", "applies only when the deciding rule starts a flow"),
    # A rule set's own checks: a window's start and end differ, a zone is in the tz database,
    # ids are unique, a full-form identifier's members agree.
    (r"PUT /api/rules", r"rules\[\d+\]\.conditions\.timeWindows\[\d+\].*",
     "start and end must differ|is not an IANA time zone"),
    (r"PUT /api/rules", r"rules\[\d+\]\.id", "rule ids must be unique"),
    (r"PUT /api/rules", r"(?:rules\[\d+\]|defaultAction)\.action\.target|defaultAction\.target",
     "does not agree|does not match"),
    # A flow's graph (domain/flows/graph.py): step ids are cross-references, unique, all reachable
    # from the start; no loop of gotos alone; no redirect or reject once a step answered the call.
    (r"PUT /api/rules", rf"{_STEPS}\.(?:next|fallback|onNoAnswer|onBusy|onDeclined|onFailed|noInput"
     rf"|invalidInput|choices\[\d+\]|choices\.[0-9*#]+)|{_FLOW}\.start", "names no step of this flow"),
    (r"PUT /api/rules", rf"{_STEPS}\.id", "step ids must be unique|is unreachable from the start step"),
    (r"PUT /api/rules", rf"{_STEPS}\.next", "closes a loop of goto steps only"),
    (r"PUT /api/rules", rf"{_STEPS}\.type", "is only possible before the call is answered"),
    # Deployment settings: a secret to sign ask requests with; speech for text and SSML prompts.
    (r"PUT /api/rules", _STEPS, "is an ask step, and the app has no secret to sign ask requests"),
    (r"PUT /api/rules", rf"{_STEPS}\.(?:prompt|reprompt)\.(?:text|ssml)", "spoken by Azure AI services"),
    # Two fields' relation: a menu choice's keys within maxDigits, a collect's minDigits too.
    (r"PUT /api/rules", rf"{_STEPS}\.choices\.[0-9*#]+", "more than maxDigits"),
    (r"PUT /api/rules", rf"{_STEPS}\.minDigits", "must be from 1 to [0-9]+$"),
    # A phone needs a caller id: the target's own or its step's (a relation between two fields).
    (r"PUT /api/rules", rf"{_STEPS}\.targets\[\d+\]\.callerId", "is required for a phone number"),
    (r"PUT /api/rules", rf"{_STEPS}\.callerId", "is required to transfer to a phone number"),
    # A full-form target's members must agree, as a rule's redirect target's.
    (r"PUT /api/rules", rf"{_STEPS}\.(?:target|targets\[\d+\])(?:\.rawId|\.kind)?",
     "does not agree|does not match"),
)
REFUSED: list[tuple[str, str, str]] = []  # (label, field, reason) of each schema-valid 400
DOCUMENT = openapi_document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


def test_the_fuzzed_document_is_the_served_one(fuzz_stack: Stack) -> None:
    served = requests.get(f"{fuzz_stack.app_url}/api/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))
    assert len(OPERATIONS) >= 15  # every management route is in it


def key_for(label: str, stack: Stack) -> str:
    """The key the document asks of the operation: the master key for the operators' admin
    routes (POST /api/jobs/{job}), the function key for the rest."""
    method, path = label.split(" ", 1)
    security = DOCUMENT["paths"][path][method.lower()].get("security") or []
    return stack.master_key if {"masterKey": []} in security else stack.function_key


def host_wanted_a_key(response: Any) -> bool:
    """The host's own empty 401 for a request the fuzzer sent without any key (its negative
    cases drop the security scheme's header): the app never saw it, as on Azure."""
    sent = response.request
    keyless = "x-functions-key" not in {name.lower() for name in sent.headers} and "code=" not in (
        sent.url.partition("?")[2])
    return response.status_code == 401 and keyless and not response.text


def host_found_no_function(response: Any) -> bool:
    """The host's own 404 for a path no function's route matches (a control character in a
    path segment, say): the app never saw the request, as with the real Functions host."""
    content_type = response.headers.get("content-type", [""])[0]
    return response.status_code == 404 and content_type.startswith("text/plain")


def is_context_refusal(label: str, field: str, reason: str) -> bool:
    return any(re.fullmatch(op, label) and re.fullmatch(where, field) and re.search(why, reason)
               for op, where, why in CONTEXT_REFUSALS)


def note_schema_valid_refusal(case: Any, response: Any) -> None:
    meta = getattr(case, "meta", None)
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return
    if response.status_code != 400 or host_found_no_function(response):
        return
    problem = json.loads(response.text)
    errors = problem.get("errors") or [{"field": "", "reason": problem.get("detail", "")}]
    label = f"{case.method} {case.operation.path}"
    REFUSED.extend((label, str(e.get("field")), str(e.get("reason"))) for e in errors[:1])


def check_answer(case: Any, response: Any) -> None:
    status = response.status_code
    shown = f"{case.method} {case.formatted_path} -> {status}: {response.text[:300]!r}"
    assert status < 500, shown
    note_schema_valid_refusal(case, response)
    if status >= 400 and not host_found_no_function(response) and not host_wanted_a_key(response):
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith(PROBLEM), shown
        body = json.loads(response.text)
        assert body["status"] == status and body["title"] and "detail" in body, shown


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_route_answers_5xx_and_every_error_is_a_problem(label: str, fuzz_stack: Stack) -> None:
    operation = OPERATIONS[label]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))
    session = requests.Session()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def fuzz(case: Any) -> None:
        headers = {**(case.headers or {}), "x-functions-key": key_for(label, fuzz_stack)}
        response = case.call(base_url=fuzz_stack.app_url, headers=headers, session=session,
                             timeout=30)
        check_answer(case, response)

    fuzz()


def test_schema_valid_requests_are_refused_only_for_context(fuzz_stack: Stack) -> None:
    """Runs after the fuzzing above (pytest keeps a module's order): what the document calls
    valid and the app refused must be one of the documented context cases."""
    counts = Counter(REFUSED)
    print(f"schema-valid-refused: {len(REFUSED)} request(s)")
    for (label, field, reason), count in counts.most_common():
        print(f"  {count:4} {label} {field}: {reason}")
    loose = sorted({(label, field, reason) for label, field, reason in REFUSED
                    if not is_context_refusal(label, field, reason)})
    assert not loose, "the document is looser than the validation:\n" + "\n".join(map(str, loose))
