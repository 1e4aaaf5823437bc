"""Every route of the OpenAPI document, fuzzed over real HTTP: schemathesis generates valid and
invalid requests (bodies, path and query values, headers) from the document, and each is sent
to the running stack (devhost + Azurite + the ACS emulator).

Asserted for every request: never a 5xx, and every error is problem+json carrying its status.
The operations are read from the same document the app serves; one test checks that the served
document is that one.
"""

from __future__ import annotations

import json
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
DOCUMENT = openapi_document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


def test_the_fuzzed_document_is_the_served_one(fuzz_stack: Stack) -> None:
    served = requests.get(f"{fuzz_stack.app_url}/api/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))
    assert len(OPERATIONS) >= 15  # every management route is in it


def host_found_no_function(response: Any) -> bool:
    """The host's own 404 for a path no function's route matches (a control character in a
    path segment, say): the app never saw the request, as with the real Functions host."""
    content_type = response.headers.get("content-type", [""])[0]
    return response.status_code == 404 and content_type.startswith("text/plain")


def check_answer(case: Any, response: Any) -> None:
    status = response.status_code
    shown = f"{case.method} {case.formatted_path} -> {status}: {response.text[:300]!r}"
    assert status < 500, shown
    if status >= 400 and not host_found_no_function(response):
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
        headers = {**(case.headers or {}), "x-functions-key": fuzz_stack.function_key}
        response = case.call(base_url=fuzz_stack.app_url, headers=headers, session=session,
                             timeout=30)
        check_answer(case, response)

    fuzz()
